// The other panels of the shell: settings (and the theme), the quick switcher, the
// members panel; with screenshots of each.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, screenshot, signInByApi } from './lib/browser.mjs';
import { seedTeam, uniq } from './lib/api.mjs';
import { tid, openChannel, eventually, expectCount, expectMessage, messagesWithText, holdResponses } from './lib/ui.mjs';

const h = await harness();
after(() => h.close());

h.test('settings: profile and theme', async (s) => {
  const { owner, channel } = await seedTeam(h.url, { members: 1 });
  await owner.post(channel.id, 'something to look at behind the panel');
  const page = await s.open({ user: owner, label: 'ada' });
  await openChannel(page, channel);
  await page.locator(tid('settings-button')).click();
  const panel = page.locator(tid('settings-panel'));
  await panel.waitFor();
  await screenshot(page, 'settings');

  // The theme switch flips <html data-theme>, and the choice survives a reload.
  const before = await page.locator('html').getAttribute('data-theme');
  assert.ok(['light', 'dark'].includes(before), `html has a data-theme (got ${before})`);
  const want = before === 'dark' ? 'light' : 'dark';
  const control = panel.locator(`[value="${want}"], [data-theme-option="${want}"]`).first();
  if (await control.count()) {
    await control.click();
  } else {
    const select = panel.locator('select').filter({ has: page.locator(`option[value="${want}"]`) });
    await select.first().selectOption(want);
  }
  await eventually(async () => (await page.locator('html').getAttribute('data-theme')) === want,
    { message: `the theme switches to ${want}` });
  await screenshot(page, `settings-${want}`);
  await page.reload();
  await page.locator(tid('sidebar')).waitFor();
  assert.equal(await page.locator('html').getAttribute('data-theme'), want, 'the theme is remembered');
});

h.test('the quick switcher opens a channel with Ctrl+K', async (s) => {
  const { owner, channel } = await seedTeam(h.url, { members: 0 });
  const target = await owner.createChannel(uniq('switch-'));
  const page = await s.open({ user: owner, label: 'ada' });
  await openChannel(page, channel);
  await page.keyboard.press('Control+k');
  const qs = page.locator(tid('quick-switcher'));
  await qs.waitFor();
  await qs.locator('input').fill(target.name.slice(0, 9));
  await screenshot(page, 'quick-switcher');
  await qs.locator('input').press('Enter');
  await page.waitForURL(new RegExp(`/c/${target.id}`));
  await page.locator(tid('channel-header'), { hasText: target.name }).waitFor();
  await qs.waitFor({ state: 'detached' });
});

h.test('the members panel lists the channel members', async (s) => {
  const { owner, members, channel } = await seedTeam(h.url, { members: 2 });
  const page = await s.open({ user: owner, label: 'ada' });
  await openChannel(page, channel);
  await page.locator(tid('members-button')).click();
  const panel = page.locator(tid('members-panel'));
  await panel.waitFor();
  await expectCount(panel.locator(tid('member')), 3);
  for (const m of [owner, ...members]) {
    await panel.locator(`${tid('member')}[data-user-id="${m.user.id}"]`).waitFor();
  }
  await screenshot(page, 'members');
});

h.test('the people directory loads in pages after the first channel page, and does not hold it up', async (s) => {
  const { owner, members: [bea, cyd], channel } = await seedTeam(h.url, { members: 2, names: ['Ada Owner', 'Bea Member', 'Cyd Third'] });
  await cyd.post(channel.id, `from cyd ${uniq()}`);
  await owner.post(channel.id, `from ada ${uniq()}`);
  const page = await s.open({ label: 'bea' });
  const order = [];
  page.on('requestfinished', (r) => {
    const u = new URL(r.url());
    if (u.pathname === `/api/v1/channels/${channel.id}/messages`) order.push('history');
    if (u.pathname === '/api/v1/users') order.push(`users:${u.searchParams.get('limit')}`);
  });
  // The directory is held back: the channel must still show, with its authors' names.
  const hold = await holdResponses(page, '**/api/v1/users?*', (u) => new URL(u).pathname === '/api/v1/users');
  await signInByApi(page, bea, `/c/${channel.id}`);
  await page.locator(tid('channel-header'), { hasText: channel.name }).waitFor();
  await expectMessage(page, 'from cyd');
  await eventually(async () => /Cyd Third/.test(await messagesWithText(page, 'from cyd').locator(tid('message-author')).innerText()),
    { message: 'the author is named without the directory' });
  hold.release();
  await eventually(() => order.some((o) => o.startsWith('users:')), { message: 'the directory was loaded' });
  await hold.done();
  assert.equal(order[0], 'history', `the first channel page comes first (order: ${order})`);
  for (const o of order.filter((x) => x.startsWith('users:'))) {
    const limit = Number(o.split(':')[1]);
    assert.ok(limit > 0 && limit <= 200, `the directory is paged (${o})`);
  }
});
