/**
 * sw.js: Hearth's service worker (root scope). It exists for Web Push: it shows each
 * pushed notification (the server's NotificationPayload, encrypted per RFC 8291 and
 * decrypted by the browser) and, on click, focuses an open Hearth tab on the channel or
 * opens one at /c/<channel>. It caches nothing: the app always loads fresh from the server.
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
      tag: p.id,
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
      for (const w of wins) {
        if (new URL(w.url).origin === self.location.origin) {
          await w.focus();
          if ('navigate' in w) return w.navigate(url);
          return undefined;
        }
      }
      return self.clients.openWindow(url);
    })(),
  );
});
