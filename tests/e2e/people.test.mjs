// People as others see them: presence dots in a DM that follow a connection, and one's
// own profile and status edited in the settings and seen by the other person.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, waitLive } from './lib/browser.mjs';
import { seedTeam, uniq } from './lib/api.mjs';
import { tid, eventually, expectMessage, openChannel, channelItem, messagesWithText } from './lib/ui.mjs';

const h = await harness();
after(() => h.close());

h.test('a DM shows the partner active while connected and offline after they leave', async (s) => {
  const { owner, members: [bea] } = await seedTeam(h.url, { members: 1, channel: null, names: ['Ada Owner', 'Bea Member'] });
  const dm = await owner.openDm([bea.user.id]);
  const dmId = dm.id ?? dm.channel?.id;
  assert.ok(dmId, `a DM id (${JSON.stringify(dm)})`);
  const bee = await s.open({ user: bea, label: 'bea' });
  const item = channelItem(bee, dmId);
  await item.waitFor();
  const dot = item.locator(tid('presence-dot'));
  await eventually(async () => (await dot.getAttribute('data-presence')) === 'offline', { message: 'Ada is offline before she connects' });

  const ada = await s.open({ user: owner, label: 'ada' });
  await ada.locator(tid('connection-state') + '[data-state=live]').waitFor({ timeout: 15_000 });
  await eventually(async () => (await dot.getAttribute('data-presence')) === 'active', { timeout: 15_000, message: 'Ada shows active' });

  // Bea opens the DM; the dot stays in the sidebar.
  await item.click();
  await bee.waitForURL(new RegExp(`/c/${dmId}`));

  // Ada closes her browser: within the server's presence TTL she is no longer active.
  await ada.context().close();
  await eventually(async () => ['offline', 'away'].includes(await dot.getAttribute('data-presence')),
    { timeout: 20_000, interval: 250, message: 'Ada shows offline (or away) after her page closed' });
});

h.test('a new display name and status are seen by the other person, live and on the profile card', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1, names: ['Ada Owner', 'Bea Member'] });
  const said = `something said ${uniq()}`;
  await owner.post(channel.id, said);
  const ada = await s.open({ user: owner, label: 'ada' });
  const bee = await s.open({ user: bea, label: 'bea' });
  await openChannel(ada, channel);
  await openChannel(bee, channel);
  await waitLive(ada);
  await waitLive(bee);
  const theirs = await expectMessage(bee, said);
  assert.match(await theirs.locator(tid('message-author')).innerText(), /Ada Owner/);

  // Ada edits her profile in the settings.
  const newName = `Ada ${uniq('N')}`;
  const status = `On holiday ${uniq('')}`;
  await ada.locator(tid('settings-button')).click();
  const panel = ada.locator(tid('settings-panel'));
  await panel.waitFor();
  await panel.locator('input[name=display_name]').fill(newName);
  await panel.locator('input[name=status_text]').fill(status);
  const saved = ada.waitForResponse((r) => r.url().endsWith('/api/v1/users/me') && r.request().method() === 'PATCH');
  await panel.getByRole('button', { name: 'Save profile' }).click();
  assert.equal((await saved).status(), 200, 'the profile is saved');
  const me = await owner.me();
  assert.equal(me.user.display_name, newName);
  assert.equal(me.user.status_text, status);
  // Her own messages show the new name at once.
  await eventually(async () => (await messagesWithText(ada, said).locator(tid('message-author')).innerText()).includes(newName),
    { message: 'Ada sees her new name' });

  // Bea sees the new name on the message without a reload (user.updated).
  await eventually(async () => (await theirs.locator(tid('message-author')).innerText()).includes(newName),
    { message: 'Bea sees the new name live' });

  // And the profile card from the author's name shows the name and the status.
  await theirs.locator(tid('message-author')).click();
  const card = bee.locator(tid('profile-card'));
  await card.waitFor();
  await eventually(async () => {
    const text = await card.innerText();
    return text.includes(newName) && text.includes(status);
  }, { message: 'the profile card shows the new name and status' });
  await bee.keyboard.press('Escape');
  await eventually(async () => (await card.count()) === 0, { message: 'the card closes' });

  // After a reload, the same.
  await bee.reload();
  await expectMessage(bee, said);
  // (the people directory may load after the first page of messages: poll)
  await eventually(async () => (await messagesWithText(bee, said).locator(tid('message-author')).innerText()).includes(newName),
    { message: 'Bea sees the new name after a reload' });
});
