/**
 * search.js: the search box (top bar) and the results panel. The server parses the
 * operators (from:@x in:#y has:file before:...) and returns a snippet where matches are
 * wrapped in <mark>; the snippet is split on those tags and every piece becomes a text
 * node (it is never parsed as HTML). Without a snippet the query words are highlighted
 * in the message text. Clicking a result opens its channel at the message.
 */

import { html, useState } from '../vendor/preact-htm.js';
import { useStore, setState, getState, own } from '../lib/store.js';
import * as api from '../lib/api.js';
import { navigate, channelPath } from '../lib/router.js';
import { plainText } from '../lib/markdown.js';
import { formatWhen } from '../lib/time.js';
import { markdownCtx } from './message.js';
import { Avatar, Icon } from './common.js';

function decode(s) {
  return s.replace(/&(lt|gt|amp|quot|#39|#x27|apos);/g, (_, e) => ({ lt: '<', gt: '>', amp: '&', quot: '"', '#39': "'", '#x27': "'", apos: "'" })[e]);
}

/** The server's snippet as text and <mark> vnodes. */
function snippetNodes(snippet) {
  const out = [];
  let marked = false;
  for (const part of snippet.split(/(<mark>|<\/mark>)/)) {
    if (part === '<mark>') marked = true;
    else if (part === '</mark>') marked = false;
    else if (part) out.push(marked ? html`<mark>${decode(part)}</mark>` : decode(part));
  }
  return out;
}

/** The words of a query worth highlighting (operators and exclusions left out). */
function queryWords(q) {
  return q
    .split(/\s+/)
    .filter((w) => w && !w.startsWith('-') && !/^[a-z]+:/i.test(w))
    .map((w) => w.replace(/["*]/g, ''))
    .filter(Boolean);
}

function highlight(text, words) {
  if (!words.length) return [text];
  const re = new RegExp(`(${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'gi');
  return text.split(re).map((part, i) => (i % 2 ? html`<mark>${part}</mark>` : part));
}

export async function runSearch(q, cursor) {
  const query = q.trim();
  if (!query) return;
  setState((s) => ({ ...s, side: 'search', thread: null, search: { q: query, results: cursor ? s.search.results : [], loading: true, error: null, next: null } }));
  try {
    const r = await api.get(`/api/v1/search${api.qs({ q: query, cursor, limit: 30 })}`);
    setState((s) => ({ ...s, search: { ...s.search, results: [...(cursor ? s.search.results : []), ...r.results], loading: false, next: r.next_cursor || null } }));
  } catch (e) {
    setState((s) => ({ ...s, search: { ...s.search, loading: false, error: e } }));
  }
}

export function SearchBox() {
  const [q, setQ] = useState('');
  return html`
    <form class="search-box" role="search" onSubmit=${(e) => {
      e.preventDefault();
      runSearch(q);
    }}>
      ${Icon.search}
      <input type="search" data-testid="search-input" placeholder="Search messages (from:@someone in:#channel)" aria-label="Search messages"
        value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
    </form>`;
}

export function SearchPanel() {
  const search = useStore((s) => s.search);
  const users = useStore((s) => s.users);
  if (!search) return null;
  const words = queryWords(search.q);
  const open = (r) => {
    if (window.innerWidth < 900) setState({ side: null });
    navigate(channelPath(r.channel.id, r.message.id));
  };
  return html`
    <aside class="side-panel" aria-label="Search results">
      <div class="panel-head">
        <div><h2>Search</h2><span class="muted">${search.q}</span></div>
        <button type="button" class="icon-btn" aria-label="Close search" onClick=${() => setState({ side: null })}>${Icon.close}</button>
      </div>
      <div class="panel-scroll" data-testid="search-results">
        ${search.error && html`<div class="list-status error" role="alert">${search.error.message}</div>`}
        ${!search.loading && !search.error && !search.results.length && html`<div class="list-status">No messages match.</div>`}
        ${search.results.map((r) => {
          const where = r.channel.name ? `#${r.channel.name}` : 'Direct message';
          const text = r.snippet ? snippetNodes(r.snippet) : highlight(plainText(r.message.text, markdownCtx()), words);
          return html`
            <button type="button" key=${r.message.id} class="search-result" data-testid="search-result" data-message-id=${r.message.id} onClick=${() => open(r)}>
              <${Avatar} user=${own(users, r.author.id) || r.author} size=${28} />
              <span class="grow">
                <span class="result-head"><strong>${r.author.display_name}</strong><span class="muted"> in ${where} · ${formatWhen(r.message.created_at)}</span></span>
                <span class="result-text">${text}</span>
              </span>
            </button>`;
        })}
        ${search.loading && html`<div class="list-status"><span class="spinner"></span>Searching…</div>`}
        ${search.next && !search.loading && html`<button type="button" class="load-more-btn" onClick=${() => runSearch(getState().search.q, search.next)}>More results</button>`}
      </div>
    </aside>`;
}
