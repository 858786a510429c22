// Browser notifications: the Notification API for mentions and DMs while the tab is
// hidden (lib/notify.js notifyMessage checks `document.hidden`), and the Web Push switch
// in the settings, which in headless Chromium without a push service must fail visibly
// and register no target.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, signInByApi } from './lib/browser.mjs';
import { seedTeam, uniq } from './lib/api.mjs';
import { tid, eventually, channelItem } from './lib/ui.mjs';

const h = await harness();
after(() => h.close());

/**
 * Runs in every page before the app: records each constructed Notification (title, body,
 * tag) in window.__notes while still constructing a real one, and lets the test make the
 * page look hidden and unfocused (window.__e2eSetHidden(true|false)).
 */
function notificationProbe() {
  window.__notes = [];
  const Real = window.Notification;
  if (Real) {
    class Recorded extends Real {
      constructor(title, opts = {}) {
        window.__notes.push({ title, body: opts.body, tag: opts.tag });
        super(title, opts);
      }
    }
    window.Notification = Recorded;
  }
  let hidden = false;
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  let focused = true;
  Document.prototype.hasFocus = function hasFocus() {
    return focused;
  };
  // Visible but behind another window: the user is not looking either.
  window.__e2eSetFocused = (v) => {
    focused = v;
    window.dispatchEvent(new Event(v ? 'focus' : 'blur'));
  };
  window.__e2eSetHidden = (v) => {
    hidden = v;
    focused = !v;
    document.dispatchEvent(new Event('visibilitychange'));
    window.dispatchEvent(new Event(v ? 'blur' : 'focus'));
  };
}

/** Bea's page: notifications granted, the probe installed, signed in (cookie session). */
async function openWithNotifications(s, user, label) {
  const page = await s.open({ label });
  await page.context().grantPermissions(['notifications'], { origin: h.url });
  await page.context().addInitScript(notificationProbe);
  await signInByApi(page, user, '/');
  assert.equal(await page.evaluate(() => Notification.permission), 'granted', 'the permission is granted');
  return page;
}

const notes = (page) => page.evaluate(() => window.__notes);

/**
 * Waits for the DM's mention badge (every DM message counts) to show `n`: the page has
 * received everything posted before that DM message (one ordered event stream).
 */
async function dmBadgeIs(page, dmId, n) {
  const badge = channelItem(page, dmId).locator(tid('mention-badge'));
  await eventually(async () => (await badge.innerText({ timeout: 500 })).trim() === String(n), { message: `the DM badge shows ${n}` });
}

