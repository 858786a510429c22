// Two people in two browser contexts chat in real time: each sees the other's messages
// without a reload, exactly once, in order.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, screenshot } from './lib/browser.mjs';
import { seedTeam, uniq } from './lib/api.mjs';
import {
  tid, expectMessage, expectConfirmed, mainComposer, mainMessageIds, messagesWithText,
  openChannel, send, eventually, channelItem, holdResponses, messageById, expectCount, mainMessages,
} from './lib/ui.mjs';

const h = await harness();
after(() => h.close());

h.test('two users chat in real time, no reload, no duplicates', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1, names: ['Ada Owner', 'Bea Member'] });
  // Some history so the channel view is not empty.
  await owner.post(channel.id, 'Welcome to the **room**: see `README` and https://example.com/doc');
  await bea.post(channel.id, 'Thanks! :wave:');

  const ada = await s.open({ user: owner, label: 'ada' });
  const bee = await s.open({ user: bea, label: 'bea' });
  await openChannel(ada, channel);
  await openChannel(bee, channel);
  await expectMessage(ada, 'Thanks!');
  await expectMessage(bee, 'Welcome to the');

  // Ada -> Bea.
  const hello = `hello from ada ${uniq()}`;
  await send(mainComposer(ada), hello);
  const mine = await expectMessage(ada, hello);
  await expectConfirmed(mine);
  const theirs = await expectMessage(bee, hello);
  assert.match(await theirs.locator(tid('message-author')).innerText(), /Ada Owner/);
  assert.equal(await mainComposer(ada).inputValue(), '', 'the composer is cleared after sending');

  // Bea -> Ada, with a newline (Shift+Enter).
  const answer = `hi ada ${uniq()}`;
  const box = mainComposer(bee);
  await box.click();
  await box.fill(answer);
  await box.press('Shift+Enter');
  await box.pressSequentially('second line');
  await box.press('Enter');
  const seen = await expectMessage(ada, answer);
  assert.match(await seen.locator(tid('message-text')).innerText(), /second line/);
  await expectMessage(bee, answer);

  // A quick burst from both sides lands once each, in the same order for both.
  const burst = [];
  for (let i = 0; i < 3; i++) {
    const a = `burst a${i} ${uniq()}`;
    const b = `burst b${i} ${uniq()}`;
    burst.push(a, b);
    await send(mainComposer(ada), a);
    await send(mainComposer(bee), b);
  }
  for (const text of burst) {
    await expectMessage(ada, text);
    await expectMessage(bee, text);
  }
  await eventually(async () => {
    const pending = await ada.locator(`${tid('message')}[data-state=pending]`).count();
    return pending === 0;
  }, { message: 'no pending message left' });
  const idsA = await mainMessageIds(ada);
  const idsB = await mainMessageIds(bee);
  assert.equal(new Set(idsA).size, idsA.length, 'no duplicate message ids for ada');
  assert.equal(new Set(idsB).size, idsB.length, 'no duplicate message ids for bea');
  assert.deepEqual(idsA, idsB, 'both see the same messages in the same order');

  // The order matches the server's.
  const page = await owner.messages(channel.id, '?limit=100');
  const serverIds = page.messages.map((m) => m.id);
  const sorted = [...serverIds].sort((x, y) => {
    const mx = page.messages.find((m) => m.id === x).seq;
    const my = page.messages.find((m) => m.id === y).seq;
    return mx - my;
  });
  assert.deepEqual(idsA, sorted, 'the UI order is the server seq order');

  // A message posted by someone else over the API also arrives live.
  const fromApi = `from the api ${uniq()}`;
  await owner.post(channel.id, fromApi);
  await expectMessage(bee, fromApi);
  await expectMessage(ada, fromApi);

  await screenshot(ada, 'channel-view');
});

h.test('a reload shows the same history with nothing lost or doubled', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1 });
  const texts = [];
  for (let i = 0; i < 30; i++) texts.push(`history ${i} ${uniq()}`);
  for (const t of texts) await (texts.indexOf(t) % 2 ? bea : owner).post(channel.id, t);
  const page = await s.open({ user: bea, label: 'bea' });
  await openChannel(page, channel);
  await expectMessage(page, texts.at(-1));
  await page.reload();
  await page.locator(tid('channel-header'), { hasText: channel.name }).waitFor();
  await expectMessage(page, texts.at(-1));
  const ids = await mainMessageIds(page);
  assert.equal(new Set(ids).size, ids.length, 'no duplicates after a reload');
  assert.equal(await messagesWithText(page, texts.at(-2)).count(), 1);

  // Sending still works after the reload (the CSRF token is read back from its cookie).
  const afterReload = `after reload ${uniq()}`;
  await send(mainComposer(page), afterReload);
  await expectConfirmed(await expectMessage(page, afterReload));
  const stored = await owner.messages(channel.id, '?limit=5');
  assert.ok(stored.messages.some((m) => m.text === afterReload), 'the server has the message sent after the reload');
});

