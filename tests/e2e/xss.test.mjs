// Hostile text renders as text: markup in messages, names and topics never becomes
// elements, javascript: links are neutralised, and no dialog ever opens (the guard fails
// the test on any dialog, page error or CSP violation).

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { harness } from './lib/browser.mjs';
import { createWorkspace, addMember, uniq } from './lib/api.mjs';
import { tid, expectMessage, mainComposer, messageById, openChannel, send, eventually } from './lib/ui.mjs';

const h = await harness();
after(() => h.close());

// [payload, text that must be visible as typed (null: only check nothing ran)]
const PAYLOADS = [
  ['<img src=x onerror=alert(1)>', '<img src=x onerror=alert(1)>'],
  ['<script>alert(1)</script>', '<script>alert(1)</script>'],
  ['[x](javascript:alert(1))', null],
  ['<javascript:alert(1)|click>', null],
  ['[y](JaVaScRiPt:alert(1))', null],
  ['[z](  javascript:alert(1))', null],
  ['[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)', null],
  ['![i](javascript:alert(1))', null],
  ['<a href="javascript:alert(1)">a</a>', '<a href="javascript:alert(1)">a</a>'],
  ['"><svg onload=alert(1)>', '"><svg onload=alert(1)>'],
  ['<iframe src="javascript:alert(1)"></iframe>', '<iframe src="javascript:alert(1)"></iframe>'],
  ['<style>body{display:none}</style>', '<style>body{display:none}</style>'],
  ['`<b>code</b>` and **<i>bold</i>**', '<b>code</b>'],
  ['<https://example.com|"><img src=x onerror=alert(1)>>', null],
  ['[x](https://example.com" onmouseover="alert(1))', null],
  // Entities may be decoded (Slack-style escaping) but must stay text.
  ['&lt;img src=x onerror=alert(1)&gt;', null],
];

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

/** Asserts nothing dangerous exists anywhere in the document. */
async function assertNoInjection(page) {
  const report = await page.evaluate(() => {
    const bad = [];
    for (const el of document.querySelectorAll('*')) {
      for (const attr of el.getAttributeNames()) {
        if (/^on/i.test(attr)) bad.push(`<${el.localName} ${attr}>`);
      }
    }
    const inMessages = document.querySelectorAll(
      '[data-testid=message-text] :is(img, script, iframe, svg, object, embed, style, form, input, link, meta, base)',
    );
    for (const el of inMessages) bad.push(`<${el.localName}> inside a message text`);
    for (const el of document.querySelectorAll('img[src="x"], iframe, object, embed')) bad.push(`<${el.localName}> injected`);
    const links = [...document.querySelectorAll('a[href]')].map((a) => ({ href: a.getAttribute('href'), protocol: a.protocol }));
    return { bad, links, xss: window.__xss === true };
  });
  assert.deepEqual(report.bad, [], 'no injected element or handler attribute');
  for (const { href, protocol } of report.links) {
    assert.ok(SAFE_PROTOCOLS.has(protocol) || href.startsWith('/') || href.startsWith('#'),
      `link href is safe: ${href} (${protocol})`);
  }
  assert.equal(report.xss, false);
}

h.test('XSS payloads in messages render as text and run nothing', async (s) => {
  const owner = await createWorkspace(h.url, { display_name: 'Ada Owner' });
  // A member whose display name is itself a payload.
  const mallory = await addMember(owner, { display_name: '<img src=x onerror=alert(2)>Mallory' });
  const channel = await owner.createChannel(uniq('xss-'), { topic: '<img src=x onerror=alert(3)> topic' });
  await mallory.join(channel.id);

  const posted = [];
  for (const [payload] of PAYLOADS) posted.push(await mallory.post(channel.id, payload));

  const page = await s.open({ user: owner, label: 'ada' });
  await openChannel(page, channel);
  for (const [i, [payload, visible]] of PAYLOADS.entries()) {
    const msg = messageById(page, posted[i].id);
    await msg.waitFor({ state: 'attached' });
    if (visible !== null) {
      const text = await msg.locator(tid('message-text')).innerText();
      assert.ok(text.includes(visible), `payload ${JSON.stringify(payload)} shows as text (got ${JSON.stringify(text)})`);
    }
  }
  // The hostile display name is plain text too.
  const author = messageById(page, posted[0].id).locator(tid('message-author'));
  if (await author.count()) assert.match(await author.innerText(), /<img src=x onerror=alert\(2\)>Mallory/);
  assert.match(await page.locator(tid('channel-header')).innerText(), new RegExp(channel.name));

  // Clicking every link inside messages opens nothing harmful (no dialog: the guard).
  const links = page.locator(`${tid('message-text')} a`);
  const n = await links.count();
  for (let i = 0; i < n; i++) {
    const link = links.nth(i);
    const href = await link.getAttribute('href');
    if (href && /^https?:/i.test(href)) continue; // external: would leave the page
    await link.click({ timeout: 2000, noWaitAfter: true }).catch(() => {});
  }
  // Hover everything (onmouseover payloads).
  for (const p of posted) await messageById(page, p.id).hover().catch(() => {});
  await page.waitForTimeout(300);
  await assertNoInjection(page);
});

