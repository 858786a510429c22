/**
 * store.js: the client's state, one immutable snapshot replaced on every change, and
 * the reducers that apply realtime events to it.
 *
 * Components read it through `useStore(selector)`, which re-renders only when the
 * selected value changes identity; updates copy only the objects on the changed path,
 * so a new message re-renders its list and not every row.
 *
 * A channel's history is held as a *timeline*: a window of at most `WINDOW_CAP`
 * consecutive top-level messages (oldest first). `hasOlder` / `hasNewer` say whether
 * more exist beyond either end; live messages are appended only when the window reaches
 * the newest end (`!hasNewer`).
 */

import { useEffect, useState, useRef } from '../vendor/preact-htm.js';

export const WINDOW_CAP = 400;
export const PAGE = 50;

let state = {
  me: null,
  workspace: null,
  users: {},
  channels: {},
  channelsLoaded: false,
  conn: 'connecting',
  presence: {},
  typing: {},
  timelines: {},
  pending: {},
  thread: null,
  panel: null,
  profile: null,
  route: { name: 'loading' },
  focused: document.hasFocus(),
  sidebarOpen: false,
  toast: null,
};

/**
 * What the open message list shows, written by the list itself (not state: it changes
 * on every scroll and nothing renders from it). Events use it to decide whether a new
 * message in the open channel is already seen.
 */
export const viewport = { channelId: null, atBottom: true };

const listeners = new Set();

export const getState = () => state;

/** Replaces the state with `fn(state)` (or merges a partial object) and notifies. */
export function setState(update) {
  const next = typeof update === 'function' ? update(state) : { ...state, ...update };
  if (next === state) return;
  state = next;
  for (const l of [...listeners]) l(state);
}

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Subscribes a component to `selector(state)`. */
export function useStore(selector) {
  const [, force] = useState(0);
  const sel = useRef(selector);
  sel.current = selector;
  const value = selector(state);
  const last = useRef(value);
  last.current = value;
  useEffect(
    () =>
      subscribe((s) => {
        const v = sel.current(s);
        if (v !== last.current) {
          last.current = v;
          force((n) => n + 1);
        }
      }),
    [],
  );
  return value;
}

// ---- small immutable helpers ----

export function patchIn(obj, key, patch) {
  const cur = obj[key];
  const next = typeof patch === 'function' ? patch(cur) : { ...cur, ...patch };
  if (next === cur) return obj;
  return { ...obj, [key]: next };
}

export function updateChannel(id, patch) {
  setState((s) => (s.channels[id] ? { ...s, channels: patchIn(s.channels, id, patch) } : s));
}

export function updateTimeline(id, fn) {
  setState((s) => {
    const t = s.timelines[id];
    if (!t) return s;
    const next = fn(t);
    return next === t ? s : { ...s, timelines: { ...s.timelines, [id]: next } };
  });
}

export function emptyTimeline(readMarker) {
  return { messages: [], hasOlder: false, hasNewer: false, loading: 'initial', error: null, readMarker, highlightId: null, seqAnchor: 0 };
}

const byId = (list) => new Set(list.map((m) => m.id));
const topLevel = (msgs) => msgs.filter((m) => !m.thread_root_id);

/** The window replaced by one page (the latest, or one around a message). */
export function tlReplace(t, messages, { hasOlder, hasNewer }) {
  return { ...t, messages: topLevel(messages), hasOlder, hasNewer, loading: null, error: null };
}

/** An older page added at the top; the far (newest) end is dropped past the cap. */
export function tlPrepend(t, page) {
  const have = byId(t.messages);
  let messages = [...topLevel(page.messages).filter((m) => !have.has(m.id)), ...t.messages];
  let hasNewer = t.hasNewer;
  if (messages.length > WINDOW_CAP) {
    messages = messages.slice(0, WINDOW_CAP);
    hasNewer = true;
  }
  return { ...t, messages, hasOlder: page.has_more, hasNewer, loading: null };
}

/** A newer page added at the bottom; the oldest end is dropped past the cap. */
export function tlAppend(t, page) {
  const have = byId(t.messages);
  let messages = [...t.messages, ...topLevel(page.messages).filter((m) => !have.has(m.id))];
  let hasOlder = t.hasOlder;
  if (messages.length > WINDOW_CAP) {
    messages = messages.slice(messages.length - WINDOW_CAP);
    hasOlder = true;
  }
  return { ...t, messages, hasNewer: page.has_more, hasOlder, loading: null };
}

