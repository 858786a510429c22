/**
 * threads.js: the open thread (`state.thread`): its root and a window of its replies,
 * loaded page by page.
 *
 * The API pages replies forwards only (`after=SEQ&limit=N`), so the window is the run
 * of replies after the cursor `from` (0 = from the first reply), at most THREAD_CAP of
 * them. Replies dropped off the top past the cap are remembered as {from, count}, so
 * scrolling back up fetches exactly those again. Live replies join the window only when
 * it reaches the newest reply (`!hasMore`). As for channels (timeline.js), changes that
 * arrive while a page is being fetched are recorded and applied again on top of it.
 */

import * as api from './api.js';
import { getState, setState } from './store.js';
import { mergeById, replayOn, startRecording, withReaction } from './timeline.js';
import { ensureUsers, dropSettledPending } from './actions.js';

export const THREAD_PAGE = 50;
export const THREAD_CAP = 150;

const repliesUrl = (rootId, after, limit) => `/api/v1/messages/${encodeURIComponent(rootId)}/replies${api.qs({ after, limit })}`;

let gens = 0;

function updateThread(gen, fn) {
  setState((s) => (s.thread && s.thread.gen === gen ? { ...s, thread: fn(s.thread) } : s));
}

/** A live (or replayed) reply: added when the window reaches the newest reply. */
export function threadInsert(th, msg) {
  if (msg.thread_root_id !== th.rootId) return th;
  const idx = th.replies.findIndex((m) => m.id === msg.id);
  if (idx >= 0) return threadUpdate(th, msg);
  if (th.hasMore || th.loading === 'initial' || msg.seq <= th.from) return th;
  return capped({ ...th, replies: mergeById(th.replies, [msg]) }, 'newest');
}

function threadUpdate(th, msg) {
  let next = th;
  if (th.root && th.root.id === msg.id) next = { ...next, root: replayOn(th.root, { type: 'updated', message: msg }) };
  const idx = th.replies.findIndex((m) => m.id === msg.id);
  if (idx >= 0) {
    const replies = [...th.replies];
    replies[idx] = replayOn(replies[idx], { type: 'updated', message: msg });
    next = { ...next, replies };
  }
  return next;
}

function replay(th, events) {
  let next = th;
  for (const ev of events) {
    if (ev.type === 'created') next = threadInsert(next, ev.message);
    else if (ev.type === 'updated') next = threadUpdate(next, ev.message);
    else if (ev.type === 'reaction') {
      const f = (m) => (m && m.id === ev.message_id ? withReaction(m, ev.emoji, ev.user_id, ev.added) : m);
      next = { ...next, root: f(next.root), replies: next.replies.map(f) };
    }
  }
  return next;
}

/** Keeps at most THREAD_CAP replies, dropping the oldest ('newest' kept) or the newest. */
function capped(th, keep) {
  const extra = th.replies.length - THREAD_CAP;
  if (extra <= 0) return th;
  if (keep === 'oldest') return { ...th, replies: th.replies.slice(0, THREAD_CAP), hasMore: true };
  return {
    ...th,
    replies: th.replies.slice(extra),
    from: th.replies[extra - 1].seq,
    dropped: [...th.dropped, { from: th.from, count: extra }],
  };
}

/** Fetches with recording and applies `merge(thread, answer)` plus the changes meanwhile. */
async function fetchInto(gen, request, merge) {
  const rec = startRecording();
  try {
    const answer = await request();
    rec.stop();
    updateThread(gen, (th) => replay(merge(th, answer), rec.events));
    const th = getState().thread;
    if (th && th.gen === gen) {
      ensureUsers([th.root && th.root.user_id, ...th.replies.map((m) => m.user_id)]);
      dropSettledPending(`thread:${th.rootId}`, th.replies);
    }
    return true;
  } catch (e) {
    rec.stop();
    updateThread(gen, (th) => ({ ...th, loading: null, error: e }));
    return false;
  } finally {
    refreshIfStale(gen);
  }
}

/** The thread (by gen) whose refresh after a realtime gap waits for its first replies. */
let staleGen = null;

