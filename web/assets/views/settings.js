/**
 * settings.js: the preferences panel (own profile and status, presence, theme,
 * account-wide notification preferences, browser notifications and Web Push) and the
 * per-channel notification dialog.
 */

import { html, useEffect, useState } from '../vendor/preact-htm.js';
import { useStore, setState, own } from '../lib/store.js';
import * as api from '../lib/api.js';
import { updateProfile, toast } from '../lib/actions.js';
import { setPresence } from '../lib/connection.js';
import { themeChoice, setTheme } from '../lib/theme.js';
import { notificationPermission, requestPermission, pushSupported, pushSubscribed, enablePush, disablePush } from '../lib/notify.js';
import { Modal, FormError } from './common.js';

const close = () => setState({ panel: null });

function ProfileSection() {
  const me = useStore((s) => s.me);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const onSubmit = async (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.currentTarget).entries());
    setBusy(true);
    setError(null);
    try {
      await updateProfile({ display_name: f.display_name.trim(), handle: f.handle.trim(), status_text: f.status_text, status_emoji: f.status_emoji.replace(/:/g, '').trim() });
      toast('Profile saved.');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <section class="settings-section">
      <h3>Profile</h3>
      <form class="stack" onSubmit=${onSubmit} novalidate>
        <label>Display name<input name="display_name" value=${me.display_name} /></label>
        <label>Handle<input name="handle" value=${me.handle} /></label>
        <div class="two">
          <label>Status emoji<input name="status_emoji" value=${me.status_emoji || ''} placeholder="e.g. palm_tree" /></label>
          <label>Status<input name="status_text" value=${me.status_text} placeholder="What's your status?" /></label>
        </div>
        <${FormError} error=${error} />
        <div class="row-end"><button type="submit" class="primary" disabled=${busy}>Save profile</button></div>
      </form>
    </section>`;
}

function PresenceSection() {
  const [away, setAway] = useState(localStorage.getItem('hearth.presence') === 'away');
  const change = (v) => {
    setAway(v);
    if (v) localStorage.setItem('hearth.presence', 'away');
    else localStorage.removeItem('hearth.presence');
    setPresence(v ? 'away' : 'auto');
  };
  return html`
    <section class="settings-section">
      <h3>Presence</h3>
      <div class="segmented" role="radiogroup" aria-label="Presence">
        <button type="button" role="radio" aria-checked=${!away} class=${!away ? 'on' : ''} onClick=${() => change(false)}>Automatic</button>
        <button type="button" role="radio" aria-checked=${away} class=${away ? 'on' : ''} onClick=${() => change(true)}>Away</button>
      </div>
    </section>`;
}

function ThemeSection() {
  const [choice, setChoice] = useState(themeChoice());
  const pick = (c) => {
    setTheme(c);
    setChoice(c);
  };
  return html`
    <section class="settings-section">
      <h3>Theme</h3>
      <div class="segmented" role="radiogroup" aria-label="Theme">
        ${['light', 'dark', 'system'].map(
          (c) => html`<button type="button" key=${c} role="radio" aria-checked=${choice === c} class=${choice === c ? 'on' : ''} data-theme-option=${c} onClick=${() => pick(c)}>
            ${c === 'system' ? 'System' : c === 'light' ? 'Light' : 'Dark'}</button>`,
        )}
      </div>
    </section>`;
}

function NotifySection() {
  const [prefs, setPrefs] = useState(null);
  const [error, setError] = useState(null);
  const [perm, setPerm] = useState(notificationPermission());
  const [push, setPush] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api.get('/api/v1/notifications/prefs').then(setPrefs, setError);
    pushSubscribed().then(setPush, () => {});
  }, []);
  const save = async (e) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const dnd = Number(f.get('dnd'));
    const body = {
      keywords: String(f.get('keywords')).split(',').map((k) => k.trim()).filter(Boolean),
      dnd_until: dnd > 0 ? new Date(Date.now() + dnd * 60000).toISOString() : dnd === 0 ? null : prefs.dnd_until,
      quiet_hours: f.get('quiet_start') && f.get('quiet_end') ? { start: f.get('quiet_start'), end: f.get('quiet_end') } : null,
      time_zone: String(f.get('time_zone')).trim() || 'UTC',
      thread_replies: f.get('thread_replies') === 'on',
      email: f.get('email') === 'on',
    };
    setError(null);
    try {
      setPrefs(await api.put('/api/v1/notifications/prefs', body));
      toast('Notification preferences saved.');
    } catch (err) {
      setError(err);
    }
  };
  const togglePush = async () => {
    setBusy(true);
    setError(null);
    try {
      if (push) await disablePush();
      else await enablePush();
      setPush(!push);
      setPerm(notificationPermission());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const dndActive = prefs && prefs.dnd_until && new Date(prefs.dnd_until) > new Date();
  return html`
    <section class="settings-section">
      <h3>Notifications</h3>
      <div class="stack">
        <div class="row">
          <span class="grow">Desktop notifications for mentions and DMs while Hearth is in the background: <strong>${perm}</strong></span>
          ${perm === 'default' && html`<button type="button" onClick=${async () => setPerm(await requestPermission())}>Allow</button>`}
        </div>
        ${pushSupported() &&
        html`<div class="row">
          <span class="grow">Push notifications to this browser, even when Hearth is closed: <strong>${push ? 'on' : 'off'}</strong></span>
          <button type="button" disabled=${busy} onClick=${togglePush}>${push ? 'Turn off' : 'Turn on'}</button>
        </div>`}
      </div>
      ${prefs &&
      html`<form class="stack" onSubmit=${save} novalidate>
        <label>Keywords that notify you (comma separated)<input name="keywords" value=${prefs.keywords.join(', ')} /></label>
        <label>Do not disturb ${dndActive ? html`<span class="muted">(until ${new Date(prefs.dnd_until).toLocaleString()})</span>` : ''}
          <select name="dnd">
            <option value="-1">${dndActive ? 'Keep as is' : 'Off'}</option>
            ${dndActive && html`<option value="0">Turn off</option>`}
            <option value="30">For 30 minutes</option><option value="60">For 1 hour</option><option value="240">For 4 hours</option><option value="1440">For 24 hours</option>
          </select>
        </label>
        <div class="two">
          <label>Quiet hours from<input name="quiet_start" type="time" value=${prefs.quiet_hours ? prefs.quiet_hours.start : ''} /></label>
          <label>to<input name="quiet_end" type="time" value=${prefs.quiet_hours ? prefs.quiet_hours.end : ''} /></label>
        </div>
        <label>Time zone<input name="time_zone" value=${prefs.time_zone === 'UTC' ? Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' : prefs.time_zone} /></label>
        <label class="check"><input type="checkbox" name="thread_replies" checked=${prefs.thread_replies} /> Notify me of replies in threads I'm in</label>
        <label class="check"><input type="checkbox" name="email" checked=${prefs.email} /> Email me about unread notifications</label>
        <div class="row-end"><button type="submit" class="primary">Save notification preferences</button></div>
      </form>`}
      <${FormError} error=${error} />
    </section>`;
}

export function SettingsPanel() {
  return html`
    <${Modal} title="Preferences" onClose=${close} testid="settings-panel" wide>
      <${ProfileSection} />
      <${PresenceSection} />
      <${ThemeSection} />
      <${NotifySection} />
    <//>`;
}

