// Debian's Chromium driven by playwright-core: one browser per test file, one context per
// user, a guard that fails a test on console errors, page errors, dialogs and CSP
// violations, sign-in through the UI, and screenshots into target/screenshots/.

import { test } from 'node:test';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, REPO_ROOT } from './server.mjs';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'target/screenshots');

// Without the background-networking flags Chromium keeps calling out to a network that is
// closed here (component updates, sync, field trials, QUIC probes).
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Per-test timeout (node:test) and per-action timeout (playwright). */
export const TEST_TIMEOUT_MS = Number(process.env.E2E_TEST_TIMEOUT_MS ?? 60_000);
export const ACTION_TIMEOUT_MS = Number(process.env.E2E_ACTION_TIMEOUT_MS ?? 10_000);

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}

/** Saves a PNG of the page's viewport as target/screenshots/<name>.png; returns the path. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^a-zA-Z0-9._-]+/g, '-')}.png`);
  await page.screenshot({ path: file, timeout: ACTION_TIMEOUT_MS });
  return file;
}

// Console errors that are part of normal operation and not a bug:
// - the bootstrap `GET /api/v1/me` answers 401 when nobody is signed in (the contract's
//   "401 otherwise"), which Chromium logs as a failed resource load.
const ALWAYS_ALLOWED = [
  { text: /status of 401/, url: /\/api\/v1\/me(\?|$)/ },
];

/**
 * Records what must never happen on a page: console errors, uncaught page errors,
 * dialogs (alert/confirm/prompt: an XSS payload that ran), CSP violations and 5xx
 * responses. `allow` is a list of {text?: RegExp, url?: RegExp} console errors a test
 * expects (the WebSocket failing while the server restarts, a deliberate 4xx).
 */
export class Guard {
  constructor(label, allow = []) {
    this.label = label;
    this.allow = [...ALWAYS_ALLOWED, ...allow];
    this.problems = [];
  }

  allowed(text, url = '') {
    return this.allow.some((a) => (!a.text || a.text.test(text)) && (!a.url || a.url.test(url)));
  }

  record(kind, text) {
    this.problems.push(`[${this.label}] ${kind}: ${text}`);
  }

  /** Adds patterns of console errors to tolerate from now on. */
  tolerate(...patterns) {
    this.allow.push(...patterns);
  }

  async attach(context) {
    await context.exposeBinding('__e2eCspViolation', ({ page }, v) => {
      this.record('CSP violation', `${v.directive} blocked ${v.blocked} at ${v.source}:${v.line} (${page.url()})`);
    });
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        // eslint-disable-next-line no-undef
        window.__e2eCspViolation({
          directive: e.violatedDirective,
          blocked: e.blockedURI,
          source: e.sourceFile,
          line: e.lineNumber,
        });
      });
    });
    context.on('page', (page) => this.watch(page));
  }

  watch(page) {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const url = msg.location()?.url ?? '';
      if (this.allowed(msg.text(), url)) return;
      this.record('console error', `${msg.text()}${url ? ` (${url})` : ''}`);
    });
    page.on('pageerror', (err) => this.record('page error', err.stack || String(err)));
    page.on('dialog', async (dialog) => {
      this.record('dialog', `${dialog.type()} "${dialog.message()}"`);
      await dialog.dismiss().catch(() => {});
    });
    page.on('response', (res) => {
      if (res.status() >= 500) this.record('server error', `${res.status()} ${res.request().method()} ${res.url()}`);
    });
  }

  assertClean() {
    if (this.problems.length) {
      throw new Error(`the page reported problems:\n  ${this.problems.join('\n  ')}`);
    }
  }
}

/**
 * Signs in through the UI login form (/signin) and waits for the app shell to be live.
 * `who` is {workspace, email, password} or an api.mjs Client.
 */
export async function signIn(page, who) {
  const { workspace, email, password } = who.credentials ?? who;
  await page.goto('/signin');
  const form = page.locator('form[data-testid=login-form]');
  await form.locator('input[name=workspace]').fill(workspace);
  await form.locator('input[name=email]').fill(email);
  await form.locator('input[name=password]').fill(password);
  await form.locator('button[type=submit]').click();
  await waitLive(page);
}

/** Puts a cookie session for `who` into a context (the login API, cookie mode). */
export async function cookieSignIn(context, who) {
  const { workspace, email, password } = who.credentials ?? who;
  const res = await context.request.post('/api/v1/auth/login', {
    headers: { 'x-hearth-session': 'cookie' },
    data: { workspace, email, password },
  });
  if (!res.ok()) throw new Error(`cookie sign-in failed: ${res.status()} ${await res.text()}`);
  return res.json();
}

/**
 * Signs in without the form: the login API with `X-Hearth-Session: cookie` through the
 * context's request client (which shares the context's cookie jar), then opens `path`.
 */
