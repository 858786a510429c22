// The app is served with its CSP and no inline script, loads without a console error,
// and a workspace can be created and signed into through the UI.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, screenshot, signIn, waitLive } from './lib/browser.mjs';
import { createWorkspace, uniq, PASSWORD } from './lib/api.mjs';
import { tid, eventually } from './lib/ui.mjs';

const h = await harness();
after(() => h.close());

const CSP_DIRECTIVES = {
  'default-src': "'self'",
  'script-src': "'self'",
  'style-src': "'self'",
  'img-src': "'self' blob: data:",
  'connect-src': "'self'",
  'worker-src': "'self'",
  'object-src': "'none'",
  'base-uri': "'none'",
  'frame-ancestors': "'none'",
  'form-action': "'self'",
};

function parseCsp(header) {
  const out = {};
  for (const part of header.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out[name.toLowerCase()] = values.join(' ');
  }
  return out;
}

function assertCsp(res, what) {
  const header = res.headers.get('content-security-policy');
  assert.ok(header, `${what} has a Content-Security-Policy header`);
  const csp = parseCsp(header);
  for (const [directive, value] of Object.entries(CSP_DIRECTIVES)) {
    assert.equal(csp[directive], value, `${what}: CSP ${directive} is the contract's (${header})`);
  }
  // Extra directives may only restrict further: nothing unsafe or wildcard anywhere.
  assert.doesNotMatch(header, /unsafe-|\*|\bhttp:|\bhttps:/, `${what}: nothing loosens the CSP`);
}

h.test('GET / carries the CSP header and its HTML has no inline script or style', async () => {
  for (const route of ['/', '/signin', '/c/nonexistent']) {
    const res = await fetch(h.url + route);
    assert.equal(res.status, 200, `GET ${route}`);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/, `GET ${route} is HTML`);
    assertCsp(res, `GET ${route}`);
    const html = await res.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    assert.ok(scripts.length > 0, 'index.html loads a script');
    for (const [, attrs, body] of scripts) {
      assert.match(attrs, /\bsrc\s*=/, `every <script> has a src (found <script${attrs}>)`);
      assert.equal(body.trim(), '', 'no inline script body');
    }
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no inline event handler attributes');
    assert.doesNotMatch(html, /\sstyle\s*=/i, 'no inline style attributes');
    assert.doesNotMatch(html, /<style\b/i, 'no inline <style> element');
    // Every script and stylesheet it references is served with the CSP too.
    const refs = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]+)"/gi)].map((m) => m[1]);
    for (const ref of refs.filter((r) => r.startsWith('/') && !r.startsWith('//'))) {
      const asset = await fetch(h.url + ref);
      assert.equal(asset.status, 200, `GET ${ref}`);
      assertCsp(asset, `GET ${ref}`);
      await asset.arrayBuffer();
    }
  }
});

h.test('the API stays JSON: unknown /api/ paths are not the app', async () => {
  const res = await fetch(h.url + '/api/v1/nope');
  assert.equal(res.status, 404);
  assert.doesNotMatch(res.headers.get('content-type') ?? '', /text\/html/);
  const health = await fetch(h.url + '/healthz');
  assert.equal(health.status, 200);
});

h.test('the app loads with no console error and sends a stranger to the sign-in form', async (s) => {
  const page = await s.open({ label: 'visitor' });
  await page.goto('/');
  await page.waitForURL(/\/signin$/);
  await page.locator(`form${tid('login-form')}`).waitFor();
  await screenshot(page, 'signin');
});

h.test('a workspace is created through the UI, and the session survives a reload', async (s) => {
  const page = await s.open({ label: 'founder' });
  const slug = uniq('ui');
  await page.goto('/create');
  const form = page.locator(`form${tid('create-workspace-form')}`);
  await form.locator('input[name=name]').fill('Made In The Browser');
  await form.locator('input[name=slug]').fill(slug);
  await form.locator('input[name=display_name]').fill('Fay Founder');
  await form.locator('input[name=email]').fill(`fay@${slug}.test`);
  await form.locator('input[name=password]').fill(PASSWORD);
  await screenshot(page, 'create-workspace');
  await form.locator('button[type=submit]').click();
  await waitLive(page);
  await page.locator(tid('sidebar')).waitFor();

  // The session is the HttpOnly cookie; the CSRF cookie is readable by the page.
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'hearth_session');
  const csrf = cookies.find((c) => c.name === 'hearth_csrf');
  assert.ok(session, 'hearth_session cookie set');
  assert.equal(session.httpOnly, true, 'hearth_session is HttpOnly');
  assert.equal(session.sameSite, 'Lax');
  assert.ok(csrf, 'hearth_csrf cookie set');
  assert.equal(csrf.httpOnly, false, 'hearth_csrf is readable by JS');
  assert.equal(csrf.sameSite, 'Strict');
  // No bearer token kept where a script could read it.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  assert.doesNotMatch(stored, new RegExp(session.value), 'the session token is not in web storage');

  await page.reload();
  await waitLive(page);
  const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
  assert.equal(me.workspace.slug, slug);
  assert.equal(me.user.display_name, 'Fay Founder');
});

