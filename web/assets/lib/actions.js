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
import { getState, setState, patchIn, updateTimeline, mapMessage, own } from './store.js';
import { tlInsert, fresher, withReaction, record } from './timeline.js';
import { markRead, jumpToLatest } from './history.js';
import { threadInsert, loadRepliesToEnd } from './threads.js';

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

let usersLoaded = false;
/** Everyone in the workspace, page by page (200 a page); started after the first channel page. */
export async function loadUsers() {
  const users = {};
  let cursor;
  for (let page = 0; page < 50; page++) {
    const res = await api.get(`/api/v1/users${api.qs({ limit: 200, cursor })}`);
    for (const u of res.users) users[u.id] = u;
    if (!res.next_cursor) break;
    cursor = res.next_cursor;
  }
  usersLoaded = true;
  // Copies fetched one by one or from events meanwhile are at least as new.
  setState((s) => ({ ...s, users: { ...users, ...s.users } }));
}

const userFetches = new Map();
/** Fetches a person not yet known (e.g. a new member), once. */
export function ensureUser(id) {
  if (!id || own(getState().users, id) || userFetches.has(id)) return;
  const p = api
    .get(`/api/v1/users/${encodeURIComponent(id)}`)
    .then((u) => setState((s) => ({ ...s, users: { ...s.users, [u.id]: u } })))
    .catch(() => {});
  userFetches.set(id, p);
}

/**
 * Fetches the people among `ids` not known yet: before the full list is in, only a few
 * (the authors of the first page), after it whoever is missing from it.
 */
export function ensureUsers(ids, max = 12) {
  const users = getState().users;
  const missing = [...new Set(ids)].filter((id) => id && !own(users, id) && !userFetches.has(id));
  for (const id of usersLoaded ? missing : missing.slice(0, max)) ensureUser(id);
}

/**
 * A channel from the list answer, merged with the copy held now: messages and read
 * markers applied while the request was out (`was` is the copy when it left) are kept,
 * so the badges do not jump back.
 */
function mergeChannel(c, cur, was) {
  if (!cur) return c;
  const lastSeq = Math.max(c.last_seq || 0, cur.last_seq || 0);
  const lastRead = Math.max(c.last_read_seq || 0, cur.last_read_seq || 0);
  let unread = c.unread_count;
  let mentions = c.mention_count;
  if (lastRead >= lastSeq) {
    unread = 0;
    mentions = 0;
  } else if ((cur.last_read_seq || 0) > (c.last_read_seq || 0)) {
    unread = cur.unread_count; // read here meanwhile: the server's counts are older
    mentions = cur.mention_count;
  } else if ((cur.last_seq || 0) > (c.last_seq || 0)) {
    // Messages arrived here that the answer does not know yet.
    unread += Math.max(0, cur.unread_count - (was ? was.unread_count : 0));
    mentions += Math.max(0, cur.mention_count - (was ? was.mention_count : 0));
  }
  return { ...c, last_seq: lastSeq, last_read_seq: lastRead, unread_count: unread, mention_count: mentions };
}

export async function loadChannels() {
  const before = getState().channels;
  const res = await api.get('/api/v1/channels');
  let channels = {};
  setState((s) => {
    channels = {};
    for (const c of res.channels) channels[c.id] = mergeChannel(c, own(s.channels, c.id), own(before, c.id));
    return { ...s, channels, channelsLoaded: true };
  });
  ensureUsers(res.channels.flatMap((c) => c.member_ids || []), 40);
  return channels;
}

let channelsTimer = null;
/** Reloads the channel list soon, once for a burst of reasons. */
export function refreshChannelsSoon() {
  clearTimeout(channelsTimer);
  channelsTimer = setTimeout(() => loadChannels().catch(() => {}), 300);
}

// ---- channel history and threads (history.js, threads.js) ----

