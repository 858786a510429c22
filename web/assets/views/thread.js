/**
 * thread.js: a thread in the side panel: the root message, a window of its replies
 * (paged and capped by lib/threads.js; scrolling near either end, or the buttons there,
 * loads more), and a composer that posts with thread_root_id. Replies never enter the
 * channel's list; the root's reply count there follows the server's `message.updated`
 * events. Like the channel list, the panel keeps the reply being read in place while
 * pages are added or dropped around it, and stays at the bottom when it was there.
 */

import { html, Component } from '../vendor/preact-htm.js';
import { useStore, getState, own } from '../lib/store.js';
import { closeThread, loadMoreReplies, loadEarlierReplies } from '../lib/actions.js';
import { continuesGroup } from '../lib/time.js';
import { MessageRow } from './message.js';
import { Composer } from './composer.js';
import { Icon } from './common.js';

const EDGE_PX = 300;
const BOTTOM_PX = 40;

class Replies extends Component {
  constructor(props) {
    super(props);
    this.setScroller = (el) => (this.scroller = el);
    this.onScroll = () => this.maybeLoad();
  }

  componentDidMount() {
    this.position();
  }

  atBottom() {
    const el = this.scroller;
    return !el || el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_PX;
  }

  getSnapshotBeforeUpdate() {
    const el = this.scroller;
    if (!el) return null;
    for (const row of el.querySelectorAll('[data-testid=message][data-message-id]')) {
      if (row.offsetTop + row.offsetHeight > el.scrollTop) return { atBottom: this.atBottom(), id: row.getAttribute('data-message-id'), offset: row.offsetTop - el.scrollTop };
    }
    return { atBottom: this.atBottom(), id: null };
  }

  componentDidUpdate(prev, _s, snap) {
    const th = this.props.th;
    const el = this.scroller;
    if (!el) return;
    if (th.anchor !== prev.th.anchor) this.position();
    else if (snap && snap.atBottom && !th.hasMore) el.scrollTop = el.scrollHeight;
    else if (snap && snap.id) {
      const row = el.querySelector(`[data-message-id="${CSS.escape(snap.id)}"]`);
      if (row) el.scrollTop = row.offsetTop - snap.offset;
    }
    this.maybeLoad();
  }

  /** A freshly placed window: at the highlighted reply, the start (more to come), or the end. */
  position() {
    const { th } = this.props;
    const el = this.scroller;
    if (!el || th.loading === 'initial') return;
    const hl = th.highlightId && el.querySelector(`[data-message-id="${CSS.escape(th.highlightId)}"]`);
    if (hl) hl.scrollIntoView({ block: 'center' });
    else if (th.hasMore) el.scrollTop = 0;
    else el.scrollTop = el.scrollHeight;
  }

  maybeLoad() {
    const { th } = this.props;
    const el = this.scroller;
    if (!el || th.loading) return;
    if (th.hasMore && el.scrollHeight - el.scrollTop - el.clientHeight < EDGE_PX) loadMoreReplies();
    else if (th.dropped.length && el.scrollTop < EDGE_PX) loadEarlierReplies();
  }

  render({ th, pending, users, meId, editing }) {
    const root = th.root;
    const sent = new Set(th.replies.map((m) => m.client_msg_id).filter(Boolean));
    let prev = null;
    const rows = th.replies.map((m) => {
      const row = html`<${MessageRow} key=${m.id} msg=${m} grouped=${continuesGroup(prev, m)} author=${own(users, m.user_id)} meId=${meId}
        highlighted=${th.highlightId === m.id} editing=${editing === m.id} users=${users} inThread />`;
      prev = m;
      return row;
    });
    for (const p of pending || []) {
      if (sent.has(p.client_msg_id)) continue;
      rows.push(html`<${MessageRow} key=${`p-${p.client_msg_id}`} msg=${p} grouped=${continuesGroup(prev, p)} author=${own(users, p.user_id)} meId=${meId} users=${users} inThread />`);
      prev = p;
    }
    const count = root ? Math.max(root.reply_count || 0, th.replies.length) : 0;
    const busy = (what) => th.loading === what;
    return html`
      <div class="panel-scroll" ref=${this.setScroller} onScroll=${this.onScroll}>
        ${th.loading === 'initial' && html`<div class="list-status"><span class="spinner"></span>Loading thread…</div>`}
        ${th.error && html`<div class="list-status error" role="alert">${th.error.message}</div>`}
        ${root &&
        html`<div class="thread-root">
            <${MessageRow} msg=${root} author=${own(users, root.user_id)} meId=${meId} editing=${editing === root.id} users=${users} inThread isRoot />
          </div>
          <div class="thread-count muted">${count} ${count === 1 ? 'reply' : 'replies'}</div>`}
        ${th.dropped.length > 0 &&
        html`<button type="button" class="load-more-btn" data-testid="thread-load-earlier" disabled=${!!th.loading} onClick=${loadEarlierReplies}>
          ${busy('earlier') ? html`<span class="spinner"></span>` : null}Show earlier replies</button>`}
        ${rows}
        ${th.hasMore &&
        html`<button type="button" class="load-more-btn" data-testid="thread-load-more" disabled=${!!th.loading} onClick=${() => loadMoreReplies()}>
          ${busy('more') ? html`<span class="spinner"></span>` : null}Show more replies</button>`}
      </div>`;
  }
}

export function ThreadPanel() {
  const th = useStore((s) => s.thread);
  const users = useStore((s) => s.users);
  const meId = useStore((s) => s.me && s.me.id);
  const editing = useStore((s) => s.editing);
  const pending = useStore((s) => (s.thread ? own(s.pending, `thread:${s.thread.rootId}`) : null));
  const channelName = useStore((s) => {
    const ch = s.thread && s.thread.root && own(s.channels, s.thread.root.channel_id);
    return ch && ch.name ? `#${ch.name}` : '';
  });
  if (!th) return null;
  const root = th.root;
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
      <${Replies} key=${th.rootId} th=${th} pending=${pending} users=${users} meId=${meId} editing=${editing} />
      ${root && !root.deleted && html`<${Composer} key=${th.rootId} channelId=${root.channel_id} threadRootId=${th.rootId} placeholder="Reply…" lastOwn=${lastOwn} />`}
    </aside>`;
}
