/**
 * channel.js: the open channel or DM: its header (name, topic, members, menu), the
 * message list, who is typing, and the composer. Files dropped anywhere on the view are
 * attached to the composer. A public channel the user has not joined is shown with a
 * Join button instead of the composer.
 */

import { html, useEffect, useRef, useState } from '../vendor/preact-htm.js';
import { useStore, setState, getState, channelLabel, isDm, userName, own } from '../lib/store.js';
import { openChannel, joinChannel, leaveChannel, showError, toast } from '../lib/actions.js';
import * as api from '../lib/api.js';
import { navigate } from '../lib/router.js';
import { MessageList } from './message-list.js';
import { Composer } from './composer.js';
import { PresenceDot, Icon } from './common.js';
import { renderMarkdown } from '../lib/markdown.js';
import { markdownCtx } from './message.js';

function TypingIndicator({ channelId }) {
  const typing = useStore((s) => own(s.typing, channelId));
  const [, tick] = useState(0);
  const now = Date.now();
  const who = Object.entries(typing || {})
    .filter(([, until]) => until > now)
    .map(([id]) => userName(getState(), id));
  useEffect(() => {
    if (!who.length) return undefined;
    const t = setTimeout(() => tick((n) => n + 1), 1000);
    return () => clearTimeout(t);
  });
  let text = '';
  if (who.length === 1) text = `${who[0]} is typing…`;
  else if (who.length === 2) text = `${who[0]} and ${who[1]} are typing…`;
  else if (who.length > 2) text = 'Several people are typing…';
  return html`<div class="typing-line" aria-live="polite">${text && html`<span data-testid="typing-indicator" class="typing"><span class="dots"><i></i><i></i><i></i></span>${text}</span>`}</div>`;
}

function ChannelMenu({ ch }) {
  const [open, setOpen] = useState(false);
  const leave = async () => {
    setOpen(false);
    try {
      await leaveChannel(ch.id);
      toast(`You left #${ch.name}.`);
      navigate('/');
    } catch (e) {
      showError(e);
    }
  };
  return html`
    <div class="menu-wrap">
      <button type="button" class="icon-btn" aria-label="Channel menu" title="Channel options" data-testid="channel-menu" aria-expanded=${open} onClick=${() => setOpen(!open)}>${Icon.more}</button>
      ${open &&
      html`<div class="menu-backdrop" onClick=${() => setOpen(false)}></div>
        <div class="menu menu-right" role="menu">
          <button type="button" role="menuitem" onClick=${() => {
            setOpen(false);
            setState({ panel: 'channel-notify', panelChannel: ch.id });
          }}>Notification settings</button>
          <button type="button" role="menuitem" onClick=${() => {
            setOpen(false);
            setState({ side: 'members', thread: null });
          }}>Members</button>
          ${!isDm(ch) && html`<hr /><button type="button" role="menuitem" class="danger" data-testid="leave-channel" onClick=${leave}>Leave channel</button>`}
        </div>`}
    </div>`;
}

function Header({ ch, label, preview }) {
  const me = useStore((s) => s.me);
  const others = isDm(ch) ? (ch.member_ids || []).filter((id) => id !== me.id) : [];
  return html`
    <header class="channel-header" data-testid="channel-header">
      <button type="button" class="icon-btn mobile-only" aria-label="Open sidebar" onClick=${() => setState({ sidebarOpen: true })}>${Icon.menu}</button>
      <div class="channel-title">
        <h1>
          ${isDm(ch) ? (others.length === 1 ? html`<${PresenceDot} userId=${others[0]} />` : null) : html`<span class="title-icon">${ch.kind === 'private' ? Icon.lock : Icon.hash}</span>`}
          <span class="title-text">${label}</span>
        </h1>
        ${ch.topic && html`<div class="channel-topic" title=${ch.topic}>${renderMarkdown(ch.topic, markdownCtx())}</div>`}
      </div>
      <div class="header-actions">
        <button type="button" class="icon-btn" aria-label="Members" title="Members" data-testid="members-button" onClick=${() => setState({ side: 'members', thread: null })}>${Icon.people}</button>
        ${!preview && html`<${ChannelMenu} ch=${ch} />`}
      </div>
    </header>`;
}

