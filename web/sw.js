/**
 * sw.js: Hearth's service worker (root scope). It exists for Web Push: it shows each
 * pushed notification (the server's NotificationPayload, encrypted per RFC 8291 and
 * decrypted by the browser) and, on click, focuses an open Hearth tab and asks its router
 * to open the channel (a message {type: 'open', url}), or opens a tab at /c/<channel>. It caches nothing: the app always loads fresh from the server.
 */

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

function titleFor(p) {
  const who = (p.sender && (p.sender.display_name || p.sender.handle)) || 'Someone';
  const where = p.channel && p.channel.name ? ` in #${p.channel.name}` : '';
  return `${who}${where}`;
}

self.addEventListener('push', (event) => {
  let p = null;
  try {
    p = event.data ? event.data.json() : null;
  } catch {
    p = null;
  }
  if (!p || !p.channel) {
    event.waitUntil(self.registration.showNotification('Hearth', { body: 'You have a new notification.', icon: '/favicon.svg' }));
    return;
  }
  const url = `/c/${encodeURIComponent(p.channel.id)}${p.message && p.message.id ? `?m=${encodeURIComponent(p.message.id)}` : ''}`;
  event.waitUntil(
    self.registration.showNotification(titleFor(p), {
      body: (p.message && p.message.excerpt) || '',
      // The message id, as the tab's own notification uses: the browser shows one.
      tag: (p.message && p.message.id) || p.id,
      icon: '/favicon.svg',
      data: { url },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || '/';
  event.waitUntil(
    (async () => {
      const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const win = wins.find((w) => new URL(w.url).origin === self.location.origin);
      if (win) {
        // The tab's router moves to the channel (navigate() fails for uncontrolled tabs
        // and would reload the app).
        try {
          await win.focus();
        } catch {
          /* focusing may be refused; the message still moves the tab */
        }
        win.postMessage({ type: 'open', url });
        return undefined;
      }
      return self.clients.openWindow(url);
    })(),
  );
});
