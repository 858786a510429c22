/**
 * notify.js: browser notifications. While the tab is hidden or the window has no focus, a
 * message that mentions the user (or any DM) shows a desktop notification through the
 * Notification API.
 * Web Push: registers /sw.js, subscribes with the server's VAPID key and registers the
 * subscription as a `webpush` target, so pushes arrive even with the tab closed.
 */

import * as api from './api.js';
import { getState, channelLabel, userName, own } from './store.js';
import { plainText } from './markdown.js';
import { navigate } from './router.js';

export const notificationsSupported = () => 'Notification' in window;

export function notificationPermission() {
  return notificationsSupported() ? Notification.permission : 'unsupported';
}

export async function requestPermission() {
  if (!notificationsSupported()) return 'unsupported';
  return Notification.requestPermission();
}

/**
 * Shows a desktop notification for `msg` when allowed and the user is not looking: the
 * tab is hidden, or the window is behind another one (no focus).
 */
export function notifyMessage(ch, msg) {
  const looking = !document.hidden && document.hasFocus();
  if (!notificationsSupported() || Notification.permission !== 'granted' || looking) return;
  const s = getState();
  const ctx = { userName: (id) => userName(s, id), channelName: (id) => own(s.channels, id) && channelLabel(s, own(s.channels, id)) };
  const where = ch.name ? `#${ch.name}` : channelLabel(s, ch);
  try {
    const n = new Notification(`${userName(s, msg.user_id)} in ${where}`, {
      body: plainText(msg.text, ctx).slice(0, 200) || 'Shared a file',
      tag: msg.id,
      icon: '/favicon.svg',
    });
    n.onclick = () => {
      window.focus();
      history.pushState(null, '', `/c/${encodeURIComponent(ch.id)}?m=${encodeURIComponent(msg.id)}`);
      dispatchEvent(new PopStateEvent('popstate'));
      n.close();
    };
  } catch {
    /* some browsers only allow notifications from a service worker */
  }
}

/**
 * Listens for the service worker's {type: 'open', url} (a clicked push notification) and
 * opens that path with the router; only same-origin app paths are followed.
 */
export function listenForServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('message', (e) => {
    const d = e.data;
    if (!d || d.type !== 'open' || typeof d.url !== 'string') return;
    let u;
    try {
      u = new URL(d.url, location.origin);
    } catch {
      return;
    }
    if (u.origin !== location.origin || u.pathname.startsWith('/api/')) return;
    window.focus();
    navigate(u.pathname + u.search);
  });
}

function urlBase64ToBytes(b64) {
  const pad = '='.repeat((4 - (b64.length % 4)) % 4);
  const raw = atob((b64 + pad).replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export const pushSupported = () => 'serviceWorker' in navigator && 'PushManager' in window;

/** Registers the service worker (harmless when push is never enabled). */
export function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return Promise.resolve(null);
  return navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => null);
}

/** Whether this browser already has a push subscription. */
export async function pushSubscribed() {
  if (!pushSupported()) return false;
  const reg = await navigator.serviceWorker.getRegistration('/');
  return !!(reg && (await reg.pushManager.getSubscription()));
}

/** Asks for permission, subscribes, and registers the subscription with the server. */
export async function enablePush() {
  if (!pushSupported()) throw new Error('This browser does not support Web Push.');
  const perm = await requestPermission();
  if (perm !== 'granted') throw new Error('Notifications are blocked for this site in the browser settings.');
  const reg = (await registerServiceWorker()) || (await navigator.serviceWorker.ready);
  const { public_key: key } = await api.get('/api/v1/notifications/vapid');
  let sub = await reg.pushManager.getSubscription();
  if (!sub) {
    try {
      sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: urlBase64ToBytes(key) });
    } catch (err) {
      // The browser's own message ("Registration failed - permission denied" when there is
      // no push service, e.g. a private window) does not say what failed.
      throw new Error(`This browser could not subscribe to push notifications (its push service refused: ${(err && err.message) || err}).`);
    }
  }
  const json = sub.toJSON();
  await api.post('/api/v1/notifications/targets', { kind: 'webpush', endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } });
}

/** Unsubscribes this browser and removes its target from the server. */
export async function disablePush() {
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = reg && (await reg.pushManager.getSubscription());
  if (!sub) return;
  try {
    const { targets } = await api.get('/api/v1/notifications/targets');
    for (const t of targets) if (t.endpoint === sub.endpoint) await api.del(`/api/v1/notifications/targets/${encodeURIComponent(t.id)}`);
  } finally {
    await sub.unsubscribe();
  }
}