function refreshIfStale(gen) {
  const th = getState().thread;
  if (staleGen !== gen || !th || th.gen !== gen || th.loading === 'initial') return;
  staleGen = null;
  refreshThread();
}

const appendPage = (th, page) => capped({ ...th, replies: mergeById(th.replies, page.messages), hasMore: page.has_more, loading: null, error: null }, 'newest');

/** Opens a thread at its first replies (or, for `highlightId`, at the page holding it). */
export async function openThread(rootId, highlightId = null) {
  const gen = ++gens;
  setState((s) => ({
    ...s,
    side: null,
    thread: { rootId, root: null, replies: [], from: 0, dropped: [], hasMore: false, loading: 'initial', error: null, highlightId, gen, anchor: gen },
  }));
  const ok = await fetchInto(
    gen,
    () => Promise.all([api.get(`/api/v1/messages/${encodeURIComponent(rootId)}`), api.get(repliesUrl(rootId, 0, THREAD_PAGE))]),
    (th, [root, page]) => appendPage({ ...th, root }, page),
  );
  // A highlighted reply further on: page forwards to it (the window stays capped).
  for (let i = 0; ok && highlightId && i < 50; i++) {
    const th = getState().thread;
    if (!th || th.gen !== gen || !th.hasMore || th.replies.some((m) => m.id === highlightId)) break;
    if (!(await loadMoreReplies(200))) break;
  }
  updateThread(gen, (th) => ({ ...th, anchor: ++gens }));
}

/** The next replies after the window. */
export async function loadMoreReplies(limit = THREAD_PAGE) {
  const th = getState().thread;
  if (!th || th.loading || !th.hasMore) return false;
  const after = th.replies.length ? th.replies[th.replies.length - 1].seq : th.from;
  updateThread(th.gen, (x) => ({ ...x, loading: 'more' }));
  return fetchInto(th.gen, () => api.get(repliesUrl(th.rootId, after, limit)), appendPage);
}

/** The replies dropped off the top of the window, again. */
export async function loadEarlierReplies() {
  const th = getState().thread;
  if (!th || th.loading || !th.dropped.length) return false;
  const { from, count } = th.dropped[th.dropped.length - 1];
  updateThread(th.gen, (x) => ({ ...x, loading: 'earlier' }));
  return fetchInto(th.gen, () => api.get(repliesUrl(th.rootId, from, count)), (x, page) =>
    capped({ ...x, replies: mergeById(x.replies, page.messages), from, dropped: x.dropped.slice(0, -1), loading: null, error: null }, 'oldest'),
  );
}

/**
 * Pages to the newest reply (before the user's own reply is shown there). The walk is
 * done off-screen and the window replaced once, so the panel does not page both ways.
 */
export async function loadRepliesToEnd() {
  for (let i = 0; i < 50 && getState().thread && getState().thread.loading; i++) await new Promise((r) => setTimeout(r, 100));
  const th0 = getState().thread;
  if (!th0 || th0.loading || !th0.hasMore) return;
  updateThread(th0.gen, (x) => ({ ...x, loading: 'more' }));
  await fetchInto(
    th0.gen,
    async () => {
      let th = th0;
      for (let i = 0; i < 100 && th.hasMore; i++) {
        const after = th.replies.length ? th.replies[th.replies.length - 1].seq : th.from;
        th = appendPage(th, await api.get(repliesUrl(th0.rootId, after, 200)));
      }
      return th;
    },
    (cur, walked) => ({ ...walked, root: cur.root, highlightId: null, anchor: ++gens, loading: null }),
  );
}

/** After a realtime gap: the root and the window's replies again (and any new ones). */
export function refreshThread() {
  const th = getState().thread;
  if (!th) return undefined;
  if (th.loading === 'initial') {
    staleGen = th.gen; // refreshed once the first replies are in
    return undefined;
  }
  const limit = Math.min(200, Math.max(THREAD_PAGE, th.replies.length + 1));
  return fetchInto(
    th.gen,
    () => Promise.all([api.get(`/api/v1/messages/${encodeURIComponent(th.rootId)}`), api.get(repliesUrl(th.rootId, th.from, limit))]),
    (x, [root, page]) => appendPage({ ...x, root }, page),
  );
}

export const closeThread = () => setState({ thread: null });
