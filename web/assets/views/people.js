/**
 * people.js: the channel's members panel and a person's profile card (with a button to
 * message them). Presence shown here is subscribed to while it is on screen.
 */

import { html, useEffect, useState } from '../vendor/preact-htm.js';
import { useStore, setState, own } from '../lib/store.js';
import * as api from '../lib/api.js';
import { openDm, showError } from '../lib/actions.js';
import { navigate, channelPath } from '../lib/router.js';
import { watchPresence } from '../lib/connection.js';
import { emojiFor } from '../lib/emoji.js';
import { Avatar, PresenceDot, Icon, Modal } from './common.js';

export function MembersPanel({ channelId }) {
  const [members, setMembers] = useState(null);
  const [error, setError] = useState(null);
  const users = useStore((s) => s.users);
  useEffect(() => {
    let live = true;
    setMembers(null);
    (async () => {
      let all = [];
      let cursor;
      for (let i = 0; i < 20; i++) {
        const r = await api.get(`/api/v1/channels/${encodeURIComponent(channelId)}/members${api.qs({ cursor, limit: 200 })}`);
        all = all.concat(r.members);
        if (!r.next_cursor) break;
        cursor = r.next_cursor;
      }
      if (live) {
        setMembers(all);
        watchPresence(all.map((m) => m.user.id));
      }
    })().catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [channelId]);
  return html`
    <aside class="side-panel" data-testid="members-panel" aria-label="Members">
      <div class="panel-head">
        <div><h2>Members</h2>${members && html`<span class="muted">${members.length}</span>`}</div>
        <button type="button" class="icon-btn" aria-label="Close members" onClick=${() => setState({ side: null })}>${Icon.close}</button>
      </div>
      <div class="panel-scroll">
        ${error && html`<div class="list-status error" role="alert">${error.message}</div>`}
        ${!members && !error && html`<div class="list-status"><span class="spinner"></span>Loading…</div>`}
        ${(members || []).map((m) => {
          const u = own(users, m.user.id) || m.user;
          return html`<button type="button" key=${u.id} class="member" data-testid="member" data-user-id=${u.id} onClick=${() => setState({ profile: u.id })}>
            <${Avatar} user=${u} size=${28} />
            <span class="grow"><strong>${u.display_name}</strong> <span class="muted">@${u.handle}</span></span>
            ${m.role === 'admin' && html`<span class="tag">admin</span>`}
            <${PresenceDot} userId=${u.id} />
          </button>`;
        })}
      </div>
    </aside>`;
}

export function ProfileCard() {
  const id = useStore((s) => s.profile);
  const user = useStore((s) => own(s.users, s.profile));
  const meId = useStore((s) => s.me && s.me.id);
  const presence = useStore((s) => own(s.presence, s.profile));
  useEffect(() => {
    if (id) watchPresence([id]);
  }, [id]);
  if (!id) return null;
  const close = () => setState({ profile: null });
  const message = async () => {
    try {
      const ch = await openDm(id === meId ? [] : [id]);
      close();
      navigate(channelPath(ch.id));
    } catch (e) {
      showError(e);
    }
  };
  return html`
    <${Modal} title="Profile" onClose=${close} testid="profile-card">
      ${!user
        ? html`<p class="muted">This person is not known.</p>`
        : html`<div class="profile">
            <${Avatar} user=${user} size=${72} />
            <div class="grow">
              <h3>${user.display_name}</h3>
              <div class="muted">@${user.handle} · ${user.role}</div>
              ${(user.status_text || user.status_emoji) && html`<div class="status">${emojiFor(user.status_emoji || '') || ''} ${user.status_text}</div>`}
              <div class="presence-line"><${PresenceDot} userId=${user.id} /> ${id === meId ? 'You' : presence || 'offline'}</div>
              ${user.deactivated && html`<div class="tag">deactivated</div>`}
              <div class="muted small">${user.email}</div>
            </div>
          </div>
          <div class="row-end">
            ${id === meId
              ? html`<button type="button" onClick=${() => setState({ profile: null, panel: 'settings' })}>Edit profile</button>`
              : null}
            <button type="button" class="primary" onClick=${message}>${id === meId ? 'Notes to self' : 'Message'}</button>
          </div>`}
    <//>`;
}
