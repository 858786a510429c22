// The composer as two people notice it: the typing indicator, @mention and #channel
// autocomplete, and files shared by paste and by drag and drop.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, waitLive } from './lib/browser.mjs';
import { seedTeam, uniq, makePng } from './lib/api.mjs';
import {
  tid, eventually, expectCount, expectMessage, expectConfirmed, mainComposer, mainMessages,
  openChannel, channelItem, dispatchFiles,
} from './lib/ui.mjs';

const h = await harness();
after(() => h.close());

h.test('typing shows "Ada is typing" to Bea and goes away when Ada stops', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1, names: ['Ada Owner', 'Bea Member'] });
  await owner.post(channel.id, 'a first message');
  const ada = await s.open({ user: owner, label: 'ada' });
  const bee = await s.open({ user: bea, label: 'bea' });
  await openChannel(ada, channel);
  await openChannel(bee, channel);
  await waitLive(ada);
  await waitLive(bee);
  const indicator = bee.locator(tid('typing-indicator'));
  assert.equal(await indicator.count(), 0, 'nobody is typing yet');

  const box = mainComposer(ada);
  await box.click();
  await box.pressSequentially('thinking about it', { delay: 20 });
  await indicator.waitFor({ timeout: 10_000 });
  assert.match(await indicator.innerText(), /Ada Owner/, 'the indicator names Ada');
  // Ada's own view does not show herself typing.
  assert.equal(await ada.locator(tid('typing-indicator')).count(), 0, 'one does not see oneself typing');

  // Ada stops (the draft stays): the indicator expires on its own.
  const stopped = Date.now();
  await eventually(async () => (await indicator.count()) === 0, { timeout: 12_000, message: 'the typing indicator goes away' });
  assert.ok(Date.now() - stopped < 12_000);

  // Typing again, then sending, clears it at once (the message arrives).
  await box.pressSequentially(' and more', { delay: 20 });
  await indicator.waitFor({ timeout: 10_000 });
  await box.press('Enter');
  await expectMessage(bee, 'thinking about it and more');
  await eventually(async () => (await indicator.count()) === 0, { timeout: 3_000, message: 'the indicator clears when the message arrives' });
});

h.test('@mention autocomplete picks Bea, who gets a mention badge; #channel autocomplete links the channel', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1, names: ['Ada Owner', 'Bea Member'] });
  const elsewhere = await owner.createChannel(uniq('elsewhere-'));
  await bea.join(elsewhere.id);
  const random = await owner.createChannel(uniq('random-'));
  const ada = await s.open({ user: owner, label: 'ada' });
  const bee = await s.open({ user: bea, label: 'bea' });
  await openChannel(ada, channel);
  await openChannel(bee, elsewhere);
  await waitLive(ada);
  await waitLive(bee);
  await channelItem(bee, channel.id).waitFor();
  assert.equal(await channelItem(bee, channel.id).locator(tid('mention-badge')).count(), 0);

  // "@be" suggests Bea; Enter picks her.
  const box = mainComposer(ada);
  await box.click();
  await box.pressSequentially('hey @be');
  const list = ada.locator(tid('autocomplete'));
  await list.waitFor();
  const beaItem = list.locator(tid('autocomplete-item'), { hasText: 'Bea Member' });
  await expectCount(beaItem, 1);
  await eventually(async () => (await list.locator(`${tid('autocomplete-item')}[aria-selected="true"]`).innerText()).includes('Bea Member'),
    { message: 'Bea is the selected suggestion' });
  await box.press('Enter');
  await eventually(async () => (await box.inputValue()) === `hey @${bea.user.handle} `, { message: 'the handle is inserted' });
  assert.equal(await list.count(), 0, 'the list closes after picking');
  const tag = uniq('');
  await box.pressSequentially(`look ${tag}`);
  await box.press('Enter');
  const msg = await expectMessage(ada, `look ${tag}`);
  await expectConfirmed(msg);
  const mention = msg.locator(`${tid('message-text')} .mention[data-user-id="${bea.user.id}"]`);
  await expectCount(mention, 1);
  assert.match(await mention.innerText(), /Bea Member|@/, 'the mention names Bea');

  // Bea, in another channel, gets a mention badge on the channel.
  const badge = channelItem(bee, channel.id).locator(tid('mention-badge'));
  await badge.waitFor({ timeout: 10_000 });
  assert.equal((await badge.innerText()).trim(), '1');

  // "#ran" suggests the random channel; a click picks it.
  await box.click();
  await box.pressSequentially('go to #ran');
  await list.waitFor();
  const randomItem = list.locator(tid('autocomplete-item'), { hasText: `#${random.name}` });
  await expectCount(randomItem, 1);
  await randomItem.click();
  await eventually(async () => (await box.inputValue()) === `go to #${random.name} `, { message: 'the channel name is inserted' });
  const tag2 = uniq('');
  await box.pressSequentially(`now ${tag2}`);
  await box.press('Enter');
  const msg2 = await expectMessage(ada, `now ${tag2}`);
  await expectConfirmed(msg2);
  const stored = (await owner.messages(channel.id, '?limit=5')).messages.find((m) => m.text.includes(tag2));
  assert.ok(stored.text.includes(`<#${random.id}>`), `sent as a channel reference (${stored.text})`);
  const link = msg2.locator(`${tid('message-text')} a.channel-ref`);
  await expectCount(link, 1);
  assert.equal(await link.innerText(), `#${random.name}`);
  await link.click();
  await ada.waitForURL(new RegExp(`/c/${random.id}`));
  await ada.locator(tid('channel-header'), { hasText: random.name }).waitFor();
});