export async function signInByApi(page, who, path = '/') {
  await cookieSignIn(page.context(), who);
  await page.goto(path);
  await waitLive(page);
}

/**
 * E2E_WEB_DIR=<dir>: serve /assets/* from <dir>/assets instead of the server, to run the
 * tests against another version of the client (e.g. `git show`n from an older commit)
 * without rebuilding: a test meant to catch a bug should fail there.
 */
async function serveAssetsFrom(context, dir) {
  const types = { js: 'text/javascript', css: 'text/css', svg: 'image/svg+xml', txt: 'text/plain' };
  await context.route('**/assets/**', async (route) => {
    const rel = decodeURIComponent(new URL(route.request().url()).pathname.replace(/^\/assets\//, ''));
    try {
      const body = readFileSync(path.join(dir, 'assets', rel));
      await route.fulfill({ body, contentType: types[rel.split('.').pop()] ?? 'application/octet-stream' });
    } catch {
      await route.fulfill({ status: 404, body: 'not found' });
    }
  });
}

/** Waits until the realtime connection shows live. */
export async function waitLive(page, timeout = 15_000) {
  await page.locator('[data-testid=connection-state][data-state=live]').waitFor({ state: 'attached', timeout });
}

/**
 * One test's browsing: any number of users, each in a fresh context (own cookies) with
 * a guard. Closed by `harness.test` whatever the outcome.
 */
export class Session {
  constructor(harness, name) {
    this.harness = harness;
    this.name = name;
    this.contexts = [];
    this.guards = [];
    this.pages = [];
  }

  /**
   * A new context and page. With `user` (a Client or credentials) it signs in first.
   * With `at` too it signs in over the API (cookie session) and opens that path directly.
   * Options: label (for messages and screenshots), allow (console errors to tolerate),
   * viewport.
   */
  async open({ user, at, label, allow = [], viewport = { width: 1280, height: 800 } } = {}) {
    label ??= user?.user?.display_name ?? `page${this.pages.length + 1}`;
    const context = await this.harness.browser.newContext({
      baseURL: this.harness.server.url,
      viewport,
      acceptDownloads: true,
    });
    context.setDefaultTimeout(ACTION_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(20_000);
    const guard = new Guard(label, [...allow, ...(this.extraAllow ?? [])]);
    await guard.attach(context);
    if (process.env.E2E_WEB_DIR) await serveAssetsFrom(context, process.env.E2E_WEB_DIR);
    const page = await context.newPage();
    page.guard = guard;
    page.label = label;
    this.contexts.push(context);
    this.guards.push(guard);
    this.pages.push(page);
    if (user && at) await signInByApi(page, user, at);
    else if (user) await signIn(page, user);
    else if (at) await page.goto(at);
    return page;
  }

  /** Tolerate these console errors on every page of this session (now and later). */
  tolerate(...patterns) {
    for (const g of this.guards) g.tolerate(...patterns);
    this.extraAllow = [...(this.extraAllow ?? []), ...patterns];
  }

  assertClean() {
    const problems = this.guards.flatMap((g) => g.problems);
    if (problems.length) throw new Error(`the pages reported problems:\n  ${problems.join('\n  ')}`);
  }

  async failureScreenshots() {
    for (const page of this.pages) {
      if (page.isClosed()) continue;
      await screenshot(page, `FAILED-${this.name}-${page.label}`).catch(() => {});
    }
  }

  async close() {
    await Promise.all(this.contexts.map((c) => c.close().catch(() => {})));
  }
}

/**
 * A test file's world: one hearth server and one Chromium, both started once.
 * Use at the top of a test file:
 *   const h = await harness();
 *   after(() => h.close());
 *   h.test('name', async (s) => { const page = await s.open({ user }); ... });
 */
export async function harness({ serverEnv = {} } = {}) {
  const server = await startServer({ env: serverEnv });
  let browser;
  try {
    browser = await launchBrowser();
  } catch (err) {
    await server.stop();
    throw err;
  }
  const h = {
    server,
    browser,
    get url() {
      return server.url;
    },
    /** A node:test test with a Session; fails on any guard problem; screenshots on failure. */
    test(name, fn, { timeout = TEST_TIMEOUT_MS, skip, todo } = {}) {
      return test(name, { timeout, skip, todo }, async (t) => {
        const session = new Session(h, name);
        try {
          await fn(session, t);
          session.assertClean();
        } catch (err) {
          await session.failureScreenshots();
          const problems = session.guards.flatMap((g) => g.problems);
          if (problems.length && !String(err.message).includes('pages reported problems')) {
            err.message += `\n(also reported by the pages:\n  ${problems.join('\n  ')})`;
          }
          throw err;
        } finally {
          await session.close();
        }
      });
    },
    async close() {
      await browser.close().catch(() => {});
      await server.stop().catch(() => {});
    },
  };
  return h;
}
