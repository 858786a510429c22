// Preferences that must stick: a channel's notification level and the account-wide
// notification preferences saved in the UI survive a reload and are what the API
// reports; and signing out then back in leaves a working app.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { harness, signIn } from './lib/browser.mjs';
import { seedTeam, uniq, request, Client } from './lib/api.mjs';
import { tid, eventually, expectMessage, expectConfirmed, openChannel, mainComposer, send, channelItem } from './lib/ui.mjs';

const h = await harness();
after(() => h.close());

/** The same user signed in again over REST: a second, independent bearer token. */
async function loginOverApi(who) {
  const r = await request(h.url, 'POST', '/api/v1/auth/login', who.credentials);
  assert.ok(r.token, 'the REST login returns a token');
  assert.notEqual(r.token, who.token);
  return new Client(h.url, r.token, { user: r.user, workspace: r.workspace, email: who.email, password: who.password });
}

async function openChannelNotify(page) {
  await page.locator(tid('channel-menu')).click();
  await page.getByRole('menuitem', { name: 'Notification settings' }).click();
  const dialog = page.locator(tid('channel-notify-dialog'));
  await dialog.locator('select[name=level]').waitFor();
  return dialog;
}

async function openSettingsForm(page) {
  await page.locator(tid('settings-button')).click();
  const panel = page.locator(tid('settings-panel'));
  await panel.locator('input[name=keywords]').waitFor(); // the prefs have loaded
  return panel;
}

h.test('notification preferences saved in the UI survive a reload and are what the API reports', async (s) => {
  const { owner, channel } = await seedTeam(h.url, { members: 1 });
  const page = await s.open({ user: owner, label: 'ada' });
  await openChannel(page, channel);
  const api = await loginOverApi(owner);
  const initial = await api.request('GET', `/api/v1/channels/${channel.id}/notifications`);
  assert.equal(initial.level, 'default');
  assert.equal(initial.muted, false);
  const initialPrefs = await api.request('GET', '/api/v1/notifications/prefs');

  // The channel's level: "all", and muted.
  let dialog = await openChannelNotify(page);
  assert.equal(await dialog.locator('select[name=level]').inputValue(), 'default');
  await dialog.locator('select[name=level]').selectOption('all');
  await dialog.locator('input[name=muted]').check();
  const putChannel = page.waitForResponse((r) => r.url().includes(`/channels/${channel.id}/notifications`) && r.request().method() === 'PUT');
  await dialog.getByRole('button', { name: 'Save' }).click();
  assert.equal((await putChannel).status(), 200);
  await eventually(async () => (await dialog.count()) === 0, { message: 'the dialog closes on save' });

  // The account-wide preferences.
  let panel = await openSettingsForm(page);
  const keywords = ['deploy', uniq('kw')];
  await panel.locator('input[name=keywords]').fill(keywords.join(', '));
  await panel.locator('input[name=quiet_start]').fill('22:00');
  await panel.locator('input[name=quiet_end]').fill('07:30');
  await panel.locator('input[name=time_zone]').fill('Europe/Paris');
  await panel.locator('input[name=thread_replies]').setChecked(!initialPrefs.thread_replies);
  await panel.locator('input[name=email]').setChecked(!initialPrefs.email);
  const putPrefs = page.waitForResponse((r) => r.url().endsWith('/api/v1/notifications/prefs') && r.request().method() === 'PUT');
  await panel.getByRole('button', { name: 'Save notification preferences' }).click();
  assert.equal((await putPrefs).status(), 200);

  // Reload: the UI reads the saved values back.
  await page.reload();
  await page.locator(tid('channel-header'), { hasText: channel.name }).waitFor();
  dialog = await openChannelNotify(page);
  assert.equal(await dialog.locator('select[name=level]').inputValue(), 'all', 'the level is shown after a reload');
  assert.equal(await dialog.locator('input[name=muted]').isChecked(), true, 'muted is shown after a reload');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await eventually(async () => (await dialog.count()) === 0, { message: 'the dialog closes' });
  panel = await openSettingsForm(page);
  assert.equal(await panel.locator('input[name=keywords]').inputValue(), keywords.join(', '));
  assert.equal(await panel.locator('input[name=quiet_start]').inputValue(), '22:00');
  assert.equal(await panel.locator('input[name=quiet_end]').inputValue(), '07:30');
  assert.equal(await panel.locator('input[name=time_zone]').inputValue(), 'Europe/Paris');
  assert.equal(await panel.locator('input[name=thread_replies]').isChecked(), !initialPrefs.thread_replies);
  assert.equal(await panel.locator('input[name=email]').isChecked(), !initialPrefs.email);

  // The API (another session of the same user) reports the same.
  const ch = await api.request('GET', `/api/v1/channels/${channel.id}/notifications`);
  assert.equal(ch.level, 'all');
  assert.equal(ch.muted, true);
  const prefs = await api.request('GET', '/api/v1/notifications/prefs');
  assert.deepEqual(prefs.keywords, keywords);
  assert.deepEqual(prefs.quiet_hours, { start: '22:00', end: '07:30' });
  assert.equal(prefs.time_zone, 'Europe/Paris');
  assert.equal(prefs.thread_replies, !initialPrefs.thread_replies);
  assert.equal(prefs.email, !initialPrefs.email);
  assert.equal(prefs.dnd_until ?? null, null, 'do not disturb stayed off');
});

h.test('signing out and back in gives a working app with the same channels', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1 });
  const page = await s.open({ user: owner, label: 'ada' });
  await openChannel(page, channel);
  const signOut = page.locator(tid('sign-out'));
  if (!(await signOut.isVisible())) await page.locator(tid('user-menu')).click();
  await signOut.click();
  await page.waitForURL(/\/signin$/);
  assert.equal(await page.evaluate(async () => (await fetch('/api/v1/me')).status), 401, 'signed out');

  // A message arrives while signed out.
  const meanwhile = `while you were away ${uniq()}`;
  await bea.post(channel.id, meanwhile);

  await signIn(page, owner);
  await page.locator(tid('sidebar')).waitFor();
  await page.locator(`${tid('connection-state')}[data-state=live]`).waitFor({ timeout: 15_000 });
  await channelItem(page, channel.id).waitFor();
  await openChannel(page, channel);
  await expectMessage(page, meanwhile);
  // Writes work with the new session's CSRF token.
  const back = `back again ${uniq()}`;
  await send(mainComposer(page), back);
  await expectConfirmed(await expectMessage(page, back));
  const stored = await owner.messages(channel.id, '?limit=5');
  assert.ok(stored.messages.some((m) => m.text === back), 'the server has the message sent after signing back in');
});