h.test('an image pasted into the composer and a file dropped on the channel are shared', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1, names: ['Ada Owner', 'Bea Member'] });
  await owner.post(channel.id, 'share something');
  const ada = await s.open({ user: owner, label: 'ada' });
  const bee = await s.open({ user: bea, label: 'bea' });
  await openChannel(ada, channel);
  await openChannel(bee, channel);
  await waitLive(ada);
  await waitLive(bee);
  const png = makePng(64, 48);

  // Paste an image into the composer.
  const uploads = [];
  ada.on('response', (r) => {
    if (r.url().includes('/api/v1/files') && r.request().method() === 'POST') uploads.push(r.status());
  });
  await dispatchFiles(mainComposer(ada), 'paste', [{ name: 'pasted.png', type: 'image/png', bytes: png }]);
  const attachment = ada.locator(`${tid('composer')} .attachment`).first();
  await attachment.waitFor();
  await eventually(async () => (await attachment.getAttribute('class')).includes('done'), { message: 'the pasted image uploads' });
  assert.equal(await ada.locator(tid('upload-progress')).count(), 0, 'no progress bar left once done');
  assert.equal(uploads.length, 1, 'one upload for the paste');
  const caption = `pasted ${uniq('')}`;
  await mainComposer(ada).fill(caption);
  await mainComposer(ada).press('Enter');
  const mine = await expectMessage(ada, caption);
  await expectConfirmed(mine);
  const theirs = await expectMessage(bee, caption);
  const img = theirs.locator(`img${tid('image-preview')}`);
  await img.waitFor();
  await eventually(async () => img.evaluate((el) => el.complete && el.naturalWidth > 0), { message: 'the preview loads for Bea' });

  // Drop a text file anywhere on the channel view: it uploads and goes out with the next message.
  const before = await mainMessages(bee).count();
  await dispatchFiles(ada.locator(tid('message-list')), 'drop', [{ name: 'notes.txt', type: 'text/plain', bytes: Buffer.from('dropped notes\n') }]);
  const dropped = ada.locator(`${tid('composer')} .attachment`, { hasText: 'notes.txt' });
  await dropped.waitFor();
  await eventually(async () => (await dropped.getAttribute('class')).includes('done'), { message: 'the dropped file uploads' });
  await mainComposer(ada).click();
  await mainComposer(ada).press('Enter');
  await eventually(async () => (await mainMessages(bee).count()) === before + 1, { message: 'the file message reaches Bea' });
  const card = mainMessages(bee).last().locator(tid('file-card'));
  await card.waitFor();
  assert.match(await card.innerText(), /notes\.txt/);
  assert.ok(uploads.length >= 2 && uploads.every((st) => st >= 200 && st < 300), `both uploads succeeded (${uploads})`);
});
