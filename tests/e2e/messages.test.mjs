// Thread replies, reactions, edits and deletes made in one browser are seen live in the
// other.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, screenshot } from './lib/browser.mjs';
import { seedTeam, uniq } from './lib/api.mjs';
import {
  tid, expectMessage, expectCount, mainComposer, messageAction, messageById, openChannel,
  send, eventually, messagesWithText, expectConfirmed, channelItem, numberIn,
} from './lib/ui.mjs';

const h = await harness();
after(() => h.close());

/** Two signed-in people with the same channel open. */
async function pair(s) {
  const team = await seedTeam(h.url, { members: 1, names: ['Ada Owner', 'Bea Member'] });
  const ada = await s.open({ user: team.owner, label: 'ada' });
  const bea = await s.open({ user: team.members[0], label: 'bea' });
  await openChannel(ada, team.channel);
  await openChannel(bea, team.channel);
  return { ...team, ada, bea, api: { ada: team.owner, bea: team.members[0] } };
}

h.test('a thread reply is seen live, with the reply count on the root', async (s) => {
  const { ada, bea, api, channel } = await pair(s);
  const rootText = `thread root ${uniq()}`;
  const root = await api.ada.post(channel.id, rootText);
  await expectMessage(bea, rootText);

  // Bea replies in the thread panel.
  await messageAction(messageById(bea, root.id), 'reply');
  const panel = bea.locator(tid('thread-panel'));
  await panel.waitFor();
  await expectCount(panel.locator(`${tid('message')}[data-message-id="${root.id}"]`), 1);
  const replyText = `a reply ${uniq()}`;
  await send(panel.locator(`${tid('composer')} textarea`), replyText);
  await expectCount(panel.locator(tid('message'), { hasText: replyText }), 1);
  // Replies stay out of the main list.
  assert.equal(await messagesWithText(bea, replyText).count(), 0, 'the reply is not in the channel list');

  // Ada sees the count change live and opens the thread from it.
  const count = messageById(ada, root.id).locator(tid('reply-count'));
  await eventually(async () => /1/.test(await count.innerText()), { message: 'reply count 1 on the root' });
  await count.click();
  const adaPanel = ada.locator(tid('thread-panel'));
  await expectCount(adaPanel.locator(tid('message'), { hasText: replyText }), 1);

  // Ada answers in the thread; Bea's open panel shows it live.
  const second = `second reply ${uniq()}`;
  await send(adaPanel.locator(`${tid('composer')} textarea`), second);
  await expectCount(panel.locator(tid('message'), { hasText: second }), 1);
  await expectCount(adaPanel.locator(tid('message'), { hasText: second }), 1);
  await eventually(async () => /2/.test(await messageById(bea, root.id).locator(tid('reply-count')).innerText()),
    { message: 'reply count 2 for bea' });
  await screenshot(bea, 'thread');

  await panel.locator(tid('close-thread')).click();
  await panel.waitFor({ state: 'detached' });
  // The server agrees.
  const replies = await api.ada.request('GET', `/api/v1/messages/${root.id}/replies`);
  assert.deepEqual(replies.messages.map((m) => m.text), [replyText, second]);
});