/** A live message: inserted in seq order when the window reaches the newest end. */
export function tlInsert(t, msg) {
  if (msg.thread_root_id) return t;
  const idx = t.messages.findIndex((m) => m.id === msg.id);
  if (idx >= 0) return tlUpdate(t, msg);
  if (t.hasNewer || t.loading === 'initial') return t;
  let messages = [...t.messages];
  let at = messages.length;
  while (at > 0 && messages[at - 1].seq > msg.seq) at -= 1;
  if (at === 0 && t.hasOlder && messages.length) return t; // older than the window
  messages.splice(at, 0, msg);
  let hasOlder = t.hasOlder;
  if (messages.length > WINDOW_CAP + PAGE) {
    messages = messages.slice(messages.length - WINDOW_CAP);
    hasOlder = true;
  }
  return { ...t, messages, hasOlder };
}

/** A changed message replaces its old version, if it is in the window. */
export function tlUpdate(t, msg) {
  const idx = t.messages.findIndex((m) => m.id === msg.id);
  if (idx < 0) return t;
  const messages = [...t.messages];
  messages[idx] = msg;
  return { ...t, messages };
}

/** Applies `fn` to the message `id` wherever it is held: timeline, thread root, replies. */
export function mapMessage(s, channelId, id, fn) {
  let next = s;
  const t = s.timelines[channelId];
  if (t) {
    const idx = t.messages.findIndex((m) => m.id === id);
    if (idx >= 0) {
      const messages = [...t.messages];
      messages[idx] = fn(messages[idx]);
      next = { ...next, timelines: { ...next.timelines, [channelId]: { ...t, messages } } };
    }
  }
  const th = s.thread;
  if (th) {
    if (th.root && th.root.id === id) next = { ...next, thread: { ...next.thread, root: fn(th.root) } };
    const ri = th.replies.findIndex((m) => m.id === id);
    if (ri >= 0) {
      const replies = [...th.replies];
      replies[ri] = fn(replies[ri]);
      next = { ...next, thread: { ...next.thread, replies } };
    }
  }
  return next;
}

/** A reaction change applied to a message's reaction list. */
export function withReaction(msg, emoji, userId, added) {
  const reactions = msg.reactions.map((r) => ({ ...r, user_ids: [...r.user_ids] }));
  let r = reactions.find((x) => x.emoji === emoji);
  if (added) {
    if (r && r.user_ids.includes(userId)) return msg;
    if (!r) {
      r = { emoji, count: 0, user_ids: [] };
      reactions.push(r);
    }
    r.user_ids.push(userId);
    r.count += 1;
  } else {
    if (!r || !r.user_ids.includes(userId)) return msg;
    r.user_ids = r.user_ids.filter((u) => u !== userId);
    r.count -= 1;
  }
  return { ...msg, reactions: reactions.filter((x) => x.count > 0) };
}

// ---- derived lookups ----

/** How a channel is named in lists: `name`, or the DM partners' names. */
export function channelLabel(s, ch) {
  if (!ch) return '';
  if (ch.name) return ch.name;
  const others = (ch.member_ids || []).filter((id) => id !== (s.me && s.me.id));
  if (!others.length) return s.me ? `${s.me.display_name} (you)` : 'Notes';
  return others.map((id) => userName(s, id)).join(', ');
}

export function userName(s, id) {
  const u = s.users[id];
  return u ? u.display_name || u.handle : 'Unknown user';
}

export const isDm = (ch) => ch && (ch.kind === 'dm' || ch.kind === 'group_dm');

/** Whether a message (by someone else) mentions the current user, as the server counts it. */
export function mentionsMe(s, ch, msg) {
  if (!s.me || msg.user_id === s.me.id) return false;
  if (isDm(ch)) return true;
  const t = msg.text || '';
  if (t.includes(`<@${s.me.id}>`) || t.includes(`<@${s.me.id}|`)) return true;
  if (/<!(channel|here|everyone)>/.test(t) || /(^|[^\w@])@(channel|here|everyone)\b/i.test(t)) return true;
  const re = new RegExp(`(^|[^\\w.])@${s.me.handle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`, 'i');
  return re.test(t);
}
