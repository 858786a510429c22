/**
 * actions.js: what the user can do, as calls to the REST API and the resulting state
 * changes. Views call these; they never call the API directly for shared state.
 *
 * Sending is optimistic: a pending entry with a fresh `client_msg_id` is shown at once,
 * then replaced by the stored message (from the REST answer or the `message.created`
 * event, whichever comes first; both match on `client_msg_id` or id, so the message
 * never shows twice). A failed send keeps its entry and `client_msg_id`, so a retry is
 * deduplicated by the server.
 */

import * as api from './api.js';
import {
  getState, setState, patchIn, updateTimeline, updateChannel, emptyTimeline, tlReplace, tlPrepend,
  tlAppend, tlInsert, mapMessage, withReaction, PAGE,
} from './store.js';

// ---- toasts ----

let toastTimer = null;
/** Shows a short message at the bottom of the screen (errors stay longer). */
export function toast(text, kind = 'info') {
  clearTimeout(toastTimer);
  setState({ toast: { text, kind, at: Date.now() } });
  toastTimer = setTimeout(() => setState({ toast: null }), kind === 'error' ? 7000 : 3500);
}

export const showError = (e) => toast(e && e.message ? e.message : String(e), 'error');

// ---- bootstrap: me, people, channels ----

export async function loadMe() {
  const me = await api.get('/api/v1/me', { quiet401: true });
  setState((s) => ({ ...s, me: me.user, workspace: me.workspace, users: { ...s.users, [me.user.id]: me.user } }));
  return me;
}

export async function loadUsers() {
  const users = {};
  let cursor;
  for (let page = 0; page < 50; page++) {
    const res = await api.get(`/api/v1/users${api.qs({ limit: 200, cursor })}`);
    for (const u of res.users) users[u.id] = u;
    if (!res.next_cursor) break;
    cursor = res.next_cursor;
  }
  setState((s) => ({ ...s, users: { ...s.users, ...users } }));
}

const userFetches = new Map();
/** Fetches a person not yet known (e.g. a new member), once. */
export function ensureUser(id) {
  if (!id || getState().users[id] || userFetches.has(id)) return;
  const p = api
    .get(`/api/v1/users/${encodeURIComponent(id)}`)
    .then((u) => setState((s) => ({ ...s, users: { ...s.users, [u.id]: u } })))
    .catch(() => {});
  userFetches.set(id, p);
}

export async function loadChannels() {
  const res = await api.get('/api/v1/channels');
  const channels = {};
  for (const c of res.channels) channels[c.id] = c;
  setState((s) => ({ ...s, channels, channelsLoaded: true }));
  for (const c of res.channels) for (const u of c.member_ids || []) ensureUser(u);
  return channels;
}

let channelsTimer = null;
/** Reloads the channel list soon, once for a burst of reasons. */
export function refreshChannelsSoon() {
  clearTimeout(channelsTimer);
  channelsTimer = setTimeout(() => loadChannels().catch(() => {}), 300);
}

// ---- channel history ----

function msgsUrl(id, params) {
  return `/api/v1/channels/${encodeURIComponent(id)}/messages${api.qs({ limit: PAGE, ...params })}`;
}

/** Opens a channel at its latest page (or around `messageId`). */
export async function openChannel(id, messageId) {
  const s = getState();
  const ch = s.channels[id];
  const readMarker = ch ? ch.last_read_seq : null;
  setState((st) => ({ ...st, timelines: { ...st.timelines, [id]: emptyTimeline(readMarker) } }));
  if (messageId) return jumpToMessage(id, messageId);
  return loadLatest(id);
}

export async function loadLatest(id) {
  try {
    const page = await api.get(msgsUrl(id, {}));
    updateTimeline(id, (t) => ({ ...tlReplace(t, page.messages, { hasOlder: page.has_more, hasNewer: false }), highlightId: null, seqAnchor: Date.now() }));
  } catch (e) {
    updateTimeline(id, (t) => ({ ...t, loading: null, error: e }));
  }
}

/** Back to the newest messages (after reading far back or a jump). */
export function jumpToLatest(id) {
  updateTimeline(id, (t) => ({ ...t, loading: 'initial' }));
  return loadLatest(id);
}

export async function loadOlder(id) {
  const t = getState().timelines[id];
  if (!t || t.loading || !t.hasOlder || !t.messages.length) return;
  updateTimeline(id, (x) => ({ ...x, loading: 'older' }));
  try {
    const page = await api.get(msgsUrl(id, { before: t.messages[0].seq }));
    updateTimeline(id, (x) => tlPrepend(x, page));
  } catch (e) {
    updateTimeline(id, (x) => ({ ...x, loading: null }));
    showError(e);
  }
}

