/**
 * app.js: the entry point. Applies the theme, starts the router, and either shows a
 * signed-out screen (/signin, /create, /invite/...) or bootstraps the app: GET
 * /api/v1/me (401 -> /signin), then the channel list over REST and the realtime
 * connection, which keeps it current from then on; the people directory follows the
 * first channel page.
 */

import { html, render } from './vendor/preact-htm.js';
import { useStore, getState } from './lib/store.js';
import { startRouter, navigate } from './lib/router.js';
import { initTheme } from './lib/theme.js';
import { setUnauthorizedHandler } from './lib/api.js';
import { loadMe, loadUsers, loadChannels, showError, firstPage } from './lib/actions.js';
import { startConnection } from './lib/connection.js';
import { registerServiceWorker, notificationPermission, listenForServiceWorker } from './lib/notify.js';
import { SignIn, CreateWorkspace, AcceptInvite } from './views/auth.js';
import { Shell } from './views/shell.js';

const AUTH_ROUTES = new Set(['signin', 'create', 'invite']);

function App() {
  const route = useStore((s) => s.route);
  const me = useStore((s) => s.me);
  if (route.name === 'signin') return html`<${SignIn} />`;
  if (route.name === 'create') return html`<${CreateWorkspace} />`;
  if (route.name === 'invite') return html`<${AcceptInvite} route=${route} />`;
  if (!me) return html`<div class="boot"><span class="spinner"></span>Loading Hearth…</div>`;
  return html`<${Shell} />`;
}

function toSignIn() {
  const r = getState().route;
  if (AUTH_ROUTES.has(r.name)) return;
  if (r.name === 'channel') sessionStorage.setItem('hearth.returnTo', location.pathname + location.search);
  navigate('/signin', { replace: true });
}

async function bootstrap() {
  try {
    await loadMe();
  } catch (e) {
    if (e.status === 401) toSignIn();
    else showError(e);
    if (e.status !== 401) setTimeout(bootstrap, 3000);
    return;
  }
  startConnection();
  loadChannels().catch(showError);
  // The people directory is not needed for the first screen (its authors are fetched
  // one by one): it loads once the first channel page is in, or after a moment.
  Promise.race([firstPage, new Promise((r) => setTimeout(r, 3000))])
    .then(() => loadUsers())
    .catch(showError);
  if (notificationPermission() === 'granted') registerServiceWorker();
}

initTheme();
startRouter();
listenForServiceWorker();
setUnauthorizedHandler(() => location.assign('/signin'));
render(html`<${App} />`, document.getElementById('app'));
if (!AUTH_ROUTES.has(getState().route.name)) bootstrap();