h.test('a mention and a DM notify while the tab is hidden; plain messages and a visible tab do not', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1, names: ['Ada Owner', 'Bea Member'] });
  const dm = await owner.openDm([bea.user.id]);
  const dmId = dm.id ?? dm.channel?.id;
  assert.ok(dmId, `a DM id (${JSON.stringify(dm)})`);
  const bee = await openWithNotifications(s, bea, 'bea');

  // The settings show the browser permission as granted (no further switch is needed).
  await bee.locator(tid('settings-button')).click();
  const panel = bee.locator(tid('settings-panel'));
  await panel.waitFor();
  await eventually(async () => /in the background:\s*granted/.test(await panel.innerText()), { message: 'the settings show notifications granted' });
  await bee.keyboard.press('Escape');
  await eventually(async () => (await panel.count()) === 0, { message: 'the settings close' });

  // Visible and focused: a mention and a DM record nothing.
  const visMention = `visible mention ${uniq()} <@${bea.user.id}>`;
  const visDm = `visible dm ${uniq()}`;
  await owner.post(channel.id, visMention);
  await owner.post(dmId, visDm);
  // Bea's page has both (one ordered stream: the DM's badge comes after the mention).
  await dmBadgeIs(bee, dmId, 1);

  // Hidden and unfocused from here on.
  await bee.evaluate(() => window.__e2eSetHidden(true));
  assert.equal(await bee.evaluate(() => document.hidden), true);
  const plain = `plain chatter ${uniq()}`;
  const mentionTag = uniq('');
  const mention = `hey <@${bea.user.id}> look at ${mentionTag}`;
  const dmText = `a direct word ${uniq()}`;
  await owner.post(channel.id, plain);
  const mentionMsg = await owner.post(channel.id, mention);
  const dmMsg = await owner.post(dmId, dmText);

  const got = await eventually(async () => {
    const n = await notes(bee);
    return n.length >= 2 && n.some((x) => x.tag === dmMsg.id) ? n : false;
  }, { timeout: 15_000, message: 'Bea records the mention and the DM notifications' });

  assert.equal(got.length, 2, `exactly two notifications (no plain message, nothing while visible): ${JSON.stringify(got)}`);
  const [m, d] = got;
  assert.equal(m.tag, mentionMsg.id, 'the first is the mention');
  assert.match(m.title, /Ada Owner/, 'the mention names Ada');
  assert.match(m.title, new RegExp(`#${channel.name}`), 'and the channel');
  assert.ok(m.body.includes(mentionTag) && m.body.includes('@Bea Member'), `the mention's text, the mention resolved to a name: ${m.body}`);
  assert.equal(d.tag, dmMsg.id, 'the second is the DM');
  assert.match(d.title, /Ada Owner/, 'the DM names Ada');
  assert.equal(d.body, dmText, "the DM's text");
  for (const n of got) {
    assert.ok(!n.body.includes('plain chatter') && !n.body.includes('visible'), `no notification for ${n.body}`);
  }

  // Visible again: a mention records nothing; hidden once more, the next one does.
  await bee.evaluate(() => window.__e2eSetHidden(false));
  await owner.post(channel.id, `back again <@${bea.user.id}> ${uniq()}`);
  await owner.post(dmId, `visible dm again ${uniq()}`);
  await dmBadgeIs(bee, dmId, 3);
  await bee.evaluate(() => window.__e2eSetHidden(true));
  const last = await owner.post(dmId, `while away ${uniq()}`);
  const after2 = await eventually(async () => {
    const n = await notes(bee);
    return n.some((x) => x.tag === last.id) ? n : false;
  }, { timeout: 15_000, message: 'the DM after hiding again notifies' });
  assert.deepEqual(after2.map((x) => x.tag), [mentionMsg.id, dmMsg.id, last.id], 'nothing was recorded while visible');

  // Visible but unfocused (another window in front): a DM notifies too.
  await bee.evaluate(() => window.__e2eSetHidden(false));
  await bee.evaluate(() => window.__e2eSetFocused(false));
  const behind = await owner.post(dmId, `while behind another window ${uniq()}`);
  const after3 = await eventually(async () => {
    const n = await notes(bee);
    return n.some((x) => x.tag === behind.id) ? n : false;
  }, { timeout: 15_000, message: 'a DM while the window is unfocused notifies' });
  assert.deepEqual(after3.map((x) => x.tag), [mentionMsg.id, dmMsg.id, last.id, behind.id]);
});

h.test('turning on Web Push without a push service shows an error and registers no target', async (s) => {
  const { members: [bea] } = await seedTeam(h.url, { members: 1, names: ['Ada Owner', 'Bea Member'] });
  const vapid = await bea.request('GET', '/api/v1/notifications/vapid');
  assert.ok(vapid.public_key, 'the server has a VAPID key');
  // Chromium itself (not the client) logs this when a context without a push service
  // (every Playwright context is incognito-like) calls pushManager.subscribe.
  s.tolerate({ text: /does not support the Push API in incognito mode/ });
  const bee = await openWithNotifications(s, bea, 'bea');
  await bee.locator(tid('settings-button')).click();
  const panel = bee.locator(tid('settings-panel'));
  await panel.waitFor();
  const turnOn = panel.getByRole('button', { name: 'Turn on' });
  await turnOn.waitFor();
  assert.match(await panel.innerText(), /even when Hearth is closed:\s*off/);

  const keyFetched = bee.waitForResponse((r) => r.url().endsWith('/api/v1/notifications/vapid'));
  await turnOn.click();
  assert.equal((await keyFetched).status(), 200, 'the client asked for the VAPID key');
  const error = panel.locator(tid('form-error'));
  await error.waitFor({ timeout: 20_000 });
  const text = await error.innerText();
  assert.match(text, /could not subscribe to push notifications/i, `a clear error about push: ${text}`);
  await eventually(async () => await turnOn.isEnabled(), { message: 'the switch is usable again' });
  assert.match(await panel.innerText(), /even when Hearth is closed:\s*off/, 'push stays off');

  const { targets } = await bea.request('GET', '/api/v1/notifications/targets');
  assert.deepEqual(targets, [], 'no target was registered');
});
