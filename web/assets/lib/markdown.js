/**
 * markdown.js: renders message text (Slack's mrkdwn subset) to Preact vnodes.
 *
 * Safety: the text is never handed to the HTML parser. Every piece of user text ends up
 * as a string child (a text node); the only elements are the ones built here. Links are
 * made only for http(s) and mailto URLs; anything else (javascript:, data:, ...) is shown
 * as the plain text that was typed.
 *
 * Blocks: ``` code blocks ```, `>` quotes, `-`/`*` and `1.` lists, paragraphs.
 * Inline: `code`, *bold* (and **bold**), _italic_, ~strike~, <url|label>, [label](url),
 * bare URLs, <@USER>, <#CHANNEL>, #channel-name (a channel the reader has), <!here>/
 * <!channel>/<!everyone>, @handle, :emoji:.
 *
 * `ctx`: { userName(id), userByHandle(handle), channelName(id), channelByName(name),
 * meId, onUser(id), onChannel(id) }.
 */

import { h } from '../vendor/preact-htm.js';
import { emojiFor } from './emoji.js';

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);
const BROADCASTS = new Set(['here', 'channel', 'everyone']);

/** The URL when it is safe to link (http, https, mailto), else null. */
export function safeUrl(raw) {
  let href = raw.trim();
  if (/^www\./i.test(href)) href = `https://${href}`;
  try {
    const u = new URL(href);
    return SAFE_PROTOCOLS.has(u.protocol) ? u.href : null;
  } catch {
    return null;
  }
}

function decodeEntities(s) {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const isWord = (c) => !!c && /[\p{L}\p{N}]/u.test(c);
const isSpace = (c) => !c || /\s/.test(c);

function link(href, label) {
  const external = !href.startsWith('mailto:');
  // A label that is not the address itself shows the address on hover.
  const title = label.replace(/\/$/, '') === href.replace(/\/$/, '') ? undefined : href;
  return h(
    'a',
    external ? { href, target: '_blank', rel: 'noopener noreferrer', class: 'md-link', title } : { href, class: 'md-link', title },
    label,
  );
}

function mention(ctx, userId, label) {
  const name = ctx.userName ? ctx.userName(userId) : null;
  const me = ctx.meId === userId;
  return h(
    'button',
    {
      type: 'button',
      class: me ? 'mention mention-me' : 'mention',
      'data-user-id': userId,
      onClick: ctx.onUser ? (e) => ctx.onUser(userId, e) : undefined,
    },
    `@${name || label || userId}`,
  );
}

function broadcast(name) {
  return h('span', { class: 'mention mention-broadcast' }, `@${name}`);
}

function channelRef(ctx, channelId, label) {
  const name = (ctx.channelName && ctx.channelName(channelId)) || label || channelId;
  return h(
    'a',
    {
      href: `/c/${encodeURIComponent(channelId)}`,
      class: 'channel-ref',
      onClick: (e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey) return;
        e.preventDefault();
        if (ctx.onChannel) ctx.onChannel(channelId);
      },
    },
    `#${name}`,
  );
}