h.test('a wrong password shows the server error; sign-in and sign-out work', async (s) => {
  const owner = await createWorkspace(h.url);
  const page = await s.open({ label: 'owner' });
  await page.goto('/signin');
  const form = page.locator(`form${tid('login-form')}`);
  await form.locator('input[name=workspace]').fill(owner.workspace.slug);
  await form.locator('input[name=email]').fill(owner.email);
  await form.locator('input[name=password]').fill('not the password');
  // The failed login's 401 is expected here.
  page.guard.tolerate({ text: /status of 401/, url: /\/api\/v1\/auth\/login/ });
  await form.locator('button[type=submit]').click();
  await page.locator(tid('auth-error')).waitFor();
  assert.match(await page.locator(tid('auth-error')).innerText(), /wrong/i, 'shows the server message');

  await signIn(page, owner);
  await page.locator(tid('sidebar')).waitFor();

  // Sign out (possibly inside the user menu).
  const signOut = page.locator(tid('sign-out'));
  if (!(await signOut.isVisible())) await page.locator(tid('user-menu')).click();
  await signOut.click();
  await page.waitForURL(/\/signin$/);
  await eventually(async () => {
    const names = (await page.context().cookies()).map((c) => c.name);
    return !names.includes('hearth_session');
  }, { message: 'the session cookie is cleared' });
  const res = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
  assert.equal(res, 401, 'signed out on the server too');
});

h.test('a failed sign-out is shown and keeps the app; a 401 (already signed out) goes to the sign-in form', async (s) => {
  const owner = await createWorkspace(h.url);
  const page = await s.open({ user: owner, label: 'owner' });
  await page.locator(tid('sidebar')).waitFor();
  const clickSignOut = async () => {
    const signOut = page.locator(tid('sign-out'));
    if (!(await signOut.isVisible())) await page.locator(tid('user-menu')).click();
    await signOut.click();
  };
  // The server fails the logout: the session is still valid, so the app stays and says so.
  page.guard.tolerate({ text: /status of 403/ });
  await page.route('**/api/v1/auth/logout', (route) => route.fulfill({
    status: 403, contentType: 'application/json', body: JSON.stringify({ error: { code: 'csrf_failed', message: 'The request was refused.' } }),
  }));
  await clickSignOut();
  await page.locator(tid('error-toast')).waitFor();
  assert.match(await page.locator(tid('error-toast')).innerText(), /sign out/i);
  assert.doesNotMatch(page.url(), /\/signin$/);
  await page.locator(tid('sidebar')).waitFor();
  assert.equal(await page.evaluate(async () => (await fetch('/api/v1/me')).status), 200, 'still signed in');
  // A 401 means the session is gone already: on to the sign-in form.
  await page.unroute('**/api/v1/auth/logout');
  page.guard.tolerate({ text: /status of 401/ });
  await page.route('**/api/v1/auth/logout', (route) => route.fulfill({
    status: 401, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unauthenticated', message: 'Sign in first.' } }),
  }));
  await clickSignOut();
  await page.waitForURL(/\/signin$/);
});

h.test('a malformed %-escape in the URL opens the app at the default route', async (s) => {
  const owner = await createWorkspace(h.url);
  const channel = await owner.createChannel(uniq('pct-'));
  const page = await s.open({ user: owner, at: '/c/%E0%A4%A', label: 'owner' });
  await page.locator(tid('sidebar')).waitFor();
  await page.locator(tid('channel-header')).waitFor();
  await eventually(async () => /\/c\/[A-Z0-9]+$/.test(page.url()), { message: `lands on a channel (at ${page.url()})` });
  assert.ok(channel.id);
});
