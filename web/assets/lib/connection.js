/**
 * connection.js: ties the realtime socket to the store and to the browser.
 *
 * - Connection state goes to `state.conn` (shown by the shell).
 * - The first `hello` and every `resync_required` reload the channel list and the open
 *   channel's window (and the open thread's) over REST, so nothing stale survives a gap.
 * - Presence: subscribes to DM partners (and anyone a view asks for).
 * - Activity (at most once a minute, on input while focused) and focus changes are
 *   reported, so the server knows when to push to other devices.
 */

import { Realtime } from './realtime.js';
import { getState, setState, subscribe } from './store.js';
import { applyEvent, applyFrame } from './events.js';
import { loadChannels, refreshTimeline } from './actions.js';
import { refreshThread } from './threads.js';

let rt = null;
let lastActivity = 0;
const typingSent = new Map();
const extraPresence = new Set();
let presenceKey = '';

async function resync() {
  try {
    await loadChannels();
  } catch {
    return;
  }
  const s = getState();
  if (s.route.name === 'channel') refreshTimeline(s.route.channelId);
  if (s.thread) refreshThread();
}

/** The people whose presence the client shows: DM partners and any extras. */
function presenceTargets(s) {
  const ids = new Set(extraPresence);
  for (const c of Object.values(s.channels)) {
    if (c.kind === 'dm' || c.kind === 'group_dm') for (const id of c.member_ids || []) ids.add(id);
  }
  if (s.me) ids.delete(s.me.id);
  return [...ids].slice(0, 500).sort();
}

function syncPresence(force = false) {
  if (!rt || !rt.live) return;
  const ids = presenceTargets(getState());
  const key = ids.join(',');
  if (!force && key === presenceKey) return;
  presenceKey = key;
  rt.send({ op: 'presence_sub', user_ids: ids });
}

/** Also follow the presence of these people (e.g. the open profile card or members list). */
export function watchPresence(ids) {
  let changed = false;
  for (const id of ids) {
    if (!extraPresence.has(id)) {
      extraPresence.add(id);
      changed = true;
    }
  }
  if (changed) syncPresence();
}

function onInput() {
  if (!rt || !document.hasFocus()) return;
  const now = Date.now();
  if (now - lastActivity < 60000) return;
  if (rt.send({ op: 'activity' })) lastActivity = now;
}

function onFocusChange() {
  const focused = document.hasFocus() && !document.hidden;
  if (getState().focused !== focused) setState({ focused });
  if (rt) rt.send({ op: 'focus', focused });
  if (focused) onInput();
}

/** Tells the channel that the user is typing, at most every 3 s. */
export function sendTyping(channelId) {
  const now = Date.now();
  if (now - (typingSent.get(channelId) || 0) < 3000) return;
  if (rt && rt.send({ op: 'typing', channel_id: channelId })) typingSent.set(channelId, now);
}

/** The user's own dot: the server does not send one's own presence back. */
function showOwnPresence(p) {
  const me = getState().me;
  if (me) setState((s) => ({ ...s, presence: { ...s.presence, [me.id]: p } }));
}

export function setPresence(presence) {
  if (rt) rt.send({ op: 'set_presence', presence });
  showOwnPresence(presence === 'away' ? 'away' : 'active');
}

export function startConnection() {
  if (rt) return;
  rt = new Realtime({
    onState: (conn) => {
      if (getState().conn !== conn) setState({ conn });
      if (conn !== 'live') showOwnPresence('offline');
    },
    onHello: (hello, { resumed }) => {
      lastActivity = 0;
      const focused = document.hasFocus() && !document.hidden;
      rt.send({ op: 'focus', focused });
      if (focused) onInput();
      syncPresence(true);
      const pref = localStorage.getItem('hearth.presence');
      if (pref === 'away') rt.send({ op: 'set_presence', presence: 'away' });
      showOwnPresence(pref === 'away' ? 'away' : 'active');
      if (!resumed) resync();
    },
    onEvent: applyEvent,
    onFrame: applyFrame,
    onResync: resync,
    onAuthFailed: () => location.assign('/signin'),
  });
  rt.start();
  let lastChannels = null;
  subscribe((s) => {
    if (s.channels === lastChannels) return;
    lastChannels = s.channels;
    syncPresence();
  });
  for (const ev of ['keydown', 'pointerdown', 'wheel', 'touchstart']) addEventListener(ev, onInput, { passive: true, capture: true });
  addEventListener('focus', onFocusChange);
  addEventListener('blur', onFocusChange);
  document.addEventListener('visibilitychange', onFocusChange);
  addEventListener('online', () => rt.kick());
}
