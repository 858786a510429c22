/**
 * timeline.js: a channel's history window, and how REST pages and live changes merge
 * into it without losing, doubling or un-doing a message.
 *
 * A timeline holds at most `WINDOW_CAP` consecutive top-level messages (oldest first).
 * `hasOlder` / `hasNewer` say whether more exist beyond either end, so the window
 * *covers* the seq range [first, last] (open-ended at an end with nothing beyond).
 * A page covers the range it was asked for (e.g. `before=X` covers up to X-1, and down
 * to -Infinity when `has_more` is false). Merging a page that meets or overlaps the
 * window keeps both (by id, the fresher copy of a message wins); a page that does not
 * meet it replaces it.
 *
 * A page is read at one moment and applied later; whatever happened in between arrived
 * as events. `startRecording()` notes those events from the moment a request goes out,
 * and `tlReplay` applies them again to the merged window, so a message created, edited,
 * deleted or reacted to during the request is neither lost nor reverted.
 */

export const WINDOW_CAP = 400;
export const PAGE = 50;

let gens = 0;
/** A new, loading window; `gen` tells answers for an older opening apart. */
export function emptyTimeline(readMarker) {
  return { messages: [], hasOlder: false, hasNewer: false, loading: 'initial', error: null, readMarker, highlightId: null, seqAnchor: 0, gen: ++gens };
}

/** A fresh value for `seqAnchor` (a change makes the list reposition). */
export const nextAnchor = () => ++gens;

const time = (s) => (s ? Date.parse(s) || 0 : 0);

/**
 * Of two copies of one message, the newer: a deletion is final, then the later edit,
 * then the later reply. Ties go to `b` (the copy that arrived last).
 */
export function fresher(a, b) {
  if (!a) return b;
  if (!b || a === b) return a;
  if (!!a.deleted !== !!b.deleted) return a.deleted ? a : b;
  const ea = time(a.edited_at);
  const eb = time(b.edited_at);
  if (ea !== eb) return ea > eb ? a : b;
  const ra = time(a.last_reply_at);
  const rb = time(b.last_reply_at);
  if (ra !== rb) return ra > rb ? a : b;
  return b;
}

/** The union of two lists of messages by id (fresher copy), in seq order. */
export function mergeById(a, b) {
  const byId = new Map();
  for (const m of a) byId.set(m.id, m);
  for (const m of b) byId.set(m.id, fresher(byId.get(m.id), m));
  return [...byId.values()].sort((x, y) => x.seq - y.seq);
}

const topLevel = (msgs) => msgs.filter((m) => !m.thread_root_id);

/** The seq range the window holds completely, or null while it holds nothing yet. */
function coverage(t) {
  const n = t.messages.length;
  if (!n) return t.loading === 'initial' || t.hasOlder || t.hasNewer ? null : { lo: -Infinity, hi: Infinity };
  return { lo: t.hasOlder ? t.messages[0].seq : -Infinity, hi: t.hasNewer ? t.messages[n - 1].seq : Infinity };
}

/** The range a history page covers, from the request's cursor and the answer. */
export function pageRange(page, { before, after } = {}) {
  const msgs = page.messages;
  const first = msgs.length ? msgs[0].seq : null;
  const last = msgs.length ? msgs[msgs.length - 1].seq : null;
  if (after !== undefined) return { lo: after + 1, hi: page.has_more && last !== null ? last : Infinity };
  return { lo: page.has_more && first !== null ? first : -Infinity, hi: before !== undefined ? before - 1 : Infinity };
}

/**
 * Merges `messages`, which completely cover seqs lo..hi, into the window. Past the cap,
 * `keep` ('newest' or 'oldest') says which end survives. Returns {t, replaced}.
 */
export function tlMerge(t, messages, { lo, hi }, keep = 'newest') {
  const incoming = topLevel(messages);
  const c = coverage(t);
  const joined = !!c && lo <= c.hi + 1 && c.lo <= hi + 1;
  let list = joined ? mergeById(t.messages, incoming) : mergeById([], incoming);
  let hasOlder = (joined ? Math.min(lo, c.lo) : lo) > -Infinity;
  let hasNewer = (joined ? Math.max(hi, c.hi) : hi) < Infinity;
  if (list.length > WINDOW_CAP) {
    if (keep === 'newest') {
      list = list.slice(list.length - WINDOW_CAP);
      hasOlder = true;
    } else {
      list = list.slice(0, WINDOW_CAP);
      hasNewer = true;
    }
  }
  if (!list.length) hasOlder = hasNewer = false;
  return { t: { ...t, messages: list, hasOlder, hasNewer, loading: null, error: null }, replaced: !joined };
}

/** A live message: inserted in seq order when the window covers its seq. */
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

/** A changed message replaces its copy in the window unless that copy is newer. */
export function tlUpdate(t, msg) {
  const idx = t.messages.findIndex((m) => m.id === msg.id);
  if (idx < 0) return t;
  const next = fresher(t.messages[idx], msg);
  if (next === t.messages[idx]) return t;
  const messages = [...t.messages];
  messages[idx] = next;
  return { ...t, messages };
}

/** A reaction change applied to a message's reaction list (idempotent). */
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

/** One recorded change applied to a list of messages held by id (thread replies, root). */
export function replayOn(msg, ev) {
  if (!msg || (ev.message ? ev.message.id : ev.message_id) !== msg.id) return msg;
  if (ev.type === 'reaction') return withReaction(msg, ev.emoji, ev.user_id, ev.added);
  return fresher(msg, ev.message);
}

/** Applies recorded changes (in order) to a window. */
export function tlReplay(t, events) {
  let next = t;
  for (const ev of events) {
    if (ev.type === 'created') next = tlInsert(next, ev.message);
    else if (ev.type === 'updated') next = tlUpdate(next, ev.message);
    else if (ev.type === 'reaction') {
      const idx = next.messages.findIndex((m) => m.id === ev.message_id);
      if (idx < 0) continue;
      const m = withReaction(next.messages[idx], ev.emoji, ev.user_id, ev.added);
      if (m === next.messages[idx]) continue;
      const messages = [...next.messages];
      messages[idx] = m;
      next = { ...next, messages };
    }
  }
  return next;
}

// ---- recording changes while a request is out ----

const recorders = new Set();

/**
 * Starts noting message changes; returns {events, stop}. Call before the request goes
 * out and stop when its answer is applied.
 */
export function startRecording() {
  const events = [];
  recorders.add(events);
  return { events, stop: () => recorders.delete(events) };
}

/**
 * Notes one change: {type: 'created' | 'updated', message} or
 * {type: 'reaction', channel_id, message_id, emoji, user_id, added}.
 */
export function record(ev) {
  for (const r of recorders) r.push(ev);
}

/** The recorded changes of one channel. */
export const changesIn = (events, channelId) => events.filter((e) => (e.message ? e.message.channel_id : e.channel_id) === channelId);
