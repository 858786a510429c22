/**
 * shell.js: the signed-in app's frame: top bar (search, connection state), sidebar, the
 * open conversation, the right-hand panel (thread, members or search), the dialogs and
 * toasts; plus the global keyboard shortcuts (Ctrl/Cmd+K switcher, Alt+Up/Down between
 * conversations, Escape closes panels).
 */

import { html, useEffect } from '../vendor/preact-htm.js';
import { useStore, getState, setState, isDm, channelLabel, own } from '../lib/store.js';
import { navigate, channelPath } from '../lib/router.js';
import { Sidebar } from './sidebar.js';
import { ChannelView } from './channel.js';
import { ThreadPanel } from './thread.js';
import { SearchBox, SearchPanel } from './search.js';
import { MembersPanel, ProfileCard } from './people.js';
import { SettingsPanel, ChannelNotifyDialog } from './settings.js';
import { QuickSwitcher } from './switcher.js';
import { NewChannelDialog, BrowseDialog, NewDmDialog, InviteDialog, ConfirmDelete, EmojiPicker } from './dialogs.js';
import { Icon } from './common.js';

const LAST_CHANNEL = 'hearth.lastChannel';

/** Conversations in sidebar order: channels by name, then DMs by recency. */
function sidebarOrder(s) {
  const all = Object.values(s.channels);
  const chans = all.filter((c) => !isDm(c)).sort((a, b) => (a.name || '').localeCompare(b.name || ''));
  const dms = all.filter(isDm).sort((a, b) => b.last_seq - a.last_seq || channelLabel(s, a).localeCompare(channelLabel(s, b)));
  return [...chans, ...dms];
}

function ConnectionState() {
  const conn = useStore((s) => s.conn);
  const label = conn === 'live' ? 'Connected' : conn === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return html`<div class=${`conn conn-${conn}`} data-testid="connection-state" data-state=${conn} role="status" title=${label}>
    <span class="conn-dot"></span><span class="conn-label">${label}</span>
  </div>`;
}

function Toast() {
  const toast = useStore((s) => s.toast);
  if (!toast) return null;
  return html`<div class=${`toast ${toast.kind}`} role=${toast.kind === 'error' ? 'alert' : 'status'} data-testid=${toast.kind === 'error' ? 'error-toast' : 'toast'}>
    <span>${toast.text}</span><button type="button" class="icon-btn small" aria-label="Dismiss" onClick=${() => setState({ toast: null })}>${Icon.close}</button>
  </div>`;
}

function Home() {
  const loaded = useStore((s) => s.channelsLoaded);
  const channels = useStore((s) => s.channels);
  useEffect(() => {
    if (!loaded) return;
    const last = localStorage.getItem(LAST_CHANNEL);
    const s = getState();
    const target = (last && own(channels, last)) || sidebarOrder(s)[0];
    if (target) navigate(channelPath(target.id), { replace: true });
  }, [loaded, channels]);
  if (!loaded) return html`<div class="list-status"><span class="spinner"></span>Loading…</div>`;
  return html`
    <div class="empty-state">
      <button type="button" class="icon-btn mobile-only" aria-label="Open sidebar" onClick=${() => setState({ sidebarOpen: true })}>${Icon.menu}</button>
      <h2>Welcome to Hearth</h2>
      <p class="muted">Create a channel for your team, or browse the ones that exist.</p>
      <div class="row-center">
        <button type="button" class="primary" onClick=${() => setState({ panel: 'new-channel' })}>Create a channel</button>
        <button type="button" onClick=${() => setState({ panel: 'browse' })}>Browse channels</button>
      </div>
    </div>`;
}

function Modals() {
  const panel = useStore((s) => s.panel);
  const panelChannel = useStore((s) => s.panelChannel);
  switch (panel) {
    case 'new-channel':
      return html`<${NewChannelDialog} />`;
    case 'browse':
      return html`<${BrowseDialog} />`;
    case 'new-dm':
      return html`<${NewDmDialog} />`;
    case 'invite':
      return html`<${InviteDialog} />`;
    case 'settings':
      return html`<${SettingsPanel} />`;
    case 'switcher':
      return html`<${QuickSwitcher} />`;
    case 'channel-notify':
      return html`<${ChannelNotifyDialog} channelId=${panelChannel} />`;
    default:
      return null;
  }
}

function onGlobalKey(e) {
  const s = getState();
  if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === 'k' || e.key === 'K')) {
    e.preventDefault();
    setState({ panel: s.panel === 'switcher' ? null : 'switcher' });
    return;
  }
  if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
    e.preventDefault();
    const order = sidebarOrder(s);
    if (!order.length) return;
    const cur = s.route.name === 'channel' ? order.findIndex((c) => c.id === s.route.channelId) : -1;
    const next = e.key === 'ArrowDown' ? (cur + 1) % order.length : (cur - 1 + order.length) % order.length;
    navigate(channelPath(order[next].id));
    return;
  }
  if (e.key === 'Escape' && !e.defaultPrevented) {
    if (s.panel || s.profile || s.picker || s.confirmDelete || s.editing) return; // handled where they live
    if (s.thread) setState({ thread: null });
    else if (s.side) setState({ side: null });
    else if (s.sidebarOpen) setState({ sidebarOpen: false });
  }
}

export function Shell() {
  const route = useStore((s) => s.route);
  const thread = useStore((s) => !!s.thread);
  const side = useStore((s) => s.side);
  const sidebarOpen = useStore((s) => s.sidebarOpen);

  useEffect(() => {
    addEventListener('keydown', onGlobalKey);
    return () => removeEventListener('keydown', onGlobalKey);
  }, []);
  useEffect(() => {
    if (route.name === 'channel') localStorage.setItem(LAST_CHANNEL, route.channelId);
    setState({ editing: null });
  }, [route.name === 'channel' && route.channelId]);

  const channelId = route.name === 'channel' ? route.channelId : null;
  let right = null;
  if (thread) right = html`<${ThreadPanel} />`;
  else if (side === 'members' && channelId) right = html`<${MembersPanel} channelId=${channelId} />`;
  else if (side === 'search') right = html`<${SearchPanel} />`;

  return html`
    <div class=${`app${right ? ' with-panel' : ''}`}>
      <header class="topbar">
        <button type="button" class="icon-btn mobile-only topbar-menu" aria-label="Open sidebar" onClick=${() => setState({ sidebarOpen: !sidebarOpen })}>${Icon.menu}</button>
        <${SearchBox} />
        <${ConnectionState} />
      </header>
      <div class="app-body">
        <${Sidebar} />
        ${sidebarOpen && html`<div class="scrim" onClick=${() => setState({ sidebarOpen: false })}></div>`}
        <main class="main">${channelId ? html`<${ChannelView} route=${route} />` : html`<${Home} />`}</main>
        ${right}
      </div>
      <${Modals} />
      <${ConfirmDelete} />
      <${ProfileCard} />
      <${EmojiPicker} />
      <${Toast} />
    </div>`;
}
