/**
 * events.js: applies the realtime stream to the store: durable events (messages,
 * reactions, channels, memberships, read markers, people) and the ephemeral frames
 * (typing, presence). Badges are kept live here; whatever cannot be derived exactly
 * from one event (a read marker that moved backwards) reloads the channel list.
 */

import { getState, setState, patchIn, mapMessage, isDm, mentionsMe, viewport, own } from './store.js';
import { withReaction, record } from './timeline.js';
import { settleMessage, applyMessage, refreshChannelsSoon, ensureUser } from './actions.js';
import { notifyMessage } from './notify.js';

/** Typing shows this long after the last `typing` frame unless the server says otherwise. */
const TYPING_MS = 5000;

function onMessageCreated(ev) {
  const msg = ev.message;
  ensureUser(msg.user_id);
  settleMessage(msg);
  const s = getState();
  const ch = own(s.channels, ev.channel_id);
  // The author stopped typing when the message arrived.
  const typing = own(s.typing, ev.channel_id);
  if (typing && own(typing, msg.user_id)) {
    const rest = { ...typing };
    delete rest[msg.user_id];
    setState((st) => ({ ...st, typing: { ...st.typing, [ev.channel_id]: rest } }));
  }
  if (!ch) {
    // A channel the list does not have yet: one just created, whose reload is pending or
    // was answered before this message. Its counts can only come from the server now.
    refreshChannelsSoon();
    return;
  }
  if (msg.thread_root_id) {
    if (msg.user_id !== s.me.id && mentionsMe(s, { kind: 'public' }, msg)) notifyMessage(ch, msg);
    return;
  }
  if (msg.user_id === s.me.id) {
    setState((st) => ({ ...st, channels: patchIn(st.channels, ch.id, (c) => ({ ...c, last_seq: Math.max(c.last_seq, msg.seq) })) }));
    return;
  }
  const mention = mentionsMe(s, ch, msg);
  // Seen already: the open channel, scrolled to the bottom, in a focused window (the
  // list moves the read marker itself).
  const seen = viewport.channelId === ch.id && viewport.atBottom && s.focused && !document.hidden;
  setState((st) => ({
    ...st,
    channels: patchIn(st.channels, ch.id, (c) =>
      msg.seq <= c.last_read_seq
        ? c
        : {
            ...c,
            last_seq: Math.max(c.last_seq, msg.seq),
            unread_count: c.unread_count + (seen ? 0 : 1),
            mention_count: c.mention_count + (mention && !seen ? 1 : 0),
          },
    ),
  }));
  if (mention) notifyMessage(ch, msg);
}

function onMessageUpdated(ev) {
  applyMessage(ev.message);
}

function onMessageDeleted(ev) {
  const msg = ev.message;
  const before = getState();
  const ch = own(before.channels, ev.channel_id);
  applyMessage(msg);
  // An unread message that goes away no longer counts.
  if (ch && !msg.thread_root_id && msg.user_id !== before.me.id && msg.seq > ch.last_read_seq) {
    const old = findMessage(before, ev.channel_id, msg.id);
    const wasMention = old ? mentionsMe(before, ch, old) : isDm(ch);
    setState((s) => ({
      ...s,
      channels: patchIn(s.channels, ch.id, (c) => ({
        ...c,
        unread_count: Math.max(0, c.unread_count - 1),
        mention_count: Math.max(0, c.mention_count - (wasMention ? 1 : 0)),
      })),
    }));
    if (!old) refreshChannelsSoon();
  }
}

function findMessage(s, channelId, id) {
  const t = own(s.timelines, channelId);
  return (t && t.messages.find((m) => m.id === id)) || null;
}

function onReaction(ev, added) {
  record({ type: 'reaction', channel_id: ev.channel_id, message_id: ev.message_id, emoji: ev.emoji, user_id: ev.user_id, added });
  setState((s) => mapMessage(s, ev.channel_id, ev.message_id, (m) => withReaction(m, ev.emoji, ev.user_id, added)));
}

function onChannelCreated(ev) {
  const s = getState();
  if (ev.member_ids.includes(s.me.id)) {
    for (const u of ev.member_ids) ensureUser(u);
    refreshChannelsSoon();
  }
}

function onChannelUpdated(ev) {
  setState((s) =>
    own(s.channels, ev.channel_id)
      ? { ...s, channels: patchIn(s.channels, ev.channel_id, (c) => ({ ...c, ...ev.channel, last_seq: Math.max(c.last_seq, ev.channel.last_seq) })) }
      : s,
  );
}

function onMemberJoined(ev) {
  ensureUser(ev.user_id);
  const s = getState();
  if (ev.user_id === s.me.id) refreshChannelsSoon();
  else if (own(s.channels, ev.channel_id) && isDm(own(s.channels, ev.channel_id))) refreshChannelsSoon();
}

function onMemberLeft(ev) {
  const s = getState();
  if (ev.user_id !== s.me.id) return;
  setState((st) => {
    const channels = { ...st.channels };
    delete channels[ev.channel_id];
    return { ...st, channels };
  });
}

function onReadMarker(ev) {
  const ch = own(getState().channels, ev.channel_id);
  if (!ch) return;
  if (ev.last_read_seq >= ch.last_seq) {
    setState((s) => ({ ...s, channels: patchIn(s.channels, ch.id, { last_read_seq: ev.last_read_seq, unread_count: 0, mention_count: 0 }) }));
  } else if (ev.last_read_seq !== ch.last_read_seq) {
    setState((s) => ({ ...s, channels: patchIn(s.channels, ch.id, { last_read_seq: ev.last_read_seq }) }));
    refreshChannelsSoon();
  }
}

function onUser(user) {
  setState((s) => ({
    ...s,
    users: { ...s.users, [user.id]: user },
    me: s.me && s.me.id === user.id ? user : s.me,
  }));
}

/** Applies one `event` frame (already deduplicated by seq). */
export function applyEvent(frame) {
  const ev = frame.event;
  switch (ev.kind) {
    case 'message.created':
      return onMessageCreated(ev);
    case 'message.updated':
      return onMessageUpdated(ev);
    case 'message.deleted':
      return onMessageDeleted(ev);
    case 'reaction.added':
      return onReaction(ev, true);
    case 'reaction.removed':
      return onReaction(ev, false);
    case 'channel.created':
      return onChannelCreated(ev);
    case 'channel.updated':
      return onChannelUpdated(ev);
    case 'member.joined':
      return onMemberJoined(ev);
    case 'member.left':
      return onMemberLeft(ev);
    case 'read_marker.updated':
      return onReadMarker(ev);
    case 'user.created':
    case 'user.updated':
      return onUser(ev.user);
    default:
      return undefined;
  }
}

/** Applies an ephemeral frame: typing, presence, errors. */
export function applyFrame(frame) {
  if (frame.type === 'typing') {
    const s = getState();
    if (s.me && frame.user_id === s.me.id) return;
    ensureUser(frame.user_id);
    const until = Date.now() + Math.max(TYPING_MS, frame.ttl_ms || 0);
    setState((st) => ({
      ...st,
      typing: { ...st.typing, [frame.channel_id]: { ...(own(st.typing, frame.channel_id) || {}), [frame.user_id]: until } },
    }));
  } else if (frame.type === 'presence') {
    setState((s) => ({ ...s, presence: { ...s.presence, [frame.user_id]: frame.presence } }));
  }
}
