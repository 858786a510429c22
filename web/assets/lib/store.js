/**
 * store.js: the client's state, one immutable snapshot replaced on every change, and
 * the reducers that apply realtime events to it.
 *
 * Components read it through `useStore(selector)`, which re-renders only when the
 * selected value changes identity; updates copy only the objects on the changed path,
 * so a new message re-renders its list and not every row.
 *
 * A channel's history is held as a *timeline* (`timelines[channelId]`, only for the open
 * channel): a capped window of consecutive messages; see timeline.js for how pages and
 * live changes merge into it.
 */

import { useEffect, useState, useRef } from '../vendor/preact-htm.js';

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

/** `obj[key]` when `key` is an own property (never an inherited one such as `__proto__`). */
export const own = (obj, key) => (obj != null && Object.hasOwn(obj, key) ? obj[key] : undefined);

export function patchIn(obj, key, patch) {
  const cur = own(obj, key);
  const next = typeof patch === 'function' ? patch(cur) : { ...cur, ...patch };
  if (next === cur) return obj;
  return { ...obj, [key]: next };
}

export function updateChannel(id, patch) {
  setState((s) => (own(s.channels, id) ? { ...s, channels: patchIn(s.channels, id, patch) } : s));
}

export function updateTimeline(id, fn) {
  setState((s) => {
    const t = own(s.timelines, id);
    if (!t) return s;
    const next = fn(t);
    return next === t ? s : { ...s, timelines: { ...s.timelines, [id]: next } };
  });
}

/** Applies `fn` to the message `id` wherever it is held: timeline, thread root, replies. */
export function mapMessage(s, channelId, id, fn) {
  let next = s;
  const t = own(s.timelines, channelId);
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
  const u = own(s.users, id);
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
