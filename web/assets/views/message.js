/**
 * message.js: one message row, memoized (it re-renders only when its message object,
 * grouping, highlight, edit state or the people directory change). It shows the author
 * and time (or only the time when grouped with the previous message), the rendered
 * text, files, reactions, the thread reply count, the pending/failed state of an
 * optimistic send, and the hover actions (react, reply, edit, delete), which are only
 * built while the row is hovered or holds focus.
 */

import { html, useState, useRef, useEffect } from '../vendor/preact-htm.js';
import { getState, setState, userName, channelLabel, own } from '../lib/store.js';
import { renderMarkdown, isEmojiOnly } from '../lib/markdown.js';
import { emojiFor } from '../lib/emoji.js';
import { formatTime, formatFull } from '../lib/time.js';
import { navigate, channelPath } from '../lib/router.js';
import { toggleReaction, openThread, retrySend, discardPending, editMessage, showError } from '../lib/actions.js';
import { Avatar, Icon, memo } from './common.js';

/** The lookups markdown needs, read from the current state. */
export function markdownCtx() {
  const s = getState();
  const handles = markdownCtx.handles && markdownCtx.users === s.users ? markdownCtx.handles : new Map(Object.values(s.users).map((u) => [u.handle.toLowerCase(), u]));
  markdownCtx.handles = handles;
  markdownCtx.users = s.users;
  const names = markdownCtx.names && markdownCtx.channels === s.channels ? markdownCtx.names : new Map(Object.values(s.channels).filter((c) => c.name).map((c) => [c.name.toLowerCase(), c]));
  markdownCtx.names = names;
  markdownCtx.channels = s.channels;
  return {
    meId: s.me && s.me.id,
    userName: (id) => (own(s.users, id) ? userName(s, id) : null),
    userByHandle: (h) => handles.get(h),
    channelName: (id) => (own(s.channels, id) ? channelLabel(s, own(s.channels, id)) : null),
    channelByName: (name) => names.get(name) || null,
    onUser: (id) => setState({ profile: id }),
    onChannel: (id) => navigate(channelPath(id)),
  };
}

function Reactions({ msg, meId, users }) {
  if (!msg.reactions.length) return null;
  return html`
    <div class="reactions">
      ${msg.reactions.map((r) => {
        const mine = r.user_ids.includes(meId);
        const who = r.user_ids.map((id) => (own(users, id) ? own(users, id).display_name : 'someone')).join(', ');
        const glyph = emojiFor(r.emoji);
        return html`
          <button type="button" key=${r.emoji} class=${`reaction${mine ? ' mine' : ''}`} data-testid="reaction" data-emoji=${r.emoji}
            title=${`${who} reacted with :${r.emoji}:`} aria-pressed=${mine} onClick=${() => toggleReaction(msg, r.emoji)}>
            <span class="reaction-glyph" data-glyph=${glyph || `:${r.emoji}:`} aria-hidden="true"></span><span class="reaction-count">${r.count}</span>
          </button>`;
      })}
      <button type="button" class="reaction add-reaction" title="Add reaction" aria-label="Add reaction"
        onClick=${(e) => openPicker(msg, e.currentTarget)}>${Icon.smile}</button>
    </div>`;
}

/** Image types the server serves inline (and thumbnails): others (svg, heic, tiff…) are file cards. */
const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

const fileUrl = (f) => `/api/v1/files/${encodeURIComponent(f.id)}`;

function ImagePreview({ f }) {
  const [src, setSrc] = useState(f.thumb_url ? `${fileUrl(f)}/thumb` : fileUrl(f));
  const ratio = f.width && f.height ? f.height / f.width : null;
  const w = f.width ? Math.min(360, f.width) : null;
  const style = w && ratio ? { width: `${w}px`, aspectRatio: `${f.width} / ${f.height}` } : undefined;
  return html`
    <a class="image-link" href=${fileUrl(f)} target="_blank" rel="noopener" title=${f.name}>
      <img data-testid="image-preview" src=${src} alt=${f.name} loading="lazy" style=${style}
        onError=${() => src !== fileUrl(f) && setSrc(fileUrl(f))} />
    </a>`;
}

function formatSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function Files({ files }) {
  if (!files || !files.length) return null;
  return html`
    <div class="files">
      ${files.map((f) =>
        INLINE_IMAGE_TYPES.has(String(f.mime_type || '').split(';')[0].trim().toLowerCase())
          ? html`<${ImagePreview} key=${f.id} f=${f} />`
          : html`
            <a key=${f.id} class="file-card" data-testid="file-card" href=${fileUrl(f)} download=${f.name}>
              <span class="file-icon">${Icon.file}</span>
              <span class="file-meta"><span class="file-name">${f.name}</span><span class="muted">${formatSize(f.size)} · ${f.mime_type}</span></span>
            </a>`,
      )}
    </div>`;
}

function EditBox({ msg }) {
  const [text, setText] = useState(msg.text);
  const [busy, setBusy] = useState(false);
  const ref = useRef(null);
  useEffect(() => {
    const el = ref.current;
    if (el) {
      el.focus();
      el.setSelectionRange(el.value.length, el.value.length);
    }
  }, []);
  const cancel = () => setState({ editing: null });
  const save = async () => {
    if (busy) return;
    if (text.trim() === msg.text.trim()) return cancel();
    setBusy(true);
    try {
      await editMessage(msg.id, text);
      cancel();
    } catch (e) {
      showError(e);
      setBusy(false);
    }
  };
  return html`
    <div class="edit-wrap">
      <textarea ref=${ref} class="edit-box" data-testid="edit-box" value=${text} rows=${Math.min(8, text.split('\n').length)} disabled=${busy}
        onInput=${(e) => setText(e.currentTarget.value)}
        onKeyDown=${(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            save();
          } else if (e.key === 'Escape') {
            e.preventDefault();
            e.stopPropagation();
            cancel();
          }
        }}></textarea>
      <div class="edit-hint muted">Enter to save · Escape to cancel</div>
    </div>`;
}

/** Opens the reaction picker next to `anchor` for `msg`. */
export function openPicker(msg, anchor) {
  const r = anchor.getBoundingClientRect();
  setState({ picker: { msg, x: r.right, y: r.bottom, top: r.top } });
}

function Actions({ msg, mine, inThread }) {
  return html`
    <div class="msg-actions" role="toolbar" aria-label="Message actions">
      <button type="button" class="icon-btn" title="Add reaction" aria-label="Add reaction" data-testid="action-react" onClick=${(e) => openPicker(msg, e.currentTarget)}>${Icon.smile}</button>
      ${!inThread && html`<button type="button" class="icon-btn" title="Reply in thread" aria-label="Reply in thread" data-testid="action-reply" onClick=${() => openThread(msg.id)}>${Icon.reply}</button>`}
      ${mine && html`<button type="button" class="icon-btn" title="Edit" aria-label="Edit" data-testid="action-edit" onClick=${() => setState({ editing: msg.id })}>${Icon.edit}</button>`}
      ${mine && html`<button type="button" class="icon-btn danger" title="Delete" aria-label="Delete" data-testid="action-delete" onClick=${() => setState({ confirmDelete: msg })}>${Icon.trash}</button>`}
    </div>`;
}

/**
 * props: msg (a stored message or a pending entry with `state`), grouped, author (user),
 * meId, highlighted, editing, users (identity changes re-render mentions), inThread.
 */
