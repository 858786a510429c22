// File upload through the composer: an image shows a thumbnail preview (loaded with the
// cookie alone), any other file a download card whose link downloads the same bytes.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { harness, screenshot } from './lib/browser.mjs';
import { seedTeam, uniq, makePng, PNG_1x1 } from './lib/api.mjs';
import { tid, expectMessage, mainComposer, openChannel, messageById, eventually, expectCount } from './lib/ui.mjs';

const h = await harness();
after(() => h.close());

/** Attaches a file through the hidden input, waits for the upload, then sends `text`. */
async function attachAndSend(page, file, text) {
  await page.locator(`input[type=file]${tid('file-input')}`).first().setInputFiles(file);
  // The upload finishes (progress gone) before the message can be sent.
  await eventually(async () => (await page.locator(tid('upload-progress')).count()) === 0,
    { timeout: 15_000, message: 'the upload finished' });
  const box = mainComposer(page);
  await box.click();
  if (text) await box.fill(text);
  await box.press('Enter');
}

/** The loaded image's natural size, once it has loaded. */
async function loadedSize(img) {
  return eventually(async () => {
    const size = await img.evaluate((el) => (el.complete && el.naturalWidth > 0 ? [el.naturalWidth, el.naturalHeight] : null));
    return size;
  }, { message: 'the image preview loaded' });
}

h.test('an uploaded image shows a preview for both people', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1 });
  const ada = await s.open({ user: owner, label: 'ada' });
  const other = await s.open({ user: bea, label: 'bea' });
  await openChannel(ada, channel);
  await openChannel(other, channel);

  const caption = `look at this ${uniq()}`;
  await attachAndSend(ada, { name: 'gradient.png', mimeType: 'image/png', buffer: makePng(96, 64) }, caption);

  for (const page of [ada, other]) {
    const msg = await expectMessage(page, caption, { timeout: 15_000 });
    const img = msg.locator(`img${tid('image-preview')}`);
    await expectCount(img, 1, { message: `[${page.label}] one image preview` });
    const [w, hgt] = await loadedSize(img);
    assert.ok(w > 0 && hgt > 0, 'the preview has pixels');
    const src = await img.getAttribute('src');
    assert.match(src, /^(\/api\/v1\/files\/[^/]+(\/thumb)?|blob:.*)$/, `the preview is served by hearth (src=${src})`);
    assert.equal(await msg.locator(tid('file-card')).count(), 0, 'an image gets no download card');
  }
  // The server has the message with the file attached.
  const id = await (await expectMessage(other, caption)).getAttribute('data-message-id');
  const stored = await owner.request('GET', `/api/v1/messages/${id}`);
  assert.equal(stored.files.length, 1);
  assert.equal(stored.files[0].mime_type, 'image/png');
  await screenshot(other, 'image-preview');
});

h.test('a non-image file gets a download card that downloads the same bytes', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1 });
  const ada = await s.open({ user: owner, label: 'ada' });
  const other = await s.open({ user: bea, label: 'bea' });
  await openChannel(ada, channel);
  await openChannel(other, channel);

  const content = `name,score\nada,3\nbea,5\n${uniq()}\n`;
  const caption = `the report ${uniq()}`;
  await attachAndSend(ada, { name: 'report.csv', mimeType: 'text/csv', buffer: Buffer.from(content) }, caption);

  const msg = await expectMessage(other, caption, { timeout: 15_000 });
  const card = msg.locator(tid('file-card'));
  await expectCount(card, 1, { message: 'one file card' });
  assert.match(await card.innerText(), /report\.csv/, 'the card names the file');
  assert.equal(await msg.locator(`img${tid('image-preview')}`).count(), 0, 'no image preview for a csv');
  const link = card.locator('a[href]').or(card.and(other.locator('a[href]'))).first();
  const href = await link.getAttribute('href');
  assert.match(href, /^\/api\/v1\/files\/[^/?#]+/, `the card links to the file (href=${href})`);

  const [download] = await Promise.all([other.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), 'report.csv');
  const file = await download.path();
  assert.equal(readFileSync(file, 'utf8'), content, 'the downloaded bytes are the uploaded ones');
});

h.test('an image posted over the API (a tiny PNG) shows for a reader who was already there', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1 });
  const page = await s.open({ user: bea, label: 'bea' });
  await openChannel(page, channel);
  const file = await owner.upload('dot.png', PNG_1x1, 'image/png');
  const msg = await owner.post(channel.id, 'a dot', { file_ids: [file.id] });
  const img = messageById(page, msg.id).locator(`img${tid('image-preview')}`);
  await img.waitFor();
  await loadedSize(img);
});

h.test('only png/jpeg/gif/webp get an image preview: svg and tiff are file cards', async (s) => {
  const { owner, members: [bea], channel } = await seedTeam(h.url, { members: 1 });
  const page = await s.open({ user: bea, label: 'bea' });
  await openChannel(page, channel);
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
  const tiff = Buffer.from([0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]);
  for (const [name, bytes, type] of [['pic.svg', svg, 'image/svg+xml'], ['scan.tiff', tiff, 'image/tiff']]) {
    const file = await owner.upload(name, bytes, type);
    const msg = await owner.post(channel.id, `file ${name}`, { file_ids: [file.id] });
    const row = messageById(page, msg.id);
    await row.locator(tid('file-card')).waitFor();
    assert.equal(await row.locator(tid('image-preview')).count(), 0, `${name} (${file.mime_type}): no image preview`);
    assert.match(await row.locator(tid('file-card')).innerText(), new RegExp(name.replace('.', '\\.')));
  }
});
