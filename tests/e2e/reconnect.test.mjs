// The server restarts under an open client: the connection state goes reconnecting ->
// live, and every message posted meanwhile (over REST right after the restart, or typed
// while the server was down) appears exactly once, in order.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { harness } from './lib/browser.mjs';
import { seedTeam, uniq } from './lib/api.mjs';
import {
  tid, expectMessage, mainComposer, mainMessageIds, messagesWithText, openChannel, eventually,
  expectCount,
} from './lib/ui.mjs';

const h = await harness();
after(() => h.close());

// While the server is down the browser logs failed connections and requests: expected here.
const DOWNTIME_NOISE = [
  { text: /WebSocket connection to .* failed/i },
  { text: /ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE|Failed to fetch/i },
  { text: /Failed to load resource/i, url: /\/api\/v1\// },
];

async function connectionState(page) {
  return page.locator(tid('connection-state')).getAttribute('data-state');
}

h.test('after a server restart the client reconnects and loses no message', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1, names: ['Ada Owner', 'Bea Member'] });
  const page = await s.open({ user: bea, label: 'bea', allow: DOWNTIME_NOISE });
  await openChannel(page, channel);

  const beforeText = `before restart ${uniq()}`;
  await owner.post(channel.id, beforeText);
  await expectMessage(page, beforeText);

  const states = [];
  await page.exposeFunction('__e2eState', (st) => states.push(st));
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid=connection-state]');
    let last = el.getAttribute('data-state');
    window.__e2eState(last);
    new MutationObserver(() => {
      // The element may be re-rendered: read the current one.
      const cur = document.querySelector('[data-testid=connection-state]')?.getAttribute('data-state');
      if (cur && cur !== last) {
        last = cur;
        window.__e2eState(cur);
      }
    }).observe(document.body, { subtree: true, attributes: true, childList: true, attributeFilter: ['data-state'] });
  });

  const typedWhileDown = `typed while down ${uniq()}`;
  const afterTexts = [];
  await h.server.restart({
    downtime: async () => {
      await eventually(async () => (await connectionState(page)) === 'reconnecting',
        { timeout: 10_000, message: 'the client shows reconnecting' });
      // Sent while the server is down: pending or failed, never lost.
      const box = mainComposer(page);
      await box.fill(typedWhileDown);
      await box.press('Enter');
      // Stay down across at least one reconnect attempt.
      await page.waitForTimeout(1500);
    },
  });
  // Posted the moment the server is back, racing the client's resume.
  for (let i = 0; i < 5; i++) {
    const text = `after restart ${i} ${uniq()}`;
    afterTexts.push(text);
    await owner.post(channel.id, text);
  }

  await eventually(async () => (await connectionState(page)) === 'live',
    { timeout: 20_000, message: 'the client is live again' });
  for (const text of afterTexts) await expectMessage(page, text, { timeout: 15_000 });

  // The message typed while down is delivered once: by itself, or with the retry button.
  const typed = messagesWithText(page, typedWhileDown);
  await eventually(async () => (await typed.count()) >= 1, { message: 'the typed message is still shown' });
  if ((await typed.first().getAttribute('data-state')) === 'failed') {
    await typed.first().locator(tid('retry-send')).click();
  }
  await eventually(async () => {
    const st = await typed.first().getAttribute('data-state');
    return st !== 'pending' && st !== 'failed';
  }, { timeout: 15_000, message: 'the typed message was sent' });

  // Everything exactly once, in the server's order.
  await expectCount(messagesWithText(page, beforeText), 1);
  for (const text of afterTexts) await expectCount(messagesWithText(page, text), 1);
  await expectCount(typed, 1);
  const server = await owner.messages(channel.id, '?limit=100');
  const serverIds = server.messages.sort((x, y) => x.seq - y.seq).map((m) => m.id);
  assert.equal(server.messages.filter((m) => m.text === typedWhileDown).length, 1, 'stored exactly once');
  await eventually(async () => {
    assert.deepEqual(await mainMessageIds(page), serverIds);
    return true;
  }, { message: 'the list is the server\'s, in order' });

  // The state went through reconnecting back to live.
  const i = states.indexOf('reconnecting');
  assert.ok(i >= 0, `saw reconnecting (states: ${states.join(' -> ')})`);
  assert.ok(states.slice(i).includes('live'), `then live (states: ${states.join(' -> ')})`);

  // And the connection works both ways after the restart.
  const reply = `after reconnect from bea ${uniq()}`;
  await mainComposer(page).fill(reply);
  await mainComposer(page).press('Enter');
  await eventually(async () => (await owner.messages(channel.id, '?limit=5')).messages.some((m) => m.text === reply),
    { message: 'a message sent after the reconnect reaches the server' });
});

h.test('a restart with the tab in another channel keeps unread counts right', async (s) => {
  const { owner, members: [bea], channel: a } = await seedTeam(h.url, { members: 1 });
  const b = await owner.createChannel(uniq('b-'));
  await bea.join(b.id);
  const page = await s.open({ user: bea, label: 'bea', allow: DOWNTIME_NOISE, at: `/c/${a.id}` });
  await page.locator(tid('channel-header'), { hasText: a.name }).waitFor();
  await h.server.restart({
    downtime: () => eventually(async () => (await connectionState(page)) === 'reconnecting',
      { timeout: 10_000, message: 'reconnecting' }),
  });
  await owner.post(b.id, 'while you were away 1');
  await owner.post(b.id, 'while you were away 2');
  await eventually(async () => (await connectionState(page)) === 'live', { timeout: 20_000, message: 'live again' });
  const badge = page.locator(`${tid('channel-item')}[data-channel-id="${b.id}"] ${tid('unread-badge')}`);
  await eventually(async () => /^\D*2\D*$/.test(await badge.innerText()), { timeout: 15_000, message: 'B shows 2 unread' });
});
