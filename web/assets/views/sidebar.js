/**
 * sidebar.js: the workspace's navigation: channels, then DMs and group DMs, each with
 * its live unread and mention badges (and a presence dot for DMs), plus the buttons to
 * create, browse, message people and invite. On a phone it slides over the content.
 */

import { html, useState } from '../vendor/preact-htm.js';
import { useStore, setState, getState, channelLabel, isDm } from '../lib/store.js';
import { navigate, channelPath } from '../lib/router.js';
import { signOut } from '../lib/actions.js';
import { toggleTheme, effectiveTheme } from '../lib/theme.js';
import { Avatar, PresenceDot, Icon, memo } from './common.js';

const ChannelItem = memo(function ChannelItem({ ch, label, active, meId }) {
  const dm = isDm(ch);
  const others = dm ? (ch.member_ids || []).filter((id) => id !== meId) : [];
  const unread = ch.unread_count > 0;
  const icon = dm
    ? others.length === 1
      ? html`<${PresenceDot} userId=${others[0]} />`
      : others.length === 0
        ? html`<${PresenceDot} userId=${meId} />`
        : html`<span class="group-count">${others.length}</span>`
    : ch.kind === 'private'
      ? Icon.lock
      : Icon.hash;
  return html`
    <a
      href=${channelPath(ch.id)}
      class=${`channel-item${active ? ' active' : ''}${unread ? ' unread' : ''}`}
      data-testid="channel-item"
      data-channel-id=${ch.id}
      aria-current=${active ? 'page' : undefined}
      onClick=${(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey) return;
        e.preventDefault();
        navigate(channelPath(ch.id));
        setState({ sidebarOpen: false });
      }}
    >
      <span class="channel-icon">${icon}</span>
      <span class="channel-name">${label}</span>
      ${ch.mention_count > 0 && html`<span class="badge mention" data-testid="mention-badge" title="Mentions">${ch.mention_count}</span>`}
      ${unread && html`<span class="badge unread" data-testid="unread-badge" title="Unread messages">${ch.unread_count}</span>`}
    </a>`;
});

function Section({ title, children, actions }) {
  const [open, setOpen] = useState(true);
  return html`
    <section class="side-section">
      <div class="side-section-head">
        <button type="button" class="side-toggle" aria-expanded=${open} onClick=${() => setOpen(!open)}>
          <span class=${`caret${open ? '' : ' closed'}`}>${Icon.down}</span>${title}
        </button>
        ${actions}
      </div>
      ${open && children}
    </section>`;
}

function UserMenu() {
  const me = useStore((s) => s.me);
  const [open, setOpen] = useState(false);
  if (!me) return null;
  const pick = (fn) => () => {
    setOpen(false);
    fn();
  };
  return html`
    <div class="user-menu-wrap">
      <button type="button" class="user-menu-btn" data-testid="user-menu" aria-haspopup="menu" aria-expanded=${open} onClick=${() => setOpen(!open)} title="You">
        <${Avatar} user=${me} size=${28} />
        <span class="me-presence"><${PresenceDot} userId=${me.id} /></span>
      </button>
      ${open &&
      html`
        <div class="menu-backdrop" onClick=${() => setOpen(false)}></div>
        <div class="menu user-menu" role="menu">
          <div class="menu-head"><strong>${me.display_name}</strong><span class="muted">@${me.handle}</span></div>
          <button type="button" role="menuitem" onClick=${pick(() => setState({ profile: me.id }))}>View profile</button>
          <button type="button" role="menuitem" onClick=${pick(() => setState({ panel: 'settings' }))}>Preferences</button>
          <button type="button" role="menuitem" onClick=${pick(toggleTheme)}>${effectiveTheme() === 'dark' ? 'Light theme' : 'Dark theme'}</button>
          <hr />
          <button type="button" role="menuitem" class="danger" data-testid="sign-out" onClick=${pick(signOut)}>Sign out</button>
        </div>`}
    </div>`;
}

export function Sidebar() {
  // Only what the sidebar shows: not every state change (a scroll, a typing frame).
  const channels = useStore((st) => st.channels);
  const me = useStore((st) => st.me);
  const workspace = useStore((st) => st.workspace);
  const route = useStore((st) => st.route);
  const sidebarOpen = useStore((st) => st.sidebarOpen);
  useStore((st) => st.users); // DM labels are people's names
  const s = getState();
  const activeId = route.name === 'channel' ? route.channelId : null;
  const all = Object.values(channels);
  const chans = all.filter((c) => !isDm(c)).sort((a, b) => (a.name || '').localeCompare(b.name || ''));
  const dms = all.filter(isDm).sort((a, b) => b.last_seq - a.last_seq || channelLabel(s, a).localeCompare(channelLabel(s, b)));
  const item = (c) => html`<${ChannelItem} key=${c.id} ch=${c} label=${channelLabel(s, c)} active=${c.id === activeId} meId=${me && me.id} />`;
  const add = (panel, label, testid) =>
    html`<button type="button" class="icon-btn small" title=${label} aria-label=${label} data-testid=${testid} onClick=${() => setState({ panel })}>${Icon.plus}</button>`;
  return html`
    <nav class=${`sidebar${sidebarOpen ? ' open' : ''}`} data-testid="sidebar" aria-label="Channels">
      <div class="side-head">
        <div class="ws-name" title=${workspace ? workspace.slug : ''}>${workspace ? workspace.name : 'Hearth'}</div>
        <button type="button" class="icon-btn" title="Preferences" aria-label="Preferences" data-testid="settings-button" onClick=${() => setState({ panel: 'settings' })}>${Icon.gear}</button>
        <${UserMenu} />
      </div>
      <div class="side-scroll">
        <div class="side-actions">
          <button type="button" class="side-action" data-testid="browse-channels" onClick=${() => setState({ panel: 'browse' })}>${Icon.search}<span>Browse channels</span></button>
          <button type="button" class="side-action" data-testid="invite-button" onClick=${() => setState({ panel: 'invite' })}>${Icon.link}<span>Invite people</span></button>
        </div>
        <${Section} title="Channels" actions=${add('new-channel', 'Create a channel', 'new-channel')}>
          ${chans.map(item)}
          ${!chans.length && html`<p class="side-empty">No channels yet.</p>`}
        <//>
        <${Section} title="Direct messages" actions=${add('new-dm', 'New message', 'new-dm')}>
          ${dms.map(item)}
          ${!dms.length && html`<p class="side-empty">No conversations yet.</p>`}
        <//>
      </div>
    </nav>`;
}