/** A Slack `<...>` reference, or null when `body` is not one. */
function slackRef(ctx, body) {
  const bar = body.indexOf('|');
  const target = bar >= 0 ? body.slice(0, bar) : body;
  const label = bar >= 0 ? decodeEntities(body.slice(bar + 1)) : '';
  if (target.startsWith('@')) return mention(ctx, target.slice(1), label);
  if (target.startsWith('#')) return channelRef(ctx, target.slice(1), label);
  if (target.startsWith('!')) {
    const name = target.slice(1);
    return BROADCASTS.has(name) ? broadcast(name) : h('span', { class: 'mention' }, `@${label || name}`);
  }
  if (/^(https?:|mailto:)/i.test(target)) {
    const href = safeUrl(decodeEntities(target));
    const text = label || decodeEntities(target).replace(/^mailto:/i, '');
    return href ? link(href, text) : text;
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return label || decodeEntities(target); // unsafe scheme: text only
  return null;
}

const MARKERS = [
  ['**', 'strong'],
  ['*', 'strong'],
  ['_', 'em'],
  ['~', 'del'],
];

/** Where an emphasis run opened at `i` with `m` closes, or -1. */
function closingMarker(s, i, m) {
  let j = s.indexOf(m, i + m.length + 1);
  while (j >= 0) {
    const before = s[j - 1];
    const after = s[j + m.length];
    if (!isSpace(before) && !isWord(after) && after !== m[0]) return j;
    j = s.indexOf(m, j + 1);
  }
  return -1;
}

const URL_RE = /^(?:https?:\/\/|mailto:|www\.)[^\s<>]+/i;
const EMOJI_RE = /^:([a-z0-9_+'-]+(?:::skin-tone-[2-6])?):/;
const HANDLE_RE = /^@([a-z0-9][a-z0-9._-]*)/i;
// [label](target): the target without spaces, with at most one level of parentheses.
const MD_LINK_RE = /^\[([^[\]\n]{1,500})\]\(((?:[^()\s]|\([^()\s]*\))+)\)/;
const CHANNEL_RE = /^#([\p{L}\p{N}][\p{L}\p{N}_-]*)/u;

/** `[label](url)`: a link for http(s)/mailto, else the typed text. */
function mdLink(m) {
  const target = decodeEntities(m[2]);
  const href = /^(https?:\/\/|mailto:)/i.test(target) ? safeUrl(target) : null;
  return href ? link(href, decodeEntities(m[1])) : decodeEntities(m[0]);
}

/** A typed `#name` of a channel the reader has, as [vnode, length], or null. */
function channelByName(ctx, s, i) {
  const m = s.slice(i).match(CHANNEL_RE);
  if (!m || !ctx.channelByName) return null;
  for (const name of [m[1], m[1].replace(/[-_]+$/, '')]) {
    const ch = name && ctx.channelByName(name.toLowerCase());
    if (ch) return [channelRef(ctx, ch.id, ch.name), name.length + 1];
  }
  return null;
}

function trimUrl(url) {
  // Trailing punctuation belongs to the sentence; a closing paren only if unbalanced.
  let u = url;
  for (;;) {
    const last = u[u.length - 1];
    if (/[.,;:!?'"]/.test(last)) u = u.slice(0, -1);
    else if (last === ')' && (u.match(/\(/g) || []).length < (u.match(/\)/g) || []).length) u = u.slice(0, -1);
    else break;
  }
  return u;
}

/** Inline markup of one line (no newlines) to an array of children. */
export function renderInline(s, ctx, depth = 0) {
  const out = [];
  let buf = '';
  const flush = () => {
    if (buf) out.push(decodeEntities(buf));
    buf = '';
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    const prev = s[i - 1];
    if (c === '`') {
      const j = s.indexOf('`', i + 1);
      if (j > i + 1) {
        flush();
        out.push(h('code', { class: 'md-code' }, decodeEntities(s.slice(i + 1, j))));
        i = j + 1;
        continue;
      }
    }
    if (c === '<' || (c === '&' && s.startsWith('&lt;', i))) {
      const open = c === '<' ? 1 : 4;
      const close = c === '<' ? s.indexOf('>', i + 1) : s.indexOf('&gt;', i + 4);
      if (close > i + open) {
        const body = s.slice(i + open, close);
        if (!/\s/.test(body.split('|')[0])) {
          const ref = slackRef(ctx, body);
          if (ref !== null) {
            flush();
            out.push(ref);
            i = close + (c === '<' ? 1 : 4);
            continue;
          }
        }
      }
    }
    if (depth < 4 && (c === '*' || c === '_' || c === '~') && !isWord(prev)) {
      const found = MARKERS.find(([m]) => s.startsWith(m, i));
      if (found) {
        const [m, tag] = found;
        if (!isSpace(s[i + m.length])) {
          const j = closingMarker(s, i, m);
          if (j > 0) {
            flush();
            out.push(h(tag, null, renderInline(s.slice(i + m.length, j), ctx, depth + 1)));
            i = j + m.length;
            continue;
          }
        }
      }
    }
    if (c === '[') {
      const m = s.slice(i).match(MD_LINK_RE);
      if (m) {
        flush();
        out.push(mdLink(m));
        i += m[0].length;
        continue;
      }
    }
    if (c === '#' && !isWord(prev) && prev !== '&' && prev !== '/') {
      const ref = channelByName(ctx, s, i);
      if (ref) {
        flush();
        out.push(ref[0]);
        i += ref[1];
        continue;
      }
    }
    if ((c === 'h' || c === 'H' || c === 'm' || c === 'M' || c === 'w' || c === 'W') && !isWord(prev)) {
      const m = s.slice(i).match(URL_RE);
      if (m) {
        const raw = trimUrl(m[0]);
        const href = safeUrl(decodeEntities(raw));
        if (href) {
          flush();
          out.push(link(href, decodeEntities(raw)));
          i += raw.length;
          continue;
        }
      }
    }
    if (c === ':') {
      const m = s.slice(i).match(EMOJI_RE);
      if (m && emojiFor(m[1])) {
        flush();
        out.push(h('span', { class: 'emoji', title: `:${m[1]}:`, role: 'img', 'aria-label': m[1] }, emojiFor(m[1])));
        i += m[0].length;
        continue;
      }
    }
    if (c === '@' && !isWord(prev) && prev !== '.') {
      const m = s.slice(i).match(HANDLE_RE);
      if (m) {
        const handle = m[1].replace(/[.-]+$/, '');
        if (BROADCASTS.has(handle.toLowerCase())) {
          flush();
          out.push(broadcast(handle.toLowerCase()));
          i += handle.length + 1;
          continue;
        }
        const user = ctx.userByHandle && ctx.userByHandle(handle.toLowerCase());
        if (user) {
          flush();
          out.push(mention(ctx, user.id, handle));
          i += handle.length + 1;
          continue;
        }
      }
    }
    buf += c;
    i += 1;
  }
  flush();
  return out;
}

function inlineLines(lines, ctx) {
  const out = [];
  lines.forEach((line, n) => {
    if (n > 0) out.push(h('br', null));
    out.push(...renderInline(line, ctx));
  });
  return out;
}

const QUOTE_RE = /^(?:>|&gt;) ?/;
const UL_RE = /^\s*[-*•]\s+/;
const OL_RE = /^\s*(\d+)[.)]\s+/;

/** Block structure of `text` to an array of vnodes. */
function renderBlocks(text, ctx, depth) {
  const lines = text.split('\n');
  const blocks = [];
  let para = [];
  const endPara = () => {
    if (para.length) blocks.push(h('p', { class: 'md-p' }, inlineLines(para, ctx)));
    para = [];
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.indexOf('```');
    if (fence >= 0) {
      // Text before the fence is an ordinary line; the code runs to the next fence.
      const before = line.slice(0, fence);
      const rest = line.slice(fence + 3);
      const code = [];
      let end = rest.indexOf('```');
      let j = i;
      if (end >= 0) {
        code.push(rest.slice(0, end));
      } else {
        if (rest) code.push(rest);
        j = i + 1;
        while (j < lines.length && lines[j].indexOf('```') < 0) code.push(lines[j++]);
        if (j >= lines.length) {
          // No closing fence: not a code block after all.
          para.push(line);
          i += 1;
          continue;
        }
        end = lines[j].indexOf('```');
        if (end > 0) code.push(lines[j].slice(0, end));
      }
      if (before.trim()) para.push(before);
      endPara();
      blocks.push(h('pre', { class: 'md-pre' }, decodeEntities(code.join('\n'))));
      const after = (end >= 0 && j === i ? rest.slice(end + 3) : lines[j].slice(end + 3)).trim();
      if (after) para.push(after);
      i = j + 1;
      continue;
    }
    if (depth < 3 && QUOTE_RE.test(line)) {
      endPara();
      const q = [];
      while (i < lines.length && QUOTE_RE.test(lines[i])) q.push(lines[i++].replace(QUOTE_RE, ''));
      blocks.push(h('blockquote', { class: 'md-quote' }, renderBlocks(q.join('\n'), ctx, depth + 1)));
      continue;
    }
    const ordered = OL_RE.test(line);
    if (ordered || UL_RE.test(line)) {
      endPara();
      const re = ordered ? OL_RE : UL_RE;
      const items = [];
      const start = ordered ? Number(line.match(OL_RE)[1]) : 1;
      while (i < lines.length && re.test(lines[i])) items.push(lines[i++].replace(re, ''));
      const lis = items.map((it) => h('li', null, renderInline(it, ctx)));
      blocks.push(ordered ? h('ol', { class: 'md-list', start }, lis) : h('ul', { class: 'md-list' }, lis));
      continue;
    }
    if (!line.trim()) {
      endPara();
      i += 1;
      continue;
    }
    para.push(line);
    i += 1;
  }
  endPara();
  return blocks;
}

const ONLY_EMOJI_RE = /^(?:\s*:[a-z0-9_+'-]+(?:::skin-tone-[2-6])?:\s*){1,8}$/;

/** Whether the text is nothing but a few known emoji (shown larger). */
export function isEmojiOnly(text) {
  if (!ONLY_EMOJI_RE.test(text)) return false;
  return text.match(/:[a-z0-9_+'-]+(?:::skin-tone-[2-6])?:/g).every((m) => emojiFor(m));
}

/** The whole message text as vnodes. */
export function renderMarkdown(text, ctx = {}) {
  return renderBlocks(text || '', ctx, 0);
}

/** Text with references resolved to names, for notifications and previews. */
export function plainText(text, ctx = {}) {
  return (text || '')
    .replace(/<@([^|>]+)(?:\|([^>]*))?>/g, (_, id, label) => `@${(ctx.userName && ctx.userName(id)) || label || id}`)
    .replace(/<#([^|>]+)(?:\|([^>]*))?>/g, (_, id, label) => `#${(ctx.channelName && ctx.channelName(id)) || label || id}`)
    .replace(/<!([a-z]+)(?:\|[^>]*)?>/g, '@$1')
    .replace(/<([^|>\s]+)\|([^>]+)>/g, '$2')
    .replace(/<([^>\s]+)>/g, '$1')
    .replace(/:([a-z0-9_+'-]+):/g, (m, n) => emojiFor(n) || m)
    .replace(/[*_~`]/g, '');
}
