/**
 * dialogs.js: the small modal flows: create a channel, browse and join channels, start
 * a DM or group DM, create an invite link, confirm a delete, and the emoji picker for
 * reactions.
 */

import { html, useEffect, useState, useRef } from '../vendor/preact-htm.js';
import { useStore, setState, getState, own } from '../lib/store.js';
import * as api from '../lib/api.js';
import { createChannel, joinChannel, openDm, createInvite, deleteMessage, toggleReaction, showError } from '../lib/actions.js';
import { navigate, channelPath } from '../lib/router.js';
import { FREQUENT, searchEmoji, emojiFor } from '../lib/emoji.js';
import { Modal, FormError, Avatar, PresenceDot } from './common.js';

const close = () => setState({ panel: null });

export function NewChannelDialog() {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const onSubmit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const ch = await createChannel(String(f.get('name')).trim(), f.get('private') === 'on');
      close();
      navigate(channelPath(ch.id));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return html`
    <${Modal} title="Create a channel" onClose=${close} testid="new-channel-dialog">
      <form class="stack" data-testid="new-channel-form" onSubmit=${onSubmit} novalidate>
        <label>Name<input name="name" required placeholder="e.g. plan-budget" autocomplete="off" /></label>
        <label class="check"><input type="checkbox" name="private" /> Make private <span class="muted">(only invited people can see it)</span></label>
        <${FormError} error=${error} />
        <div class="row-end"><button type="button" onClick=${close}>Cancel</button><button type="submit" class="primary" disabled=${busy}>Create</button></div>
      </form>
    <//>`;
}

export function BrowseDialog() {
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  const [filter, setFilter] = useState('');
  const load = () =>
    api
      .get('/api/v1/channels/browse')
      .then((r) => setList(r.channels))
      .catch(setError);
  useEffect(() => {
    load();
  }, []);
  const join = async (c) => {
    try {
      await joinChannel(c.id);
      close();
      navigate(channelPath(c.id));
    } catch (e) {
      setError(e);
    }
  };
  const shown = (list || []).filter((c) => !filter || c.name.toLowerCase().includes(filter.toLowerCase()));
  return html`
    <${Modal} title="Browse channels" onClose=${close} testid="browse-panel" wide>
      <input class="filter" placeholder="Search channels" value=${filter} onInput=${(e) => setFilter(e.currentTarget.value)} />
      <${FormError} error=${error} />
      ${!list && !error && html`<div class="list-status"><span class="spinner"></span>Loading…</div>`}
      <ul class="pick-list">
        ${shown.map(
          (c) => html`<li key=${c.id} class="browse-item" data-testid="browse-item" data-channel-id=${c.id}>
            <div class="grow"><strong>#${c.name}</strong> <span class="muted">${c.member_count} ${c.member_count === 1 ? 'member' : 'members'}</span>
              ${c.topic && html`<div class="muted small">${c.topic}</div>`}</div>
            ${c.is_member
              ? html`<button type="button" onClick=${() => { close(); navigate(channelPath(c.id)); }}>Open</button>`
              : html`<button type="button" class="primary" data-testid="join" onClick=${() => join(c)}>Join</button>`}
          </li>`,
        )}
        ${list && !shown.length && html`<li class="muted">No channels match.</li>`}
      </ul>
    <//>`;
}

export function NewDmDialog() {
  const users = useStore((s) => s.users);
  const me = useStore((s) => s.me);
  const [chosen, setChosen] = useState([]);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState(null);
  const people = Object.values(users)
    .filter((u) => u.id !== me.id && !u.deactivated)
    .filter((u) => !filter || `${u.display_name} ${u.handle}`.toLowerCase().includes(filter.toLowerCase()))
    .sort((a, b) => a.display_name.localeCompare(b.display_name));
  const toggle = (id) => setChosen((c) => (c.includes(id) ? c.filter((x) => x !== id) : c.length >= 8 ? c : [...c, id]));
  const start = async () => {
    try {
      const ch = await openDm(chosen);
      close();
      navigate(channelPath(ch.id));
    } catch (e) {
      setError(e);
    }
  };
  return html`
    <${Modal} title="New message" onClose=${close} testid="new-dm-dialog" wide>
      <input class="filter" placeholder="Find people" value=${filter} onInput=${(e) => setFilter(e.currentTarget.value)} />
      <ul class="pick-list people">
        ${people.map(
          (u) => html`<li key=${u.id}>
            <button type="button" class=${`person${chosen.includes(u.id) ? ' chosen' : ''}`} data-testid="dm-user" data-user-id=${u.id} aria-pressed=${chosen.includes(u.id)} onClick=${() => toggle(u.id)}>
              <${Avatar} user=${u} size=${28} /><span class="grow"><strong>${u.display_name}</strong> <span class="muted">@${u.handle}</span></span>
              <${PresenceDot} userId=${u.id} /><span class="check-mark">${chosen.includes(u.id) ? '✓' : ''}</span>
            </button>
          </li>`,
        )}
        ${!people.length && html`<li class="muted">Nobody else here yet. Invite people first.</li>`}
      </ul>
      <${FormError} error=${error} />
      <div class="row-end">
        <span class="muted grow">${chosen.length ? `${chosen.length} selected` : 'Pick one person for a DM, more for a group.'}</span>
        <button type="button" class="primary" data-testid="start-dm" disabled=${!chosen.length} onClick=${start}>Start conversation</button>
      </div>
    <//>`;
}

