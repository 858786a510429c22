// Measurements of the web client (not part of the test run). Prints one JSON line:
//   tti_ms            navigation start -> the channel's last message visible and the
//                     composer enabled, on a channel with MESSAGES (10,000) messages
//   assets            transfer size (encoded bytes on the wire) of the document and
//                     /assets/*, on a cold load
//   heap_*            the page's JS heap (CDP Performance.getMetrics JSHeapUsedSize) after
//                     scrolling up through SCROLL (5,000) messages, before and after a GC
//
//   node tests/e2e/measure.mjs        (needs target/debug/hearth or HEARTH_BIN; build a
//                                      release binary for numbers worth comparing)
//   MESSAGES=2000 SCROLL=1000 node tests/e2e/measure.mjs   a quicker run

import { startServer } from './lib/server.mjs';
import { launchBrowser, cookieSignIn } from './lib/browser.mjs';
import { createWorkspace, uniq } from './lib/api.mjs';

const MESSAGES = Number(process.env.MESSAGES ?? 10_000);
const SCROLL = Number(process.env.SCROLL ?? 5_000);
const SCROLL_BUDGET_MS = Number(process.env.SCROLL_BUDGET_MS ?? 180_000);
const log = (...a) => console.error('[measure]', ...a);

const server = await startServer({ env: { HEARTH_SQLITE_SYNCHRONOUS: 'normal' } });
let browser;
try {
  browser = await launchBrowser();
  const result = await measure();
  console.log(JSON.stringify(result));
} finally {
  await browser?.close().catch(() => {});
  await server.stop().catch(() => {});
}

async function measure() {
  // Seed: one channel with MESSAGES messages, posted concurrently.
  const owner = await createWorkspace(server.url);
  const channel = await owner.createChannel(uniq('big-'));
  const t0 = Date.now();
  const words = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do'];
  const textOf = (i) => `message ${i}: ${words.slice(0, 3 + (i % 7)).join(' ')}${i % 10 === 0 ? ' with **bold** and `code`' : ''}`;
  let done = 0;
  const ticker = setInterval(() => log(`seeded ${done}/${MESSAGES}`), 10_000);
  let next = 0;
  let last;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < MESSAGES) {
      const i = next++;
      const m = await owner.post(channel.id, textOf(i));
      if (!last || m.seq > last.seq) last = m;
      done++;
    }
  }));
  clearInterval(ticker);
  const seedMs = Date.now() - t0;
  log(`seeded ${MESSAGES} messages in ${seedMs} ms`);

  // A cold context: nothing cached, a cookie session.
  const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Performance.enable');
  const urls = new Map();
  const transfers = [];
  cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, { url: e.response.url, type: e.type }));
  cdp.on('Network.loadingFinished', (e) => {
    const r = urls.get(e.requestId);
    if (r) transfers.push({ ...r, bytes: e.encodedDataLength });
  });

  // A cookie session, so that the measured navigation is the app's cold start.
  await cookieSignIn(context, owner);

  const navStart = Date.now();
  await page.goto(`/c/${channel.id}`, { waitUntil: 'commit' });
  const inPage = await page.waitForFunction((lastId) => {
    const el = document.querySelector(`[data-testid=message][data-message-id="${lastId}"]`);
    const box = document.querySelector('[data-testid=composer] textarea');
    if (!el || !box || box.disabled) return false;
    const r = el.getBoundingClientRect();
    if (!(r.bottom > 0 && r.top < window.innerHeight && r.height > 0)) return false;
    return performance.now();
  }, last.id, { polling: 'raf', timeout: 120_000 });
  const ttiMs = Date.now() - navStart;
  const ttiInPageMs = await inPage.jsonValue();

  // Transfer sizes: the document and /assets/* (what the app itself costs to load).
  await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
  const app = transfers.filter((t) => {
    const u = new URL(t.url);
    return u.origin === server.url && (t.type === 'Document' || u.pathname.startsWith('/assets/'));
  });
  const assets = {
    bytes: app.reduce((a, t) => a + t.bytes, 0),
    requests: app.length,
    files: app.map((t) => ({ path: new URL(t.url).pathname, bytes: t.bytes })),
    api_bytes: transfers.filter((t) => new URL(t.url).pathname.startsWith('/api/')).reduce((a, t) => a + t.bytes, 0),
  };

  // Scroll up through SCROLL messages: keep scrolling the list's scroller to the top until
  // a message SCROLL seqs back from the newest has been rendered.
  const targetSeq = last.seq - SCROLL;
  const scrollStart = Date.now();
  let minSeq = Infinity;
  let stalls = 0;
  while (Date.now() - scrollStart < SCROLL_BUDGET_MS) {
    const seen = await page.evaluate(() => {
      const list = document.querySelector('[data-testid=message-list]');
      let scroller = list;
      while (scroller && scroller !== document.body) {
        const style = getComputedStyle(scroller);
        if (/(auto|scroll)/.test(style.overflowY) && scroller.scrollHeight > scroller.clientHeight) break;
        scroller = scroller.parentElement;
      }
      (scroller ?? document.scrollingElement).scrollTop = 0;
      const seqs = [...document.querySelectorAll('[data-testid=message-list] [data-testid=message][data-seq]')]
        .map((e) => Number(e.getAttribute('data-seq')));
      return seqs.length ? Math.min(...seqs) : Infinity;
    });
    if (seen < minSeq) {
      minSeq = seen;
      stalls = 0;
    } else if (++stalls > 50) {
      break; // no progress for ~5 s: the client stopped loading older history
    }
    if (minSeq <= targetSeq) break;
    await page.waitForTimeout(100);
  }
  const scrollMs = Date.now() - scrollStart;
  const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  const m1 = await metrics();
  await cdp.send('HeapProfiler.collectGarbage');
  const m2 = await metrics();
  const domMessages = await page.locator('[data-testid=message-list] [data-testid=message]').count();
  await context.close();

  return {
    chromium: browser.version(),
    messages: MESSAGES,
    seed_ms: seedMs,
    tti_ms: ttiMs,
    tti_in_page_ms: Math.round(ttiInPageMs),
    assets,
    scroll: {
      target: SCROLL,
      scrolled_messages: Number.isFinite(minSeq) ? last.seq - minSeq : 0,
      reached: minSeq <= targetSeq,
      ms: scrollMs,
    },
    heap_used_bytes: m1.JSHeapUsedSize,
    heap_total_bytes: m1.JSHeapTotalSize,
    heap_used_after_gc_bytes: m2.JSHeapUsedSize,
    dom_nodes: m1.Nodes,
    dom_nodes_after_gc: m2.Nodes,
    dom_messages: domMessages,
  };
}