/** A channel the user can see but is not in (a public channel opened by link or search). */
function usePreview(channelId, known) {
  const [preview, setPreview] = useState(null);
  useEffect(() => {
    if (known) return;
    setPreview(null);
    api
      .get(`/api/v1/channels/${encodeURIComponent(channelId)}`)
      .then((r) => setPreview({ channel: { ...r.channel, last_read_seq: r.last_read_seq ?? r.channel.last_seq, unread_count: 0, mention_count: 0, member_ids: [] }, isMember: r.is_member }))
      .catch((e) => setPreview({ error: e }));
  }, [channelId, known]);
  return preview;
}

export function ChannelView({ route }) {
  const { channelId, messageId, key } = route;
  const ch = useStore((s) => own(s.channels, channelId));
  const loaded = useStore((s) => s.channelsLoaded);
  const timeline = useStore((s) => own(s.timelines, channelId));
  const pending = useStore((s) => own(s.pending, channelId));
  const users = useStore((s) => s.users);
  const meId = useStore((s) => s.me && s.me.id);
  const editing = useStore((s) => s.editing);
  const focused = useStore((s) => s.focused);
  const label = useStore((s) => (own(s.channels, channelId) ? channelLabel(s, own(s.channels, channelId)) : ''));
  const preview = usePreview(channelId, !!ch || !loaded);
  const attach = useRef(null);
  const [dragging, setDragging] = useState(false);
  const channel = ch || (preview && preview.channel);

  useEffect(() => {
    if (!loaded || (!ch && !(preview && preview.channel))) return;
    openChannel(channelId, messageId);
  }, [channelId, key, loaded, !!channel]);

  useEffect(() => {
    if (channel) document.title = `${isDm(channel) ? label : `#${channel.name}`} · Hearth`;
  }, [channel && channel.id, label]);

  if (!channel) {
    if (preview && preview.error) {
      return html`<section class="channel-view empty-view"><${Header} ch=${{ id: channelId, kind: 'public', name: 'unknown', topic: '' }} label="Not found" preview /><div class="empty-state"><h2>This conversation is not available</h2><p class="muted">${preview.error.message}</p></div></section>`;
    }
    return html`<section class="channel-view"><div class="list-status"><span class="spinner"></span>Loading…</div></section>`;
  }
  const isMember = !!ch;
  const lastOwn = () => {
    const t = own(getState().timelines, channelId);
    if (!t) return null;
    for (let i = t.messages.length - 1; i >= 0; i--) if (t.messages[i].user_id === meId && !t.messages[i].deleted) return t.messages[i];
    return null;
  };
  const name = isDm(channel) ? label : channel.name;
  const onDrop = (e) => {
    e.preventDefault();
    setDragging(false);
    const files = [...(e.dataTransfer ? e.dataTransfer.files : [])];
    if (files.length && attach.current) attach.current(files);
  };
  return html`
    <section class=${`channel-view${dragging ? ' dragging' : ''}`}
      onDragOver=${(e) => {
        if (!isMember || !e.dataTransfer || ![...e.dataTransfer.types].includes('Files')) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave=${(e) => e.currentTarget === e.target && setDragging(false)}
      onDrop=${onDrop}>
      <${Header} ch=${channel} label=${isDm(channel) ? label : channel.name} preview=${!isMember} />
      ${timeline
        ? html`<${MessageList} channelId=${channelId} timeline=${timeline} pending=${pending || []} users=${users} meId=${meId}
            editing=${editing} focused=${focused} channel=${ch} channelName=${isDm(channel) ? label : `#${channel.name}`} />`
        : html`<div class="message-scroll" data-testid="message-list"></div>`}
      ${isMember
        ? html`<${TypingIndicator} channelId=${channelId} />
          <${Composer} key=${channelId} channelId=${channelId} attachRef=${attach} lastOwn=${lastOwn} placeholder=${`Message ${isDm(channel) ? name : `#${name}`}`} />`
        : html`<div class="join-bar">
            <span>You are viewing <strong>#${channel.name}</strong>.</span>
            <button type="button" class="primary" onClick=${() => joinChannel(channelId).catch(showError)}>Join channel</button>
          </div>`}
      ${dragging && html`<div class="drop-hint">Drop files to share them in ${isDm(channel) ? name : `#${name}`}</div>`}
    </section>`;
}