h.test('a payload typed into the composer is sent and shown as text, live for the other user', async (s) => {
  const owner = await createWorkspace(h.url);
  const bea = await addMember(owner);
  const channel = await owner.createChannel(uniq('typed-'));
  await bea.join(channel.id);
  const ada = await s.open({ user: owner, label: 'ada' });
  const other = await s.open({ user: bea, label: 'bea' });
  await openChannel(ada, channel);
  await openChannel(other, channel);

  const payload = `<img src=x onerror=alert(1)> <script>alert(1)</script> [x](javascript:alert(1)) ${uniq()}`;
  await send(mainComposer(ada), payload);
  for (const page of [ada, other]) {
    const msg = await expectMessage(page, '<img src=x onerror=alert(1)>');
    await eventually(async () => (await msg.locator(tid('message-text')).innerText()).includes('<script>alert(1)</script>'),
      { message: `[${page.label}] the script tag shows as text` });
    await assertNoInjection(page);
  }
  // Stored exactly as typed: escaping is the renderer's job, not the server's.
  const stored = (await owner.messages(channel.id)).messages.find((m) => m.text.includes('onerror'));
  assert.equal(stored.text, payload);
});

h.test('[label](url) links: http(s) and mailto become links, other schemes stay text', async (s) => {
  const owner = await createWorkspace(h.url);
  const channel = await owner.createChannel(uniq('links-'));
  const cases = [
    // [text, {href, external} of the one link expected, or null for no link (the text shows as typed)]
    ['read [the docs](https://example.com/docs?a=1) please', { href: 'https://example.com/docs?a=1', label: 'the docs', external: true }],
    ['write [to us](mailto:team@example.com)', { href: 'mailto:team@example.com', label: 'to us', external: false }],
    ['[x](javascript:alert(1))', null],
    ['[x](data:text/html,<script>alert(1)</script>)', null],
    ['[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)', null],
    ['[x](vbscript:msgbox(1))', null],
  ];
  const posted = [];
  for (const [text] of cases) posted.push(await owner.post(channel.id, text));
  const page = await s.open({ user: owner, label: 'ada' });
  await openChannel(page, channel);
  for (const [i, [text, want]] of cases.entries()) {
    const body = messageById(page, posted[i].id).locator(tid('message-text'));
    await body.waitFor();
    const links = await body.locator('a').evaluateAll((els) => els.map((a) => ({
      href: a.getAttribute('href'), label: a.textContent, target: a.getAttribute('target'), rel: a.getAttribute('rel'),
    })));
    if (!want) {
      assert.deepEqual(links, [], `${text}: no link`);
      assert.ok((await body.innerText()).includes(text), `${text}: shown as typed`);
      continue;
    }
    assert.equal(links.length, 1, `${text}: one link`);
    assert.equal(links[0].href, want.href);
    assert.equal(links[0].label, want.label);
    if (want.external) {
      assert.equal(links[0].target, '_blank');
      assert.equal(links[0].rel, 'noopener noreferrer');
    }
  }
  await assertNoInjection(page);
});

h.test('Object.prototype names (:__proto__:, :constructor:, <@__proto__>) render as text and break nothing', async (s) => {
  const owner = await createWorkspace(h.url, { display_name: 'Ada Owner' });
  const mallory = await addMember(owner, { display_name: 'Mallory' });
  const channel = await owner.createChannel(uniq('proto-'));
  await mallory.join(channel.id);
  // A status emoji and a reaction named after Object.prototype members, if the server takes them.
  for (const emoji of ['__proto__', 'constructor']) {
    await mallory.request('PATCH', '/api/v1/users/me', { status_emoji: emoji, status_text: 'proto' }).catch(() => {});
  }
  const texts = [':__proto__:', ':constructor:', ':toString:', ':hasOwnProperty: :valueOf:', '<@__proto__> <#constructor> <@toString>'];
  const posted = [];
  for (const t of texts) posted.push(await mallory.post(channel.id, t));
  for (const emoji of ['__proto__', 'constructor', 'toString']) await mallory.react(posted[0].id, emoji).catch(() => {});

  const page = await s.open({ user: owner, label: 'ada' });
  await openChannel(page, channel);
  for (const [i, t] of texts.entries()) {
    const body = messageById(page, posted[i].id).locator(tid('message-text'));
    await body.waitFor();
    // (`__proto__` is also markdown bold: `:**proto**:`.)
    if (i < 4) assert.equal((await body.innerText()).trim(), i === 0 ? ':proto:' : t, `${t} shows as text`);
  }
  const polluted = await page.evaluate(() => Object.getOwnPropertyNames(Object.prototype).filter((k) => /^__\w|^_\w/.test(k) && k !== '__proto__'
    && !['__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__'].includes(k)));
  assert.deepEqual(polluted, [], 'nothing written onto Object.prototype');
  // The app still works: a new message is sent and shown, live for the other member too.
  const other = await s.open({ user: mallory, label: 'mallory' });
  await openChannel(other, channel);
  const marker = `still alive ${uniq()}`;
  await send(mainComposer(page), marker);
  await expectMessage(page, marker);
  await expectMessage(other, marker);
  await assertNoInjection(page);
});