h.test('a message that arrives while the channel history is loading is not lost', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1 });
  await owner.post(channel.id, 'already there');
  const other = await owner.createChannel(uniq('other-'));
  await bea.join(other.id);
  const page = await s.open({ user: bea, at: `/c/${other.id}`, label: 'bea' });
  await page.locator(tid('channel-header'), { hasText: other.name }).waitFor();

  // Hold the history request of the channel until a new message was posted (and its
  // realtime event delivered), then let the older answer through.
  const racer = `arrived during the load ${uniq()}`;
  let release;
  const held = new Promise((r) => (release = r));
  await page.route(`**/api/v1/channels/${channel.id}/messages*`, async (route) => {
    if (route.request().method() !== 'GET') return route.continue();
    const response = await route.fetch(); // answered now: without the racer
    await held;
    await route.fulfill({ response });
  });
  await channelItem(page, channel.id).click();
  await page.locator(tid('channel-header'), { hasText: channel.name }).waitFor();
  await owner.post(channel.id, racer);
  await page.waitForTimeout(700); // the realtime event is applied meanwhile
  release();
  await expectMessage(page, 'already there');
  await expectMessage(page, racer, { timeout: 5_000 });
  await page.unroute(`**/api/v1/channels/${channel.id}/messages*`);
});

h.test('edits, deletions and reactions made while a page loads are not undone by it', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1 });
  const edited = await owner.post(channel.id, `to be edited ${uniq()}`);
  const gone = await owner.post(channel.id, `to be deleted ${uniq()}`);
  const liked = await owner.post(channel.id, `to be liked ${uniq()}`);
  const other = await owner.createChannel(uniq('other-'));
  await bea.join(other.id);
  const page = await s.open({ user: bea, at: `/c/${other.id}`, label: 'bea' });
  await page.locator(tid('channel-header'), { hasText: other.name }).waitFor();

  // The latest page is read now, before the changes, and delivered after their events.
  const hold = await holdResponses(page, `**/api/v1/channels/${channel.id}/messages*`);
  await channelItem(page, channel.id).click();
  await hold.seen();
  const newText = `edited text ${uniq()}`;
  await owner.edit(edited.id, newText);
  await owner.delete(gone.id);
  await owner.react(liked.id, 'tada');
  const racer = `posted meanwhile ${uniq()}`;
  await owner.post(channel.id, racer);
  await page.waitForTimeout(700); // the realtime events are applied meanwhile
  hold.release();
  await expectMessage(page, racer);
  await expectMessage(page, newText);
  await messageById(page, edited.id).locator(tid('edited-mark')).waitFor();
  await messageById(page, gone.id).locator(tid('message-deleted')).waitFor();
  await expectCount(messageById(page, liked.id).locator(`${tid('reaction')}[data-emoji="tada"]`), 1);
  await hold.done();
  const ids = await mainMessageIds(page);
  assert.equal(new Set(ids).size, ids.length, 'no duplicates');
  assert.deepEqual(ids.slice(-4), [edited.id, gone.id, liked.id, ids.at(-1)], 'in seq order, the new one last');
});

h.test('an older page loading while its messages change shows the changes; nothing is doubled', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1 });
  const all = await owner.postMany(channel.id, 120, (i) => `old ${i}`, 8);
  all.sort((a, b) => a.seq - b.seq);
  const page = await s.open({ user: bea, label: 'bea' });
  await openChannel(page, channel);
  await messageById(page, all.at(-1).id).waitFor();

  // Scrolling up asks for the page before the window; it is read now, delivered later.
  const hold = await holdResponses(page, `**/api/v1/channels/${channel.id}/messages*`, (u) => u.includes('before='));
  await page.locator(tid('message-list')).evaluate((el) => (el.scrollTop = 0));
  await hold.seen();
  const first = all[0]; // in the older page (the window holds the newest 50)
  const newText = `rewritten while loading ${uniq()}`;
  await owner.edit(first.id, newText);
  const live = `live while loading ${uniq()}`;
  await owner.post(channel.id, live);
  await page.waitForTimeout(700);
  hold.release();
  await eventually(async () => (await messageById(page, first.id).count()) === 1, { message: 'the oldest message loaded' });
  await hold.done();
  await eventually(async () => /rewritten while loading/.test(await messageById(page, first.id).innerText()), { message: 'the edit shows on the older page' });
  await page.locator(tid('message-list')).evaluate((el) => (el.scrollTop = el.scrollHeight));
  await expectMessage(page, live);
  const ids = await mainMessageIds(page);
  assert.equal(new Set(ids).size, ids.length, 'no duplicates');
  const seqs = await mainMessages(page).evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'seq order');
});

h.test('a message sent while the history loads shows once', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1 });
  await owner.post(channel.id, 'history before');
  const other = await owner.createChannel(uniq('other-'));
  await bea.join(other.id);
  const page = await s.open({ user: bea, at: `/c/${other.id}`, label: 'bea' });
  await page.locator(tid('channel-header'), { hasText: other.name }).waitFor();
  const hold = await holdResponses(page, `**/api/v1/channels/${channel.id}/messages*`);
  await channelItem(page, channel.id).click();
  await hold.seen();
  const mine = `sent during the load ${uniq()}`;
  await send(mainComposer(page), mine);
  await page.waitForTimeout(700);
  hold.release();
  await expectConfirmed(await expectMessage(page, mine));
  await expectMessage(page, 'history before');
  await page.waitForTimeout(300);
  await expectMessage(page, mine);
  await hold.done();
});
