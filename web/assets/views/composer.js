/**
 * composer.js: writing a message. Enter sends, Shift+Enter adds a line, ArrowUp in an
 * empty composer edits the user's last message. Typing is announced (throttled in
 * connection.js). `@` and `#` (and `:` for emoji) open an autocomplete: people are
 * inserted as @handle, channels as #name and sent as <#ID>. Files are attached by the
 * button, by drag and drop (the channel view forwards drops) and by paste; each uploads
 * at once with a progress bar and is shared with the next message sent.
 */

import { html, useState, useRef, useEffect, useMemo } from '../vendor/preact-htm.js';
import { getState, setState, useStore, isDm } from '../lib/store.js';
import { sendMessage } from '../lib/actions.js';
import { sendTyping } from '../lib/connection.js';
import { uploadFile } from '../lib/api.js';
import { searchEmoji, emojiFor } from '../lib/emoji.js';
import { Avatar, Icon } from './common.js';

const drafts = new Map();
const TRIGGER_RE = /(^|[\s(])([@#:])([\p{L}\p{N}._+'-]*)$/u;

function suggestions(kind, query, s) {
  const q = query.toLowerCase();
  if (kind === '@') {
    const people = Object.values(s.users)
      .filter((u) => !u.deactivated && (u.handle.toLowerCase().startsWith(q) || u.display_name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q)) || u.display_name.toLowerCase().startsWith(q)))
      .sort((a, b) => a.display_name.localeCompare(b.display_name))
      .slice(0, 8)
      .map((u) => ({ key: u.id, insert: `@${u.handle} `, label: u.display_name, detail: `@${u.handle}`, user: u }));
    const broad = ['here', 'channel', 'everyone'].filter((b) => b.startsWith(q)).map((b) => ({ key: b, insert: `@${b} `, label: `@${b}`, detail: b === 'here' ? 'Notify everyone online' : 'Notify everyone in this channel' }));
    return [...people, ...broad];
  }
  if (kind === '#') {
    return Object.values(s.channels)
      .filter((c) => !isDm(c) && c.name && c.name.toLowerCase().includes(q))
      .sort((a, b) => b.name.toLowerCase().startsWith(q) - a.name.toLowerCase().startsWith(q) || a.name.localeCompare(b.name))
      .slice(0, 8)
      .map((c) => ({ key: c.id, insert: `#${c.name} `, label: `#${c.name}`, detail: c.topic, channel: c }));
  }
  if (q.length < 2) return [];
  return searchEmoji(q, 8).map((n) => ({ key: n, insert: `:${n}: `, label: `:${n}:`, glyph: emojiFor(n) }));
}

/** Turns the #names picked from the autocomplete into <#ID> references. */
function withChannelRefs(text, picked) {
  let out = text;
  for (const [name, id] of picked) {
    const re = new RegExp(`(^|[\\s(])#${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`, 'g');
    out = out.replace(re, `$1<#${id}>`);
  }
  return out;
}

let uploadSeq = 0;

/** props: channelId, threadRootId?, placeholder, attachRef? (receives addFiles), lastOwn() */
export function Composer({ channelId, threadRootId = null, placeholder, attachRef, lastOwn }) {
  const key = threadRootId ? `thread:${threadRootId}` : channelId;
  const [text, setText] = useState(drafts.get(key) || '');
  const [uploads, setUploads] = useState([]);
  const [ac, setAc] = useState(null);
  const [acIndex, setAcIndex] = useState(0);
  const ta = useRef(null);
  const fileInput = useRef(null);
  const picked = useRef(new Map());
  const users = useStore((s) => s.users);
  const channels = useStore((s) => s.channels);

  const items = useMemo(() => (ac ? suggestions(ac.kind, ac.query, getState()) : []), [ac, users, channels]);

  useEffect(() => {
    drafts.set(key, text);
  }, [text, key]);

  useEffect(() => {
    const el = ta.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 240)}px`;
  }, [text]);

  useEffect(() => {
    if (!threadRootId && ta.current && matchMedia('(pointer: fine)').matches) ta.current.focus();
  }, [key]);

  const addFiles = (files) => {
    for (const file of files) {
      const id = ++uploadSeq;
      const job = uploadFile(file, (p) => setUploads((list) => list.map((u) => (u.id === id ? { ...u, progress: p } : u))));
      setUploads((list) => [...list, { id, name: file.name || 'pasted file', progress: 0, state: 'uploading', abort: job.abort }]);
      job.promise.then(
        (f) => setUploads((list) => list.map((u) => (u.id === id ? { ...u, state: 'done', file: f, progress: 1 } : u))),
        (e) => setUploads((list) => (e.code === 'aborted' ? list.filter((u) => u.id !== id) : list.map((u) => (u.id === id ? { ...u, state: 'failed', error: e.message } : u)))),
      );
    }
    if (ta.current) ta.current.focus();
  };
  if (attachRef) attachRef.current = addFiles;

  const updateAc = (value, caret) => {
    const m = value.slice(0, caret).match(TRIGGER_RE);
    if (m) {
      setAc({ kind: m[2], query: m[3], start: caret - m[3].length - 1 });
      setAcIndex(0);
    } else if (ac) setAc(null);
  };

  const choose = (item) => {
    const el = ta.current;
    const caret = el.selectionStart;
    const next = text.slice(0, ac.start) + item.insert + text.slice(caret);
    if (item.channel) picked.current.set(item.channel.name, item.channel.id);
    setText(next);
    setAc(null);
    // The caret goes after the insert now, not on the next frame: a key typed in
    // between would land at the end and the caret then jump back before it. The box
    // gets the new value at once too, so the render that follows (same value) keeps it.
    const pos = ac.start + item.insert.length;
    el.value = next;
    el.focus();
    el.setSelectionRange(pos, pos);
  };

  const uploading = uploads.some((u) => u.state === 'uploading');
  const submit = () => {
    const files = uploads.filter((u) => u.state === 'done').map((u) => u.file);
    const body = withChannelRefs(text.trim(), picked.current);
    if (uploading || (!body && !files.length)) return;
    sendMessage(channelId, body, { threadRootId, files });
    setText('');
    setUploads((list) => list.filter((u) => u.state !== 'done'));
    picked.current = new Map();
    setAc(null);
  };

  const onKeyDown = (e) => {
    if (e.isComposing) return;
    if (ac && items.length) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        setAcIndex((i) => (i + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        choose(items[Math.min(acIndex, items.length - 1)]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        setAc(null);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey) {
      e.preventDefault();
      submit();
    } else if (e.key === 'ArrowUp' && !text && lastOwn) {
      const m = lastOwn();
      if (m) {
        e.preventDefault();
        setState({ editing: m.id });
      }
    }
  };

  const onInput = (e) => {
    const v = e.currentTarget.value;
    setText(v);
    updateAc(v, e.currentTarget.selectionStart);
    if (v.trim()) sendTyping(channelId);
  };

  const onPaste = (e) => {
    const files = [...(e.clipboardData ? e.clipboardData.files : [])];
    if (files.length) {
      e.preventDefault();
      addFiles(files);
    }
  };

  return html`
    <div class="composer" data-testid="composer">
      ${ac && items.length > 0 &&
      html`<ul class="autocomplete" data-testid="autocomplete" role="listbox">
        ${items.map(
          (it, i) => html`<li key=${it.key} role="option" aria-selected=${i === acIndex} class=${i === acIndex ? 'active' : ''} data-testid="autocomplete-item"
            onMouseDown=${(e) => {
              e.preventDefault();
              choose(it);
            }}>
            ${it.user ? html`<${Avatar} user=${it.user} size=${20} />` : it.glyph ? html`<span class="ac-glyph">${it.glyph}</span>` : null}
            <span class="ac-label">${it.label}</span>${it.detail && html`<span class="ac-detail muted">${it.detail}</span>`}
          </li>`,
        )}
      </ul>`}
      ${uploads.length > 0 &&
      html`<div class="attachments">
        ${uploads.map(
          (u) => html`<div key=${u.id} class=${`attachment ${u.state}`} title=${u.error || u.name}>
            ${Icon.file}<span class="attachment-name">${u.name}</span>
            ${u.state === 'uploading' && html`<progress data-testid="upload-progress" max="1" value=${u.progress}></progress>`}
            ${u.state === 'failed' && html`<span class="error-text">${u.error}</span>`}
            <button type="button" class="icon-btn small" aria-label=${`Remove ${u.name}`} onClick=${() => {
              if (u.state === 'uploading') u.abort();
              setUploads((list) => list.filter((x) => x.id !== u.id));
            }}>${Icon.close}</button>
          </div>`,
        )}
      </div>`}
      <div class="composer-box">
        <button type="button" class="icon-btn" title="Attach files" aria-label="Attach files" onClick=${() => fileInput.current.click()}>${Icon.clip}</button>
        <input type="file" multiple class="hidden-input" data-testid="file-input" ref=${fileInput} tabindex="-1"
          onChange=${(e) => {
            addFiles([...e.currentTarget.files]);
            e.currentTarget.value = '';
          }} />
        <textarea ref=${ta} rows="1" value=${text} placeholder=${placeholder} aria-label=${placeholder}
          onInput=${onInput} onKeyDown=${onKeyDown} onPaste=${onPaste} onBlur=${() => setTimeout(() => setAc(null), 150)}
          onClick=${(e) => updateAc(e.currentTarget.value, e.currentTarget.selectionStart)}></textarea>
        <button type="button" class="icon-btn send-btn" title="Send" aria-label="Send" disabled=${uploading || (!text.trim() && !uploads.some((u) => u.state === 'done'))} onClick=${submit}>${Icon.send}</button>
      </div>
    </div>`;
}
