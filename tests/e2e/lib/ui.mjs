// Locators and waits over the data-testid DOM contract
// (/work/shared/web-contract/CONTRACT.md, "DOM contract").

import assert from 'node:assert/strict';

/** Polls `fn` (sync or async, throwing or returning falsy = not yet) until it passes. */
export async function eventually(fn, { timeout = 10_000, interval = 100, message } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const v = await fn();
      if (v !== false && v !== undefined && v !== null) return v;
      lastError = new Error('returned ' + v);
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const e = new Error(`${message ?? 'condition'} not met within ${timeout} ms: ${lastError?.message}`);
      e.cause = lastError;
      throw e;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

export const tid = (id) => `[data-testid="${id}"]`;

/** The main message list's messages (not the thread panel's). */
export function mainMessages(page) {
  return page.locator(`${tid('message-list')} ${tid('message')}`);
}

export function messageById(scope, id) {
  return scope.locator(`${tid('message')}[data-message-id="${id}"]`);
}

/** Messages of the main list whose text contains `text`. */
export function messagesWithText(page, text) {
  return mainMessages(page).filter({ has: page.locator(tid('message-text'), { hasText: text }) });
}

/** Waits until exactly `n` elements match (default 1). */
export async function expectCount(locator, n = 1, { timeout = 10_000, message } = {}) {
  await eventually(
    async () => {
      const c = await locator.count();
      assert.equal(c, n, `expected ${n}, found ${c}`);
      return true;
    },
    { timeout, message: message ?? `count of ${locator}` },
  );
}

/** Waits for exactly one message in the main list with this text; returns its locator. */
export async function expectMessage(page, text, { timeout = 10_000 } = {}) {
  const loc = messagesWithText(page, text);
  await expectCount(loc, 1, { timeout, message: `[${page.label}] one message "${text}"` });
  return loc;
}

export function channelItem(page, channelId) {
  return page.locator(`${tid('sidebar')} ${tid('channel-item')}[data-channel-id="${channelId}"]`);
}

/**
 * Opens a channel by clicking it in the sidebar, and waits for its header and for its
 * history to have loaded (the GET of its messages answered), so that a test's next
 * realtime message does not race the initial load (see chat.test.mjs for that race).
 */
export async function openChannel(page, channel) {
  const history = page
    .waitForResponse((r) => r.url().includes(`/api/v1/channels/${channel.id}/messages`) && r.request().method() === 'GET',
      { timeout: 5_000 })
    .then((r) => r.finished())
    .catch(() => null); // already loaded (the channel was open): no request
  await channelItem(page, channel.id).click();
  if (channel.name) {
    await page.locator(tid('channel-header'), { hasText: channel.name }).waitFor();
  }
  await page.waitForURL(new RegExp(`/c/${channel.id}`));
  await history;
  // Let the app apply the response (a couple of frames).
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** The main composer's textarea (not the thread's). */
export function mainComposer(page) {
  return page.locator(`${tid('composer')} textarea`).first();
}

/** Types `text` into a composer textarea and presses Enter. */
export async function send(textarea, text) {
  await textarea.click();
  await textarea.fill(text);
  await textarea.press('Enter');
}

/** Waits until a message is no longer pending (the server confirmed it). */
export async function expectConfirmed(message, timeout = 10_000) {
  await eventually(
    async () => {
      const state = await message.getAttribute('data-state');
      return state !== 'pending' && state !== 'failed';
    },
    { timeout, message: 'message confirmed' },
  );
}

/** Hovers a message and clicks one of its actions (react, reply, edit, delete). */
export async function messageAction(message, action) {
  await message.hover();
  await message.locator(tid(`action-${action}`)).click();
}

/** All message ids in the main list, in DOM order. */
export async function mainMessageIds(page) {
  return mainMessages(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-message-id')));
}

/**
 * Holds the answers of GET requests whose URL matches `pattern` (a glob) and `filter(url)`:
 * each is fetched from the server at once (so it is read *before* whatever the test does
 * next) and delivered only when `release()` is called. Returns {release, seen(), done()}:
 * `seen()` resolves when the first matching request went out; `done()` removes the route.
 */
export async function holdResponses(page, pattern, filter = () => true) {
  let release;
  const held = new Promise((r) => (release = r));
  let sawIt;
  const seen = new Promise((r) => (sawIt = r));
  const handler = async (route) => {
    if (route.request().method() !== 'GET' || !filter(route.request().url())) return route.continue();
    const response = await route.fetch();
    sawIt();
    await held;
    await route.fulfill({ response });
  };
  await page.route(pattern, handler);
  return { release, seen: () => seen, done: () => page.unroute(pattern, handler) };
}

/**
 * Dispatches a `paste` (ClipboardEvent) or `dragenter`/`dragover`/`drop` (DragEvent) on the
 * element, carrying a DataTransfer of files [{name, type, bytes: Buffer}], as a user's paste
 * or drop would.
 */
export async function dispatchFiles(locator, kind, files) {
  const payload = files.map((f) => ({ name: f.name, type: f.type, b64: Buffer.from(f.bytes).toString('base64') }));
  await locator.evaluate((el, { kind, payload }) => {
    const dt = new DataTransfer();
    for (const f of payload) {
      const bin = atob(f.b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    if (kind === 'paste') {
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    } else {
      for (const type of ['dragenter', 'dragover', 'drop']) {
        el.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      }
    }
  }, { kind, payload });
}

/**
 * The number in the first element `locator` matches right now, or 0 when none does. It
 * never waits: reading `innerText` after a `count()` would wait for an element that
 * vanished in between (a reaction or badge going away is what tests wait for).
 */
export async function numberIn(locator) {
  const texts = await locator.evaluateAll((els) => els.map((e) => e.innerText));
  if (texts.length === 0) return 0;
  return Number(texts[0].match(/\d+/)?.[0] ?? NaN);
}
