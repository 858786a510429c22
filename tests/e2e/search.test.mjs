// Search: results highlight the matched terms, and clicking one opens its channel at
// that message, in context, even when it is far back in the history.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, screenshot } from './lib/browser.mjs';
import { seedTeam, uniq } from './lib/api.mjs';
import { tid, expectCount, messageById, eventually, channelItem, numberIn } from './lib/ui.mjs';

const h = await harness();
after(() => h.close());

h.test('a highlighted result jumps to the message in context', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1 });
  const other = await owner.createChannel(uniq('elsewhere-'));
  await bea.join(other.id);

  const word = `zebra${uniq('')}`; // one unique token
  const before = await owner.postMany(channel.id, 5, (i) => `context before ${i}`);
  const target = await owner.post(channel.id, `the ${word} crossed the road`);
  // Far more later messages than one screen or one page of history holds.
  await owner.postMany(channel.id, 150, (i) => `later chatter ${i}`);
  // The other channel is where the user is when searching.
  await bea.post(other.id, 'nothing to see here');

  const page = await s.open({ user: bea, label: 'bea' });
  await page.goto(`/c/${other.id}`);
  await page.locator(tid('channel-header'), { hasText: other.name }).waitFor();

  const input = page.locator(`input${tid('search-input')}`);
  await input.fill(word);
  await input.press('Enter');
  const results = page.locator(`${tid('search-results')} ${tid('search-result')}`);
  await expectCount(results, 1, { message: 'one search result' });
  const result = results.first();
  assert.equal(await result.getAttribute('data-message-id'), target.id);
  const marks = await result.locator('mark').allInnerTexts();
  assert.ok(marks.some((m) => m.toLowerCase() === word.toLowerCase()), `the term is in a <mark> (marks: ${JSON.stringify(marks)})`);
  await screenshot(page, 'search');

  await result.click();
  await page.waitForURL(new RegExp(`/c/${channel.id}`));
  await page.locator(tid('channel-header'), { hasText: channel.name }).waitFor();
  const msg = messageById(page, target.id);
  await msg.waitFor();
  await eventually(async () => (await msg.getAttribute('data-highlighted')) === 'true', { message: 'the message is highlighted' });
  // In view, with its neighbours loaded around it (context).
  await eventually(async () => msg.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight;
  }), { message: 'the message is scrolled into view' });
  await messageById(page, before.at(-1).id).waitFor({ state: 'attached' });
  await page.locator(`${tid('message')}`, { hasText: 'later chatter 0' }).first().waitFor({ state: 'attached' });
  await screenshot(page, 'search-jump');
});

h.test('a search finds nothing in channels the user cannot read', async (s) => {
  const { owner, members: [bea] } = await seedTeam(h.url, { members: 1 });
  const secret = await owner.createChannel(uniq('secret-'), { private: true });
  const word = `okapi${uniq('')}`;
  await owner.post(secret.id, `private ${word}`);
  const page = await s.open({ user: bea, label: 'bea' });
  const input = page.locator(`input${tid('search-input')}`);
  await input.fill(word);
  await input.press('Enter');
  await page.locator(tid('search-results')).waitFor();
  // Give a wrong result a moment to show up.
  await page.waitForTimeout(500);
  assert.equal(await page.locator(tid('search-result')).count(), 0);
});

/** The unread badge of a channel in the sidebar (0 when absent). */
async function unreadBadge(page, channelId) {
  return numberIn(channelItem(page, channelId).locator(tid('unread-badge')));
}

h.test('a jump far back keeps the unread badge until the newest messages are seen', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1 });
  const other = await owner.createChannel(uniq('elsewhere-'));
  await bea.join(other.id);
  const word = `quokka${uniq('')}`;
  const target = await owner.post(channel.id, `the ${word} smiled`);
  const read = await owner.postMany(channel.id, 150, (i) => `read chatter ${i}`);
  await bea.markRead(channel.id, Math.max(...read.map((m) => m.seq)));
  const unread = [];
  for (let i = 0; i < 3; i++) unread.push(await owner.post(channel.id, `unread ${i} ${uniq()}`));

  const page = await s.open({ user: bea, at: `/c/${other.id}`, label: 'bea' });
  await page.locator(tid('channel-header'), { hasText: other.name }).waitFor();
  await eventually(async () => (await unreadBadge(page, channel.id)) === 3, { message: 'three unread' });

  const input = page.locator(`input${tid('search-input')}`);
  await input.fill(word);
  await input.press('Enter');
  await page.locator(`${tid('search-result')}[data-message-id="${target.id}"]`).click();
  await eventually(async () => (await messageById(page, target.id).getAttribute('data-highlighted')) === 'true', { message: 'jumped' });
  await page.waitForTimeout(500);
  assert.equal(await unreadBadge(page, channel.id), 3, 'the unread messages below are not seen yet');

  // Scrolling down to the newest end (page by page) reads them.
  await eventually(async () => {
    await page.locator(tid('message-list')).evaluate((el) => (el.scrollTop = el.scrollHeight));
    return (await messageById(page, unread.at(-1).id).count()) === 1;
  }, { message: 'scrolled to the newest message', timeout: 20_000, interval: 300 });
  await page.locator(tid('message-list')).evaluate((el) => (el.scrollTop = el.scrollHeight));
  await eventually(async () => (await unreadBadge(page, channel.id)) === 0, { message: 'the badge clears at the bottom' });
  await eventually(async () => {
    const mine = (await bea.channels()).find((c) => c.id === channel.id);
    return mine.unread_count === 0 && mine.last_read_seq === unread.at(-1).seq;
  }, { message: 'the server has the read marker at the newest message' });

  // A channel with nothing unread gets no badge from a jump back, and "Jump to recent" works.
  await page.locator(`${tid('search-result')}[data-message-id="${target.id}"]`).click();
  await eventually(async () => (await messageById(page, target.id).getAttribute('data-highlighted')) === 'true', { message: 'jumped again' });
  await page.getByRole('button', { name: /Jump to recent/ }).click();
  await messageById(page, unread.at(-1).id).waitFor();
  await page.waitForTimeout(300);
  assert.equal(await unreadBadge(page, channel.id), 0);
});