export function ChannelNotifyDialog({ channelId }) {
  const ch = useStore((s) => own(s.channels, channelId));
  const [settings, setSettings] = useState(null);
  const [error, setError] = useState(null);
  const url = `/api/v1/channels/${encodeURIComponent(channelId)}/notifications`;
  useEffect(() => {
    api.get(url).then(setSettings, setError);
  }, [channelId]);
  const save = async (e) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    try {
      await api.put(url, { level: f.get('level'), muted: f.get('muted') === 'on' });
      toast('Saved.');
      close();
    } catch (err) {
      setError(err);
    }
  };
  return html`
    <${Modal} title=${`Notifications${ch && ch.name ? ` for #${ch.name}` : ''}`} onClose=${close} testid="channel-notify-dialog">
      ${settings &&
      html`<form class="stack" onSubmit=${save}>
        <label>Notify me about
          <select name="level">
            <option value="default" selected=${settings.level === 'default'}>Default (DMs: everything; channels: mentions)</option>
            <option value="all" selected=${settings.level === 'all'}>All new messages</option>
            <option value="mentions" selected=${settings.level === 'mentions'}>Mentions only</option>
            <option value="nothing" selected=${settings.level === 'nothing'}>Nothing</option>
          </select>
        </label>
        <label class="check"><input type="checkbox" name="muted" checked=${settings.muted} /> Mute this conversation</label>
        <div class="row-end"><button type="button" onClick=${close}>Cancel</button><button type="submit" class="primary">Save</button></div>
      </form>`}
      <${FormError} error=${error} />
    <//>`;
}