export async function loadNewer(id) {
  const t = getState().timelines[id];
  if (!t || t.loading || !t.hasNewer || !t.messages.length) return;
  updateTimeline(id, (x) => ({ ...x, loading: 'newer' }));
  try {
    const page = await api.get(msgsUrl(id, { after: t.messages[t.messages.length - 1].seq }));
    updateTimeline(id, (x) => tlAppend(x, page));
  } catch (e) {
    updateTimeline(id, (x) => ({ ...x, loading: null }));
    showError(e);
  }
}

/** Loads the page around a message and highlights it (replies open their thread). */
export async function jumpToMessage(channelId, messageId) {
  try {
    const msg = await api.get(`/api/v1/messages/${encodeURIComponent(messageId)}`);
    const anchor = msg.thread_root_id ? await api.get(`/api/v1/messages/${encodeURIComponent(msg.thread_root_id)}`) : msg;
    const [before, after] = await Promise.all([
      api.get(msgsUrl(channelId, { before: anchor.seq + 1, limit: 25 })),
      api.get(msgsUrl(channelId, { after: anchor.seq, limit: 25 })),
    ]);
    setState((s) => {
      const t = s.timelines[channelId] || emptyTimeline(null);
      const next = tlReplace(t, [...before.messages, ...after.messages], { hasOlder: before.has_more, hasNewer: after.has_more });
      return { ...s, timelines: { ...s.timelines, [channelId]: { ...next, highlightId: anchor.id, seqAnchor: Date.now() } } };
    });
    if (msg.thread_root_id) openThread(msg.thread_root_id, msg.id);
  } catch (e) {
    showError(e);
    await loadLatest(channelId);
  }
}

const readInFlight = new Map();
/** Moves the read marker to `seq` (only forwards) and clears the badges. */
export async function markRead(id, seq) {
  const ch = getState().channels[id];
  if (!ch || seq <= ch.last_read_seq || (readInFlight.get(id) || 0) >= seq) return;
  readInFlight.set(id, seq);
  updateChannel(id, { last_read_seq: seq, unread_count: 0, mention_count: 0 });
  try {
    await api.post(`/api/v1/channels/${encodeURIComponent(id)}/read`, { seq });
  } catch {
    /* the badge comes back with the next channel list load */
  } finally {
    if (readInFlight.get(id) === seq) readInFlight.delete(id);
  }
}

// ---- sending ----

const pendingKey = (channelId, rootId) => (rootId ? `thread:${rootId}` : channelId);

function setPending(key, fn) {
  setState((s) => ({ ...s, pending: { ...s.pending, [key]: fn(s.pending[key] || []) } }));
}

/** Drops the pending entry of a stored message and puts the message in place. */
export function settleMessage(msg) {
  const key = pendingKey(msg.channel_id, msg.thread_root_id);
  setState((s) => {
    let next = s;
    const list = s.pending[key];
    if (list && msg.client_msg_id && list.some((p) => p.client_msg_id === msg.client_msg_id)) {
      next = { ...next, pending: { ...next.pending, [key]: list.filter((p) => p.client_msg_id !== msg.client_msg_id) } };
    }
    if (msg.thread_root_id) {
      const th = next.thread;
      if (th && th.rootId === msg.thread_root_id && !th.replies.some((m) => m.id === msg.id)) {
        next = { ...next, thread: { ...th, replies: [...th.replies, msg].sort((a, b) => a.seq - b.seq) } };
      }
    } else {
      const t = next.timelines[msg.channel_id];
      if (t) {
        const nt = tlInsert(t, msg);
        if (nt !== t) next = { ...next, timelines: { ...next.timelines, [msg.channel_id]: nt } };
      }
      if (next.channels[msg.channel_id] && msg.seq > next.channels[msg.channel_id].last_seq) {
        next = { ...next, channels: patchIn(next.channels, msg.channel_id, { last_seq: msg.seq }) };
      }
    }
    return next;
  });
}

async function deliver(entry) {
  const key = pendingKey(entry.channel_id, entry.thread_root_id);
  try {
    const msg = await api.post(`/api/v1/channels/${encodeURIComponent(entry.channel_id)}/messages`, {
      text: entry.text,
      client_msg_id: entry.client_msg_id,
      thread_root_id: entry.thread_root_id || undefined,
      file_ids: entry.file_ids,
    });
    settleMessage(msg);
    if (!entry.thread_root_id) markRead(msg.channel_id, msg.seq);
  } catch (e) {
    setPending(key, (list) => list.map((p) => (p.client_msg_id === entry.client_msg_id ? { ...p, state: 'failed', error: e.message } : p)));
  }
}

function newClientMsgId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** Sends a message (optimistically). `files`: uploaded files to share. */
export function sendMessage(channelId, text, { threadRootId = null, files = [] } = {}) {
  const s = getState();
  const entry = {
    client_msg_id: newClientMsgId(),
    channel_id: channelId,
    thread_root_id: threadRootId,
    text,
    file_ids: files.map((f) => f.id),
    files,
    user_id: s.me.id,
    created_at: new Date().toISOString(),
    state: 'pending',
  };
  setPending(pendingKey(channelId, threadRootId), (list) => [...list, entry]);
  if (!threadRootId) {
    const t = s.timelines[channelId];
    if (t && t.hasNewer) jumpToLatest(channelId);
    updateTimeline(channelId, (x) => (x.readMarker === null ? x : { ...x, readMarker: null }));
  }
  deliver(entry);
}