export { openChannel, loadLatest, jumpToLatest, loadOlder, loadNewer, jumpToMessage, markRead, refreshTimeline, firstPage } from './history.js';
export { openThread, closeThread, loadMoreReplies, loadEarlierReplies } from './threads.js';

// ---- sending ----

const pendingKey = (channelId, rootId) => (rootId ? `thread:${rootId}` : channelId);

function setPending(key, fn) {
  setState((s) => ({ ...s, pending: { ...s.pending, [key]: fn(own(s.pending, key) || []) } }));
}

/** Drops the pending entry of a stored message and puts the message in place. */
/** Drops the pending and failed sends of `key` whose stored copy is among `messages`. */
export function dropSettledPending(key, messages) {
  const ids = new Set(messages.map((m) => m && m.client_msg_id).filter(Boolean));
  if (!ids.size) return;
  setState((s) => {
    const list = own(s.pending, key);
    if (!list || !list.some((p) => ids.has(p.client_msg_id))) return s;
    return { ...s, pending: { ...s.pending, [key]: list.filter((p) => !ids.has(p.client_msg_id)) } };
  });
}

export function settleMessage(msg) {
  record({ type: 'created', message: msg });
  const key = pendingKey(msg.channel_id, msg.thread_root_id);
  setState((s) => {
    let next = s;
    const list = own(s.pending, key);
    if (list && msg.client_msg_id && list.some((p) => p.client_msg_id === msg.client_msg_id)) {
      next = { ...next, pending: { ...next.pending, [key]: list.filter((p) => p.client_msg_id !== msg.client_msg_id) } };
    }
    if (msg.thread_root_id) {
      const th = next.thread;
      const nt = th && threadInsert(th, msg);
      if (nt && nt !== th) next = { ...next, thread: nt };
    } else {
      const t = own(next.timelines, msg.channel_id);
      if (t) {
        const nt = tlInsert(t, msg);
        if (nt !== t) next = { ...next, timelines: { ...next.timelines, [msg.channel_id]: nt } };
      }
      if (own(next.channels, msg.channel_id) && msg.seq > own(next.channels, msg.channel_id).last_seq) {
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
    const t = own(s.timelines, channelId);
    if (t && t.hasNewer) jumpToLatest(channelId);
    updateTimeline(channelId, (x) => (x.readMarker === null ? x : { ...x, readMarker: null }));
  } else if (s.thread && s.thread.rootId === threadRootId && s.thread.hasMore) {
    loadRepliesToEnd();
  }
  deliver(entry);
}

/** Sends a failed message again, with the same client_msg_id. */
export function retrySend(channelId, threadRootId, clientMsgId) {
  const key = pendingKey(channelId, threadRootId);
  const entry = (own(getState().pending, key) || []).find((p) => p.client_msg_id === clientMsgId);
  if (!entry) return;
  setPending(key, (list) => list.map((p) => (p.client_msg_id === clientMsgId ? { ...p, state: 'pending', error: null } : p)));
  deliver(entry);
}

export function discardPending(channelId, threadRootId, clientMsgId) {
  setPending(pendingKey(channelId, threadRootId), (list) => list.filter((p) => p.client_msg_id !== clientMsgId));
}

// ---- editing, deleting, reactions ----

/** A newer copy of a message (an event or a REST answer), wherever the message is shown. */
export function applyMessage(msg) {
  record({ type: 'updated', message: msg });
  setState((s) => mapMessage(s, msg.channel_id, msg.id, (m) => fresher(m, msg)));
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

/**
 * Signs out on the server, then goes to the sign-in form. A failure other than 401 (the
 * session is already gone) leaves the session valid, so it is shown and the app stays.
 */
export async function signOut() {
  try {
    await api.post('/api/v1/auth/logout', {}, { quiet401: true });
  } catch (e) {
    if (!(e && e.status === 401)) {
      showError(e && e.message ? `Could not sign out: ${e.message}` : 'Could not sign out.');
      return;
    }
  }
  location.assign('/signin');
}