export function InviteDialog() {
  const ws = useStore((s) => s.workspace);
  const [invite, setInvite] = useState(null);
  const [error, setError] = useState(null);
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    createInvite().then(setInvite, setError);
  }, []);
  const url = invite ? `${location.origin}/invite/${encodeURIComponent(ws.slug)}#${encodeURIComponent(invite.code)}` : '';
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
    } catch {
      /* the field is selectable */
    }
  };
  return html`
    <${Modal} title=${`Invite people to ${ws.name}`} onClose=${close} testid="invite-dialog">
      <${FormError} error=${error} />
      ${!invite && !error && html`<div class="list-status"><span class="spinner"></span>Creating a link…</div>`}
      ${invite &&
      html`<p class="muted">Anyone with this link can join until ${new Date(invite.expires_at).toLocaleDateString()}.</p>
        <div class="invite-row">
          <input readonly class="grow" data-testid="invite-link" value=${url} onFocus=${(e) => e.currentTarget.select()} />
          <button type="button" class="primary" onClick=${copy}>${copied ? 'Copied' : 'Copy'}</button>
        </div>`}
    <//>`;
}

export function ConfirmDelete() {
  const msg = useStore((s) => s.confirmDelete);
  const [busy, setBusy] = useState(false);
  if (!msg) return null;
  const cancel = () => setState({ confirmDelete: null });
  const confirm = async () => {
    setBusy(true);
    try {
      await deleteMessage(msg.id);
      cancel();
    } catch (e) {
      showError(e);
      setBusy(false);
    }
  };
  return html`
    <${Modal} title="Delete message" onClose=${cancel} testid="delete-dialog">
      <p>Are you sure you want to delete this message? This cannot be undone.</p>
      <div class="row-end">
        <button type="button" onClick=${cancel}>Cancel</button>
        <button type="button" class="primary danger" data-testid="confirm-delete" disabled=${busy} onClick=${confirm}>Delete</button>
      </div>
    <//>`;
}

/** The reaction picker, placed next to the button that opened it. */
export function EmojiPicker() {
  const picker = useStore((s) => s.picker);
  const [q, setQ] = useState('');
  const box = useRef(null);
  useEffect(() => {
    setQ('');
    if (!picker) return undefined;
    const onKey = (e) => e.key === 'Escape' && setState({ picker: null });
    addEventListener('keydown', onKey);
    const input = box.current && box.current.querySelector('input');
    if (input) input.focus();
    return () => removeEventListener('keydown', onKey);
  }, [picker]);
  if (!picker) return null;
  const names = q ? searchEmoji(q, 80) : [...FREQUENT, ...searchEmoji('', 200).filter((n) => !FREQUENT.includes(n))].slice(0, 120);
  const pick = (name) => {
    setState({ picker: null });
    const s = getState();
    const msg = findCurrent(s, picker.msg);
    toggleReaction(msg, name);
  };
  const width = 300;
  const left = Math.max(8, Math.min(innerWidth - width - 8, picker.x - width));
  const below = picker.y + 320 < innerHeight;
  const style = below ? { left: `${left}px`, top: `${picker.y + 4}px` } : { left: `${left}px`, bottom: `${innerHeight - picker.top + 4}px` };
  return html`
    <div class="menu-backdrop" onClick=${() => setState({ picker: null })}></div>
    <div class="emoji-picker" data-testid="emoji-picker" style=${style} ref=${box} role="dialog" aria-label="Pick a reaction">
      <input placeholder="Search emoji" value=${q} onInput=${(e) => setQ(e.currentTarget.value)}
        onKeyDown=${(e) => e.key === 'Enter' && names.length && pick(names[0])} />
      <div class="emoji-grid">
        ${names.map((n) => html`<button type="button" key=${n} data-emoji=${n} title=${`:${n}:`} onClick=${() => pick(n)}>${emojiFor(n)}</button>`)}
      </div>
    </div>`;
}

/** The newest copy of a message in the state (the picker holds the one it opened with). */
function findCurrent(s, msg) {
  const t = own(s.timelines, msg.channel_id);
  const inList = t && t.messages.find((m) => m.id === msg.id);
  if (inList) return inList;
  if (s.thread) {
    if (s.thread.root && s.thread.root.id === msg.id) return s.thread.root;
    const r = s.thread.replies.find((m) => m.id === msg.id);
    if (r) return r;
  }
  return msg;
}
