/**
 * router.js: client-side routes. The server answers every app path with index.html;
 * this maps the location to a route object in the store and moves between routes with
 * the History API.
 *
 * Routes: /signin, /create, /invite/<slug>#<code>, /c/<channel_id>[?m=<message_id>], /.
 */

import { setState } from './store.js';

/** The route for the current location (the default route when it cannot be decoded). */
export function parseLocation(loc = location) {
  try {
    return parse(loc);
  } catch {
    return { name: 'home' }; // e.g. a malformed %-escape: decodeURIComponent throws URIError
  }
}

function parse(loc) {
  const path = loc.pathname;
  if (path === '/signin') return { name: 'signin' };
  if (path === '/create') return { name: 'create' };
  let m = path.match(/^\/invite\/([^/]+)\/?$/);
  if (m) return { name: 'invite', slug: decodeURIComponent(m[1]), code: decodeURIComponent(loc.hash.replace(/^#/, '')) };
  m = path.match(/^\/c\/([^/]+)\/?$/);
  if (m) {
    const q = new URLSearchParams(loc.search);
    return { name: 'channel', channelId: decodeURIComponent(m[1]), messageId: q.get('m') || null, key: Date.now() };
  }
  return { name: 'home' };
}

/** Goes to `path` (pushing a history entry unless `replace`). */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else if (path !== location.pathname + location.search + location.hash) history.pushState(null, '', path);
  setState({ route: parseLocation() });
}

export const channelPath = (id, messageId) => `/c/${encodeURIComponent(id)}${messageId ? `?m=${encodeURIComponent(messageId)}` : ''}`;

export function startRouter() {
  addEventListener('popstate', () => setState({ route: parseLocation() }));
  setState({ route: parseLocation() });
}