h.test('a reaction toggles live for both', async (s) => {
  const { ada, bea, api, channel } = await pair(s);
  const msg = await api.ada.post(channel.id, `react to me ${uniq()}`);
  const onBea = messageById(bea, msg.id);
  const onAda = messageById(ada, msg.id);
  await onBea.waitFor();
  await onAda.waitFor();

  // Bea picks an emoji from the picker.
  await messageAction(onBea, 'react');
  const picker = bea.locator(tid('emoji-picker'));
  await picker.waitFor();
  const preferred = picker.locator('button[data-emoji="thumbsup"], button[data-emoji="+1"]');
  const button = (await preferred.count()) ? preferred.first() : picker.locator('button[data-emoji]').first();
  const emoji = await button.getAttribute('data-emoji');
  await button.click();

  const reactionOn = (page) => messageById(page, msg.id).locator(`${tid('reaction')}[data-emoji="${emoji}"]`);
  const countOn = (page) => numberIn(reactionOn(page));
  await eventually(async () => (await countOn(ada)) === 1, { message: `ada sees ${emoji} 1` });
  await eventually(async () => (await countOn(bea)) === 1, { message: `bea sees ${emoji} 1` });

  // Ada adds hers by clicking the reaction.
  await reactionOn(ada).click();
  await eventually(async () => (await countOn(bea)) === 2, { message: `bea sees ${emoji} 2` });
  await eventually(async () => (await countOn(ada)) === 2, { message: `ada sees ${emoji} 2` });

  // Bea takes hers back.
  await reactionOn(bea).click();
  await eventually(async () => (await countOn(ada)) === 1, { message: `ada sees ${emoji} back to 1` });
  const server = await api.ada.request('GET', `/api/v1/messages/${msg.id}`);
  const found = (server.message ?? server).reactions.find((r) => r.emoji === emoji);
  assert.deepEqual(found?.user_ids, [api.ada.user.id], 'the server holds only ada\'s reaction');

  // Ada takes hers back: the reaction disappears for Bea.
  await reactionOn(ada).click();
  await eventually(async () => (await countOn(bea)) === 0, { message: 'the reaction is gone for bea' });
});

h.test('an edit is seen live with the edited mark; ArrowUp edits the last own message', async (s) => {
  const { ada, bea, channel } = await pair(s);
  const original = `typo mesage ${uniq()}`;
  await send(mainComposer(ada), original);
  const mine = await expectMessage(ada, original);
  await expectMessage(bea, original);
  const id = await mine.getAttribute('data-message-id');

  await messageAction(messageById(ada, id), 'edit');
  const box = ada.locator(`${tid('edit-box')}`).locator('textarea').or(ada.locator(`textarea${tid('edit-box')}`));
  await box.first().waitFor();
  const fixed = original.replace('mesage', 'message');
  await box.first().fill(fixed);
  await box.first().press('Enter');
  const onBea = messageById(bea, id);
  await eventually(async () => (await onBea.locator(tid('message-text')).innerText()).includes(fixed),
    { message: 'bea sees the edited text' });
  await onBea.locator(tid('edited-mark')).waitFor();
  await messageById(ada, id).locator(tid('edited-mark')).waitFor();

  // ArrowUp in the empty composer edits the last own message; Escape cancels.
  await mainComposer(ada).click();
  await mainComposer(ada).press('ArrowUp');
  await box.first().waitFor();
  assert.equal(await box.first().inputValue(), fixed);
  await box.first().press('Escape');
  await box.first().waitFor({ state: 'detached' });
  assert.ok((await messageById(ada, id).locator(tid('message-text')).innerText()).includes(fixed));
});

h.test('a delete is seen live, after a confirmation', async (s) => {
  const { ada, bea, api, channel } = await pair(s);
  const doomed = `delete me ${uniq()}`;
  const keep = `keep me ${uniq()}`;
  const msg = await api.ada.post(channel.id, doomed);
  await api.ada.post(channel.id, keep);
  await expectMessage(bea, keep);
  await expectMessage(bea, doomed);

  await messageAction(messageById(ada, msg.id), 'delete');
  await ada.locator(tid('confirm-delete')).click();

  // Gone (or a tombstone) for both; the text is nowhere; the other message stays.
  for (const page of [bea, ada]) {
    await eventually(async () => {
      const el = messageById(page, msg.id);
      if ((await el.count()) === 0) return true;
      return (await el.locator(tid('message-deleted')).count()) === 1;
    }, { message: `[${page.label}] the message is deleted` });
    await expectCount(messagesWithText(page, doomed), 0);
    await expectMessage(page, keep);
  }
  const server = await api.ada.request('GET', `/api/v1/messages/${msg.id}`).catch((e) => e);
  assert.ok(server.status === 404 || (server.message ?? server).deleted, 'deleted on the server');
});

