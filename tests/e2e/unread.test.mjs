// Unread and mention badges across channels: a message in B while viewing A puts a
// badge on B; opening B clears it, and the read marker survives a reload.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { harness } from './lib/browser.mjs';
import { seedTeam, uniq } from './lib/api.mjs';
import { tid, channelItem, openChannel, eventually, expectMessage, holdResponses, numberIn } from './lib/ui.mjs';

const h = await harness();
after(() => h.close());

async function badge(page, channelId, kind = 'unread-badge') {
  return numberIn(channelItem(page, channelId).locator(tid(kind)));
}

h.test('a message in another channel shows a badge; opening it clears the badge', async (s) => {
  const { owner, members: [bea], channel: a } = await seedTeam(h.url, { members: 1 });
  const b = await owner.createChannel(uniq('bee-'));
  await bea.join(b.id);

  const page = await s.open({ user: bea, label: 'bea' });
  await openChannel(page, a);
  assert.equal(await badge(page, a.id), 0);
  assert.equal(await badge(page, b.id), 0);

  await owner.post(b.id, `first in b ${uniq()}`);
  await owner.post(b.id, `second in b ${uniq()}`);
  await eventually(async () => (await badge(page, b.id)) === 2, { message: 'B shows 2 unread' });
  assert.equal(await badge(page, a.id), 0, 'the open channel gets no badge');

  // A message in the open channel does not raise its badge either.
  const inA = `in a ${uniq()}`;
  await owner.post(a.id, inA);
  await expectMessage(page, inA);
  assert.equal(await badge(page, a.id), 0, 'reading A keeps A at 0');

  // A mention in B: mention badge too.
  await owner.post(b.id, `hey @${bea.user.handle} look`);
  await eventually(async () => (await badge(page, b.id)) === 3, { message: 'B shows 3 unread' });
  await eventually(async () => (await badge(page, b.id, 'mention-badge')) === 1, { message: 'B shows 1 mention' });

  await openChannel(page, b);
  await eventually(async () => (await badge(page, b.id)) === 0, { message: 'opening B clears its unread badge' });
  await eventually(async () => (await badge(page, b.id, 'mention-badge')) === 0, { message: 'and its mention badge' });

  // The server has the read marker: it survives a reload, and the API agrees.
  await eventually(async () => {
    const mine = (await bea.channels()).find((c) => c.id === b.id);
    return mine.unread_count === 0 && mine.mention_count === 0;
  }, { message: 'the server marked B read' });
  await openChannel(page, a);
  await page.reload();
  await page.locator(tid('sidebar')).waitFor();
  await channelItem(page, b.id).waitFor();
  assert.equal(await badge(page, b.id), 0, 'no badge on B after a reload');
});

h.test('badges count what arrived while signed out', async (s) => {
  const { owner, members: [bea], channel: a } = await seedTeam(h.url, { members: 1 });
  const b = await owner.createChannel(uniq('later-'));
  await bea.join(b.id);
  for (let i = 0; i < 4; i++) await owner.post(b.id, `offline ${i}`);
  // Straight into A (a cookie session), so that B is never opened.
  const page = await s.open({ user: bea, at: `/c/${a.id}`, label: 'bea' });
  await page.locator(tid('channel-header'), { hasText: a.name }).waitFor();
  await eventually(async () => (await badge(page, b.id)) === 4, { message: 'B shows 4 unread at sign-in' });
});

h.test('a channel list answer that predates a live message does not wipe its badge', async (s) => {
  const { owner, members: [bea], channel: a } = await seedTeam(h.url, { members: 1 });
  const b = await owner.createChannel(uniq('b-'));
  await bea.join(b.id);
  const page = await s.open({ user: bea, label: 'bea' });
  await openChannel(page, a);
  await channelItem(page, b.id).waitFor();

  // The list is read by the server now, answered later: after the message below arrived live.
  const held = await holdResponses(page, '**/api/v1/channels', (url) => new URL(url).pathname === '/api/v1/channels');
  const c = await owner.createChannel(uniq('c-'));
  await owner.addMembers(c.id, [bea.user.id]); // bea joins: the client reloads its channel list
  await held.seen();
  await owner.post(b.id, `while the list was out ${uniq()}`);
  await eventually(async () => (await badge(page, b.id)) === 1, { message: 'the live message puts a badge on B' });
  held.release();
  await channelItem(page, c.id).waitFor();
  await page.waitForTimeout(300);
  assert.equal(await badge(page, b.id), 1, 'the badge survives the older list answer');
  await held.done();
});