/** Sends a failed message again, with the same client_msg_id. */
export function retrySend(channelId, threadRootId, clientMsgId) {
  const key = pendingKey(channelId, threadRootId);
  const entry = (getState().pending[key] || []).find((p) => p.client_msg_id === clientMsgId);
  if (!entry) return;
  setPending(key, (list) => list.map((p) => (p.client_msg_id === clientMsgId ? { ...p, state: 'pending', error: null } : p)));
  deliver(entry);
}

export function discardPending(channelId, threadRootId, clientMsgId) {
  setPending(pendingKey(channelId, threadRootId), (list) => list.filter((p) => p.client_msg_id !== clientMsgId));
}

// ---- editing, deleting, reactions ----

function applyMessage(msg) {
  setState((s) => mapMessage(s, msg.channel_id, msg.id, () => msg));
}

export async function editMessage(id, text) {
  const msg = await api.patch(`/api/v1/messages/${encodeURIComponent(id)}`, { text });
  applyMessage(msg);
  return msg;
}

export async function deleteMessage(id) {
  const msg = await api.del(`/api/v1/messages/${encodeURIComponent(id)}`);
  if (msg) applyMessage(msg);
}

/** Adds the user's reaction, or removes it when already there. */
export async function toggleReaction(msg, emoji) {
  const me = getState().me.id;
  const r = msg.reactions.find((x) => x.emoji === emoji);
  const mine = !!r && r.user_ids.includes(me);
  setState((s) => mapMessage(s, msg.channel_id, msg.id, (m) => withReaction(m, emoji, me, !mine)));
  try {
    const path = `/api/v1/messages/${encodeURIComponent(msg.id)}/reactions/${encodeURIComponent(emoji)}`;
    const updated = mine ? await api.del(path) : await api.put(path);
    if (updated) applyMessage(updated);
  } catch (e) {
    setState((s) => mapMessage(s, msg.channel_id, msg.id, (m) => withReaction(m, emoji, me, mine)));
    showError(e);
  }
}

// ---- threads ----

export async function openThread(rootId, highlightId = null) {
  setState((s) => ({ ...s, thread: { rootId, root: null, replies: [], loading: true, error: null, highlightId }, side: null }));
  try {
    const root = await api.get(`/api/v1/messages/${encodeURIComponent(rootId)}`);
    let replies = [];
    let after = 0;
    for (let i = 0; i < 20; i++) {
      const page = await api.get(`/api/v1/messages/${encodeURIComponent(rootId)}/replies${api.qs({ after, limit: 200 })}`);
      replies = replies.concat(page.messages);
      if (!page.has_more || !page.messages.length) break;
      after = page.messages[page.messages.length - 1].seq;
    }
    setState((s) => {
      if (!s.thread || s.thread.rootId !== rootId) return s;
      const have = new Set(replies.map((m) => m.id));
      const live = s.thread.replies.filter((m) => !have.has(m.id));
      return { ...s, thread: { ...s.thread, root, replies: [...replies, ...live].sort((a, b) => a.seq - b.seq), loading: false } };
    });
  } catch (e) {
    setState((s) => (s.thread && s.thread.rootId === rootId ? { ...s, thread: { ...s.thread, loading: false, error: e } } : s));
  }
}

export const closeThread = () => setState({ thread: null });

// ---- channels and people ----

export async function createChannel(name, isPrivate) {
  const ch = await api.post('/api/v1/channels', { name, private: isPrivate });
  await loadChannels();
  return ch;
}

export async function joinChannel(id) {
  await api.post(`/api/v1/channels/${encodeURIComponent(id)}/join`);
  await loadChannels();
}

export async function leaveChannel(id) {
  await api.post(`/api/v1/channels/${encodeURIComponent(id)}/leave`);
  setState((s) => {
    const channels = { ...s.channels };
    delete channels[id];
    return { ...s, channels };
  });
}

export async function openDm(userIds) {
  const ch = await api.post('/api/v1/dms', { user_ids: userIds });
  await loadChannels();
  return ch;
}

export async function createInvite() {
  return api.post('/api/v1/invites', {});
}

export async function updateProfile(patch) {
  const user = await api.patch('/api/v1/users/me', patch);
  setState((s) => ({ ...s, me: user, users: { ...s.users, [user.id]: user } }));
  return user;
}

export async function signOut() {
  try {
    await api.post('/api/v1/auth/logout', {});
  } catch {
    /* signed out either way */
  }
  location.assign('/signin');
}
