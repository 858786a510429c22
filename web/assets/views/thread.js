/**
 * thread.js: a thread in the side panel: the root message, its replies (live), and a
 * composer that posts with thread_root_id. Replies never enter the channel's list; the
 * root's reply count there follows the server's `message.updated` events.
 */

import { html, useEffect, useRef } from '../vendor/preact-htm.js';
import { useStore, getState } from '../lib/store.js';
import { closeThread } from '../lib/actions.js';
import { continuesGroup } from '../lib/time.js';
import { MessageRow } from './message.js';
import { Composer } from './composer.js';
import { Icon } from './common.js';

export function ThreadPanel() {
  const th = useStore((s) => s.thread);
  const users = useStore((s) => s.users);
  const meId = useStore((s) => s.me && s.me.id);
  const editing = useStore((s) => s.editing);
  const pending = useStore((s) => (s.thread ? s.pending[`thread:${s.thread.rootId}`] : null));
  const channelName = useStore((s) => {
    const ch = s.thread && s.thread.root && s.channels[s.thread.root.channel_id];
    return ch && ch.name ? `#${ch.name}` : '';
  });
  const scroller = useRef(null);
  const count = th ? th.replies.length + (pending ? pending.length : 0) : 0;

  useEffect(() => {
    const el = scroller.current;
    if (!el || !th) return;
    const hl = th.highlightId && el.querySelector(`[data-message-id="${CSS.escape(th.highlightId)}"]`);
    if (hl) hl.scrollIntoView({ block: 'center' });
    else el.scrollTop = el.scrollHeight;
  }, [count, th && th.loading]);

  if (!th) return null;
  const root = th.root;
  const sent = new Set(th.replies.map((m) => m.client_msg_id).filter(Boolean));
  let prev = null;
  const rows = th.replies.map((m) => {
    const row = html`<${MessageRow} key=${m.id} msg=${m} grouped=${continuesGroup(prev, m)} author=${users[m.user_id]} meId=${meId}
      highlighted=${th.highlightId === m.id} editing=${editing === m.id} users=${users} inThread />`;
    prev = m;
    return row;
  });
  for (const p of pending || []) {
    if (sent.has(p.client_msg_id)) continue;
    rows.push(html`<${MessageRow} key=${`p-${p.client_msg_id}`} msg=${p} grouped=${continuesGroup(prev, p)} author=${users[p.user_id]} meId=${meId} users=${users} inThread />`);
    prev = p;
  }
  const lastOwn = () => {
    const replies = getState().thread ? getState().thread.replies : [];
    for (let i = replies.length - 1; i >= 0; i--) if (replies[i].user_id === meId && !replies[i].deleted) return replies[i];
    return null;
  };
  return html`
    <aside class="side-panel thread-panel" data-testid="thread-panel" aria-label="Thread">
      <div class="panel-head">
        <div><h2>Thread</h2>${channelName && html`<span class="muted">${channelName}</span>`}</div>
        <button type="button" class="icon-btn" aria-label="Close thread" data-testid="close-thread" onClick=${closeThread}>${Icon.close}</button>
      </div>
      <div class="panel-scroll" ref=${scroller}>
        ${th.loading && html`<div class="list-status"><span class="spinner"></span>Loading thread…</div>`}
        ${th.error && html`<div class="list-status error" role="alert">${th.error.message}</div>`}
        ${root &&
        html`<div class="thread-root">
            <${MessageRow} msg=${root} author=${users[root.user_id]} meId=${meId} editing=${editing === root.id} users=${users} inThread isRoot />
          </div>
          <div class="thread-count muted">${th.replies.length} ${th.replies.length === 1 ? 'reply' : 'replies'}</div>`}
        ${rows}
      </div>
      ${root && !root.deleted && html`<${Composer} key=${th.rootId} channelId=${root.channel_id} threadRootId=${th.rootId} placeholder="Reply…" lastOwn=${lastOwn} />`}
    </aside>`;
}
