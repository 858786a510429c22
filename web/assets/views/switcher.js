/**
 * switcher.js: the quick switcher (Ctrl+K / Cmd+K): type part of a channel or person's
 * name, arrows to choose, Enter opens the first (or chosen) match. People without a DM
 * yet open one.
 */

import { html, useState } from '../vendor/preact-htm.js';
import { useStore, setState, channelLabel, isDm } from '../lib/store.js';
import { navigate, channelPath } from '../lib/router.js';
import { openDm, showError } from '../lib/actions.js';
import { Modal, Icon, Avatar } from './common.js';

function score(label, q) {
  const l = label.toLowerCase();
  if (!q) return 1;
  if (l.startsWith(q)) return 3;
  if (l.split(/[\s,_-]+/).some((w) => w.startsWith(q))) return 2;
  return l.includes(q) ? 1 : 0;
}

export function QuickSwitcher() {
  const s = useStore((st) => st);
  const [q, setQ] = useState('');
  const [index, setIndex] = useState(0);
  const close = () => setState({ panel: null });
  const query = q.trim().toLowerCase().replace(/^[#@]/, '');
  const dmPartners = new Set();
  const items = [];
  for (const c of Object.values(s.channels)) {
    const label = channelLabel(s, c);
    const sc = score(label, query);
    if (sc) items.push({ key: c.id, label: isDm(c) ? label : `#${label}`, sc: sc + c.unread_count / 1000 + c.last_seq / 1e15, channel: c });
    if (c.kind === 'dm') for (const id of c.member_ids || []) dmPartners.add(id);
  }
  if (query) {
    for (const u of Object.values(s.users)) {
      if (u.id === s.me.id || dmPartners.has(u.id) || u.deactivated) continue;
      const sc = Math.max(score(u.display_name, query), score(u.handle, query));
      if (sc) items.push({ key: u.id, label: u.display_name, detail: `@${u.handle}`, sc: sc - 0.5, user: u });
    }
  }
  items.sort((a, b) => b.sc - a.sc || a.label.localeCompare(b.label));
  const shown = items.slice(0, 12);
  const open = async (it) => {
    if (!it) return;
    close();
    if (it.channel) navigate(channelPath(it.channel.id));
    else {
      try {
        const ch = await openDm([it.user.id]);
        navigate(channelPath(ch.id));
      } catch (e) {
        showError(e);
      }
    }
  };
  return html`
    <${Modal} title="Jump to…" onClose=${close} testid="quick-switcher">
      <input class="filter" placeholder="Channel or person" value=${q} aria-label="Jump to a conversation"
        onInput=${(e) => {
          setQ(e.currentTarget.value);
          setIndex(0);
        }}
        onKeyDown=${(e) => {
          if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
            e.preventDefault();
            const n = shown.length || 1;
            setIndex((i) => (i + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
          } else if (e.key === 'Enter') {
            e.preventDefault();
            open(shown[Math.min(index, shown.length - 1)]);
          }
        }} />
      <ul class="pick-list switcher-list" role="listbox">
        ${shown.map(
          (it, i) => html`<li key=${it.key} role="option" aria-selected=${i === index}>
            <button type="button" class=${`switch-item${i === index ? ' active' : ''}`} onClick=${() => open(it)}>
              ${it.user ? html`<${Avatar} user=${it.user} size=${20} />` : html`<span class="channel-icon">${it.channel.kind === 'private' ? Icon.lock : isDm(it.channel) ? '@' : Icon.hash}</span>`}
              <span class="grow">${it.label}${it.detail && html` <span class="muted">${it.detail}</span>`}</span>
              ${it.channel && it.channel.unread_count > 0 && html`<span class="badge unread">${it.channel.unread_count}</span>`}
            </button>
          </li>`,
        )}
        ${!shown.length && html`<li class="muted">Nothing matches.</li>`}
      </ul>
    <//>`;
}