function Row({ msg, grouped, author, meId, highlighted, editing, users, inThread, isRoot }) {
  const pending = msg.state === 'pending' || msg.state === 'failed';
  const mine = msg.user_id === meId;
  const name = author ? author.display_name || author.handle : 'Unknown user';
  const openProfile = () => setState({ profile: msg.user_id });
  // The hover actions exist only while the row is hovered or holds focus: a few hundred
  // rows would otherwise carry thousands of toolbar nodes nobody sees.
  const [hot, setHot] = useState(false);
  const cls = ['msg', grouped ? 'grouped' : '', highlighted ? 'highlighted' : '', msg.state ? `is-${msg.state}` : '', msg.deleted ? 'deleted' : ''].filter(Boolean).join(' ');
  return html`
    <div class=${cls} data-testid="message" data-message-id=${pending ? undefined : msg.id} data-seq=${pending ? undefined : msg.seq}
      data-state=${msg.state || undefined} data-highlighted=${highlighted ? 'true' : undefined} data-client-msg-id=${msg.client_msg_id || undefined}
      onMouseEnter=${() => setHot(true)} onMouseLeave=${() => setHot(false)} onfocusin=${() => setHot(true)}
      onfocusout=${(e) => !e.currentTarget.contains(e.relatedTarget) && setHot(false)}>
      <div class="msg-gutter">
        ${grouped
          ? html`<time class="msg-time-hover" datetime=${msg.created_at} title=${formatFull(msg.created_at)}>${formatTime(msg.created_at)}</time>`
          : html`<button type="button" class="avatar-btn" onClick=${openProfile} aria-label=${`Profile of ${name}`}><${Avatar} user=${author || { id: msg.user_id }} /></button>`}
      </div>
      <div class="msg-body">
        <div class=${grouped ? 'msg-head sr-only' : 'msg-head'}>
          <button type="button" class="msg-author" data-testid="message-author" onClick=${openProfile}>${name}</button>
          ${author && author.status_emoji && html`<span class="status-emoji" title=${author.status_text}>${emojiFor(author.status_emoji) || ''}</span>`}
          <time class="msg-time" datetime=${msg.created_at} title=${formatFull(msg.created_at)}>${formatTime(msg.created_at)}</time>
        </div>
        ${msg.deleted
          ? html`<div class="msg-deleted muted" data-testid="message-deleted">This message was deleted.</div>`
          : editing
            ? html`<${EditBox} msg=${msg} />`
            : html`
              ${msg.text &&
              html`<div class=${`msg-text${isEmojiOnly(msg.text) ? ' jumbo' : ''}`} data-testid="message-text">${renderMarkdown(msg.text, markdownCtx())}${msg.edited_at &&
                html`<span class="edited" data-testid="edited-mark" title=${`Edited ${formatFull(msg.edited_at)}`}> (edited)</span>`}</div>`}
              ${!msg.text && html`<div class="msg-text" data-testid="message-text"></div>`}
              <${Files} files=${msg.files} />
              ${!pending && html`<${Reactions} msg=${msg} meId=${meId} users=${users} />`}
              ${!inThread && msg.reply_count > 0 &&
              html`<div class="thread-summary">
                <button type="button" class="reply-count" data-testid="reply-count" onClick=${() => openThread(msg.id)}>${msg.reply_count} ${msg.reply_count === 1 ? 'reply' : 'replies'}</button>
                ${msg.last_reply_at && html`<span class="muted small">Last reply ${formatTime(msg.last_reply_at)}</span>`}
              </div>`}
            `}
        ${msg.state === 'pending' && html`<div class="send-state muted">Sending…</div>`}
        ${msg.state === 'failed' &&
        html`<div class="send-state failed" role="alert">
          <span>Not sent${msg.error ? `: ${msg.error}` : '.'}</span>
          <button type="button" class="link-btn" data-testid="retry-send" onClick=${() => retrySend(msg.channel_id, msg.thread_root_id, msg.client_msg_id)}>Retry</button>
          <button type="button" class="link-btn" onClick=${() => discardPending(msg.channel_id, msg.thread_root_id, msg.client_msg_id)}>Discard</button>
        </div>`}
      </div>
      ${hot && !pending && !msg.deleted && !editing && html`<${Actions} msg=${msg} mine=${mine} inThread=${inThread} />`}
    </div>`;
}

// The memo skips re-renders from the parent; the inner row's own hover state still
// re-renders it (a hook inside the memo class would be stopped by its check).
export const MessageRow = memo(function MessageRow(props) {
  return html`<${Row} ...${props} />`;
});