h.test('a typed #channel-name becomes a link to that channel', async (s) => {
  const { ada, api, channel } = await pair(s);
  const other = await api.ada.createChannel(uniq('target-'));
  await channelItem(ada, other.id).waitFor();
  const text = `see #${other.name}, not #no-such-channel-${uniq('')}`;
  await send(mainComposer(ada), text);
  const msg = await expectMessage(ada, 'see #');
  await expectConfirmed(msg);
  const refs = msg.locator(`${tid('message-text')} a.channel-ref`);
  await expectCount(refs, 1);
  assert.equal(await refs.innerText(), `#${other.name}`);
  assert.match(await msg.locator(tid('message-text')).innerText(), /#no-such-channel-/, 'an unknown name stays text');
  // Sent as typed.
  const stored = (await api.ada.messages(channel.id, '?limit=5')).messages.find((m) => m.text.startsWith('see #'));
  assert.equal(stored.text, text);
  await refs.click();
  await ada.waitForURL(new RegExp(`/c/${other.id}`));
  await ada.locator(tid('channel-header'), { hasText: other.name }).waitFor();
});

h.test('a long thread loads its replies page by page, with a capped panel', async (s) => {
  const { bea, api, channel } = await pair(s);
  const root = await api.ada.post(channel.id, `long thread ${uniq()}`);
  const N = 220;
  const replies = new Array(N);
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < N) {
      const i = next++;
      replies[i] = await api.ada.reply(channel.id, root.id, `reply number ${i}`);
    }
  }));
  replies.sort((a, b) => a.seq - b.seq);
  const asked = [];
  bea.on('request', (r) => {
    if (r.url().includes(`/messages/${root.id}/replies`)) asked.push(new URL(r.url()).searchParams.get('limit'));
  });
  const count = messageById(bea, root.id).locator(tid('reply-count'));
  await eventually(async () => new RegExp(`${N}`).test(await count.innerText()), { message: 'the root shows the count' });
  await count.click();
  const panel = bea.locator(tid('thread-panel'));
  const inPanel = (id) => panel.locator(`${tid('message')}[data-message-id="${id}"]`);
  await inPanel(replies[0].id).waitFor();
  const shown = () => panel.locator(tid('message')).count();
  assert.ok((await shown()) <= 51, `the first page only (${await shown()} rows)`);
  assert.ok(asked.every((l) => l && Number(l) <= 50), `replies are asked for page by page: limits ${asked}`);

  // Scrolling down loads more until the newest reply; the panel never holds them all.
  const scroller = panel.locator('.panel-scroll');
  let most = 0;
  await eventually(async () => {
    await scroller.evaluate((el) => (el.scrollTop = el.scrollHeight));
    most = Math.max(most, await shown());
    return (await inPanel(replies.at(-1).id).count()) === 1;
  }, { message: 'reached the newest reply', timeout: 30_000, interval: 250 });
  assert.ok(most <= 160, `the panel stays capped (at most ${most} rows)`);
  assert.equal(await inPanel(replies[0].id).count(), 0, 'the oldest replies were dropped from the DOM');

  // And back up to the first one.
  await eventually(async () => {
    await scroller.evaluate((el) => (el.scrollTop = 0));
    return (await inPanel(replies[0].id).count()) === 1;
  }, { message: 'back at the first reply', timeout: 30_000, interval: 250 });
  const ids = await panel.locator(`${tid('message')}[data-message-id]`).evaluateAll((els) => els.map((e) => e.getAttribute('data-message-id')));
  assert.equal(new Set(ids).size, ids.length, 'no duplicates');

  // A reply sent from up here shows at the end (the panel pages to it).
  const mine = `my late reply ${uniq()}`;
  await send(panel.locator(`${tid('composer')} textarea`), mine);
  await expectCount(panel.locator(tid('message'), { hasText: mine }), 1, { timeout: 20_000 });
  await eventually(async () => (await panel.locator(`${tid('message')}[data-state=pending]`).count()) === 0, { message: 'confirmed' });
  await expectCount(panel.locator(tid('message'), { hasText: mine }), 1);
});
