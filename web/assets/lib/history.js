/**
 * history.js: loading a channel's history into its timeline window: the latest page, a
 * page around one message (a search result, a link), older and newer pages while
 * scrolling, and a refresh after a realtime gap; and moving the read marker.
 *
 * Every page is merged (timeline.js), never simply swapped in: changes that arrived as
 * events while the request was out are recorded and applied again on top, and an
 * answer meant for an earlier opening of the channel (`gen`) is dropped.
 */

import * as api from './api.js';
import { getState, setState, updateTimeline, updateChannel, own } from './store.js';
import {
  emptyTimeline, nextAnchor, tlMerge, tlReplay, pageRange, startRecording, changesIn, PAGE,
} from './timeline.js';
import { showError, ensureUsers, dropSettledPending } from './actions.js';
import { openThread } from './threads.js';

function msgsUrl(id, params) {
  return `/api/v1/channels/${encodeURIComponent(id)}/messages${api.qs({ limit: PAGE, ...params })}`;
}

let firstPageDone;
/** Resolves once the first channel page was shown (or failed), so bulk loads can wait. */
export const firstPage = new Promise((r) => (firstPageDone = r));

/**
 * Runs `request` and merges its answer into the timeline of channel `id` with
 * `merge(t, answer) -> {t, replaced}`, then replays what changed meanwhile. Returns
 * whether the answer was applied.
 */
async function fetchInto(id, request, merge) {
  const t0 = own(getState().timelines, id);
  if (!t0) return false;
  const gen = t0.gen;
  const rec = startRecording();
  let answer;
  try {
    answer = await request();
  } catch (e) {
    rec.stop();
    updateTimeline(id, (t) => (t.gen === gen ? { ...t, loading: null, error: t.messages.length ? null : e } : t));
    if (own(getState().timelines, id) && own(getState().timelines, id).messages.length) showError(e);
    refreshIfStale(id);
    return false;
  }
  rec.stop();
  let applied = false;
  updateTimeline(id, (t) => {
    if (t.gen !== gen) return t;
    applied = true;
    return tlReplay(merge(t, answer), changesIn(rec.events, id));
  });
  if (applied) {
    const messages = own(getState().timelines, id).messages;
    ensureUsers(messages.map((m) => m.user_id));
    // A send that failed here but was stored (its answer was lost) is shown once: stored.
    dropSettledPending(id, messages);
  }
  refreshIfStale(id);
  return applied;
}

/** Channels whose refresh after a realtime gap waits for their first page. */
const stale = new Set();

function refreshIfStale(id) {
  const t = own(getState().timelines, id);
  if (!stale.has(id) || (t && t.loading === 'initial')) return;
  stale.delete(id);
  if (t) refreshTimeline(id);
}

/** Opens a channel at its latest page (or around `messageId`); other windows are dropped. */
export async function openChannel(id, messageId) {
  const ch = own(getState().channels, id);
  const readMarker = ch ? ch.last_read_seq : null;
  setState((s) => ({ ...s, timelines: { [id]: emptyTimeline(readMarker) } }));
  const done = messageId ? jumpToMessage(id, messageId) : loadLatest(id, { reposition: true });
  return done.finally(() => firstPageDone());
}

/**
 * The newest page, merged: the window keeps its place when it meets the page (a
 * refresh), and is placed anew (`reposition`, or when the page replaced it).
 */
export function loadLatest(id, { reposition = false } = {}) {
  return fetchInto(id, () => api.get(msgsUrl(id, {})), (t, page) => {
    const { t: next, replaced } = tlMerge(t, page.messages, pageRange(page), 'newest');
    return replaced || reposition ? { ...next, highlightId: null, seqAnchor: nextAnchor() } : next;
  });
}

/** Back to the newest messages (after reading far back or a jump). */
export function jumpToLatest(id) {
  updateTimeline(id, (t) => ({ ...t, loading: 'initial' }));
  return loadLatest(id, { reposition: true });
}

export function loadOlder(id) {
  const t = own(getState().timelines, id);
  if (!t || t.loading || !t.hasOlder || !t.messages.length) return undefined;
  const before = t.messages[0].seq;
  updateTimeline(id, (x) => ({ ...x, loading: 'older' }));
  return fetchInto(id, () => api.get(msgsUrl(id, { before })), (x, page) => tlMerge(x, page.messages, pageRange(page, { before }), 'oldest').t);
}

export function loadNewer(id) {
  const t = own(getState().timelines, id);
  if (!t || t.loading || !t.hasNewer || !t.messages.length) return undefined;
  const after = t.messages[t.messages.length - 1].seq;
  updateTimeline(id, (x) => ({ ...x, loading: 'newer' }));
  return fetchInto(id, () => api.get(msgsUrl(id, { after })), (x, page) => tlMerge(x, page.messages, pageRange(page, { after }), 'newest').t);
}

/**
 * After a realtime gap: the newest page, merged when the window is that page at the
 * newest end, else in place of the window.
 */
export function refreshTimeline(id) {
  const t = own(getState().timelines, id);
  if (!t) return undefined;
  if (t.loading === 'initial') {
    // The first page is on its way and may predate the gap: refresh once it is in.
    stale.add(id);
    return undefined;
  }
  if (!t.hasNewer && t.messages.length <= PAGE) return loadLatest(id);
  // A window away from the newest end, or longer than the page a refresh loads, may hold
  // messages edited, deleted or reacted to during the gap: it is replaced by the newest
  // page (shown at the bottom) rather than patched.
  return fetchInto(id, () => api.get(msgsUrl(id, {})), (x, page) => ({
    ...tlMerge({ ...x, messages: [], loading: 'initial' }, page.messages, pageRange(page), 'newest').t,
    highlightId: null,
    seqAnchor: nextAnchor(),
    gen: nextAnchor(), // older/newer pages still on their way were for the old window
  }));
}

/** Loads the page around a message and highlights it (replies open their thread). */
export async function jumpToMessage(channelId, messageId) {
  let msg;
  let anchor;
  try {
    msg = await api.get(`/api/v1/messages/${encodeURIComponent(messageId)}`);
    anchor = msg.thread_root_id ? await api.get(`/api/v1/messages/${encodeURIComponent(msg.thread_root_id)}`) : msg;
  } catch (e) {
    showError(e);
    return loadLatest(channelId, { reposition: true });
  }
  const before = anchor.seq + 1;
  const after = anchor.seq;
  const ok = await fetchInto(
    channelId,
    () => Promise.all([api.get(msgsUrl(channelId, { before, limit: 25 })), api.get(msgsUrl(channelId, { after, limit: 25 }))]),
    (t, [older, newer]) => {
      const lo = pageRange(older, { before }).lo;
      const hi = pageRange(newer, { after }).hi;
      const { t: next } = tlMerge(t, [...older.messages, ...newer.messages], { lo, hi }, 'newest');
      return { ...next, highlightId: anchor.id, seqAnchor: nextAnchor() };
    },
  );
  if (!ok && own(getState().timelines, channelId) && own(getState().timelines, channelId).error) return loadLatest(channelId, { reposition: true });
  if (msg.thread_root_id) openThread(msg.thread_root_id, msg.id);
  return ok;
}

const readInFlight = new Map();
/** Moves the read marker to `seq` (only forwards) and clears the badges. */
export async function markRead(id, seq) {
  const ch = own(getState().channels, id);
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
