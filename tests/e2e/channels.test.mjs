// Joining a team through an invite link, creating, browsing, joining and leaving
// channels, and direct messages with their presence dot, all through the UI.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, screenshot, waitLive } from './lib/browser.mjs';
import { seedTeam, createWorkspace, uniq, PASSWORD } from './lib/api.mjs';
import { tid, channelItem, expectMessage, mainComposer, openChannel, send, eventually } from './lib/ui.mjs';

const h = await harness();
after(() => h.close());

h.test('an invite link made in the UI signs a new person up', async (s) => {
  const owner = await createWorkspace(h.url, { display_name: 'Ada Owner' });
  const general = await owner.createChannel(uniq('general-'));
  const ada = await s.open({ user: owner, at: `/c/${general.id}`, label: 'ada' });
  await ada.locator(tid('invite-button')).click();
  const field = ada.locator(tid('invite-link'));
  await field.waitFor();
  const link = (await field.evaluate((el) => el.value ?? el.textContent)).trim() || (await field.innerText()).trim();
  const url = new URL(link);
  assert.equal(url.origin, h.url, `the invite link points at this server (${link})`);
  assert.match(url.pathname, new RegExp(`^/invite/${owner.workspace.slug}$`));
  assert.ok(url.hash.length > 5, 'the code is in the fragment');

  const newbie = await s.open({ label: 'cy' });
  // The invite code must never reach the server: record every request URL.
  const seen = [];
  newbie.on('request', (r) => seen.push(r.url()));
  await newbie.goto(link);
  const form = newbie.locator(`form${tid('signup-form')}`);
  await form.waitFor();
  const email = `cy@${owner.workspace.slug}.test`;
  await form.locator('input[name=display_name]').fill('Cy Newbie');
  await form.locator('input[name=email]').fill(email);
  await form.locator('input[name=password]').fill(PASSWORD);
  await form.locator('button[type=submit]').click();
  await waitLive(newbie);
  const code = url.hash.slice(1);
  assert.ok(!seen.some((u) => u.includes(code)), 'the invite code was never in a URL sent to the server');
  const me = await newbie.evaluate(async () => (await fetch('/api/v1/me')).json());
  assert.equal(me.user.display_name, 'Cy Newbie');
  assert.equal(me.workspace.slug, owner.workspace.slug);
});

h.test('a channel made in the UI is found, joined and left by another member', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1 });
  const ada = await s.open({ user: owner, at: `/c/${channel.id}`, label: 'ada' });
  const name = uniq('made-');
  await ada.locator(tid('new-channel')).click();
  const form = ada.locator(`form${tid('new-channel-form')}`);
  await form.locator('input[name=name]').fill(name);
  await form.locator('button[type=submit]').click();
  await ada.locator(tid('channel-header'), { hasText: name }).waitFor();
  const made = await owner.channelByName(name);
  assert.ok(made, 'the channel exists on the server');
  await channelItem(ada, made.id).waitFor();
  const hello = `first words ${uniq()}`;
  await send(mainComposer(ada), hello);
  await expectMessage(ada, hello);

  const bee = await s.open({ user: bea, at: `/c/${channel.id}`, label: 'bea' });
  assert.equal(await channelItem(bee, made.id).count(), 0, 'not in bea\'s sidebar before joining');
  await bee.locator(tid('browse-channels')).click();
  const panel = bee.locator(tid('browse-panel'));
  const item = panel.locator(`${tid('browse-item')}[data-channel-id="${made.id}"]`);
  await item.waitFor();
  await screenshot(bee, 'browse-channels');
  await item.locator(tid('join')).click();
  await channelItem(bee, made.id).waitFor();
  await openChannel(bee, made);
  await expectMessage(bee, hello);

  // Bea's message reaches Ada live in the new channel.
  const reply = `joined ${uniq()}`;
  await send(mainComposer(bee), reply);
  await expectMessage(ada, reply);

  // Leaving removes it from Bea's sidebar.
  await bee.locator(tid('channel-menu')).click().catch(() => {});
  await bee.locator(tid('leave-channel')).click();
  await eventually(async () => (await channelItem(bee, made.id).count()) === 0, { message: 'gone from the sidebar' });
  const mine = await bea.channels();
  assert.ok(!mine.some((c) => c.id === made.id), 'bea left on the server');
});

h.test('a direct message started in the UI reaches the other person live', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1, names: ['Ada Owner', 'Bea Member'] });
  const ada = await s.open({ user: owner, at: `/c/${channel.id}`, label: 'ada' });
  const bee = await s.open({ user: bea, at: `/c/${channel.id}`, label: 'bea' });
  await ada.locator(tid('new-dm')).click();
  await ada.locator(`${tid('dm-user')}[data-user-id="${bea.user.id}"]`).click();
  await ada.locator(tid('start-dm')).click();
  await ada.waitForURL((u) => u.pathname.startsWith('/c/') && !u.pathname.includes(channel.id));
  const dmId = ada.url().match(/\/c\/([^/?#]+)/)[1];
  assert.notEqual(dmId, channel.id);
  const item = channelItem(ada, dmId);
  await item.waitFor();
  assert.match(await item.innerText(), /Bea/);
  // Bea is online: her presence dot says so.
  await eventually(async () => (await item.locator(tid('presence-dot')).getAttribute('data-presence')) === 'active',
    { message: 'bea shows active' });

  const text = `psst ${uniq()}`;
  await send(mainComposer(ada), text);
  await expectMessage(ada, text);
  // Bea gets the DM in her sidebar with an unread badge, without a reload.
  const theirs = channelItem(bee, dmId);
  await theirs.waitFor({ timeout: 10_000 });
  assert.match(await theirs.innerText(), /Ada/);
  await eventually(async () => /1/.test(await theirs.locator(tid('unread-badge')).innerText()), { message: 'bea has 1 unread DM' });
  await theirs.click();
  await expectMessage(bee, text);
  await screenshot(bee, 'direct-message');
});

h.test('the first message of a new DM counts as unread when it arrives while the channel list reloads', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1, names: ['Ada Owner', 'Bea Member'] });
  const bee = await s.open({ user: bea, at: `/c/${channel.id}`, label: 'bea' });
  await waitLive(bee);
  // Bea's first reload of the list (for the new DM) is answered before the message and
  // reaches her only after its event: the event finds no such channel in her list.
  let held = true;
  let release;
  const released = new Promise((r) => (release = r));
  await bee.route('**/api/v1/channels', async (route) => {
    if (route.request().method() !== 'GET' || !held) return route.continue();
    held = false;
    const response = await route.fetch();
    await released;
    await route.fulfill({ response });
  });
  const dm = await owner.openDm([bea.user.id]);
  const dmId = dm.id ?? dm.channel?.id;
  await bee.waitForTimeout(700); // the reload is on its way and held
  await owner.post(dmId, `psst ${uniq()}`);
  await bee.waitForTimeout(500); // the message's event arrives meanwhile
  release();
  const theirs = channelItem(bee, dmId);
  await theirs.waitFor({ timeout: 10_000 });
  await eventually(async () => /1/.test(await theirs.locator(tid('unread-badge')).innerText()), { message: 'bea has 1 unread DM' });
});
