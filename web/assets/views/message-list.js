/**
 * message-list.js: the scrolling list of a channel's timeline window.
 *
 * Scrolling near the top loads the older page (near the bottom, the newer one when the
 * window does not reach the newest end). timeline.js caps the window (WINDOW_CAP), so the
 * DOM never holds more than a few hundred rows however far back the user reads.
 * Position is kept across every change by an anchor: before an update the first
 * visible row and its offset are noted, after it the row is put back at that offset,
 * so rows added or dropped above it do not move what the user is reading. A list that
 * was at the bottom stays at the bottom (also when images load). The read marker moves
 * when the bottom is visible and the window has focus.
 */

import { html, Component } from '../vendor/preact-htm.js';
import { loadOlder, loadNewer, markRead, jumpToLatest } from '../lib/actions.js';
import { viewport, own } from '../lib/store.js';
import { continuesGroup, dayKey, formatDay } from '../lib/time.js';
import { MessageRow } from './message.js';

const EDGE_PX = 600;
const BOTTOM_PX = 40;

export class MessageList extends Component {
  constructor(props) {
    super(props);
    this.stick = true;
    this.onScroll = this.onScroll.bind(this);
    this.setScroller = (el) => (this.scroller = el);
    this.setInner = (el) => (this.inner = el);
    this.scrollQueued = false;
  }

  componentDidMount() {
    this.ro = new ResizeObserver(() => {
      if (this.stick && !this.props.timeline.hasNewer) this.toBottom();
    });
    if (this.inner) this.ro.observe(this.inner);
    this.position();
    this.afterChange();
  }

  componentWillUnmount() {
    this.ro.disconnect();
    if (viewport.channelId === this.props.channelId) viewport.channelId = null;
  }

  atBottom() {
    const el = this.scroller;
    return !el || el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_PX;
  }

  toBottom() {
    const el = this.scroller;
    if (el) el.scrollTop = el.scrollHeight;
  }

  getSnapshotBeforeUpdate() {
    const el = this.scroller;
    if (!el || !this.inner) return null;
    const top = el.scrollTop;
    const rows = this.inner.querySelectorAll('[data-message-id]');
    for (const row of rows) {
      if (row.offsetTop + row.offsetHeight > top) {
        return { atBottom: this.atBottom(), id: row.getAttribute('data-message-id'), offset: row.offsetTop - top };
      }
    }
    return { atBottom: this.atBottom(), id: null, offset: 0 };
  }

  componentDidUpdate(prev, _state, snap) {
    const t = this.props.timeline;
    if (t.seqAnchor !== prev.timeline.seqAnchor || prev.channelId !== this.props.channelId) {
      this.position();
    } else if (snap && snap.atBottom && !t.hasNewer) {
      this.toBottom();
    } else if (snap && snap.id && this.inner) {
      const row = this.inner.querySelector(`[data-message-id="${CSS.escape(snap.id)}"]`);
      if (row) this.scroller.scrollTop = row.offsetTop - snap.offset;
    }
    this.afterChange();
  }

  /** Places a freshly loaded window: at the highlighted message, the unread divider, or the bottom. */
  position() {
    const t = this.props.timeline;
    if (!this.scroller || t.loading === 'initial') return;
    const hl = t.highlightId && this.inner.querySelector(`[data-message-id="${CSS.escape(t.highlightId)}"]`);
    const divider = this.inner.querySelector('.new-divider');
    if (hl) {
      hl.scrollIntoView({ block: 'center' });
      this.stick = false;
    } else if (divider && divider.offsetTop < this.scroller.scrollHeight - this.scroller.clientHeight) {
      this.scroller.scrollTop = Math.max(0, divider.offsetTop - 60);
      this.stick = this.atBottom();
    } else {
      this.toBottom();
      this.stick = true;
    }
  }

  afterChange() {
    viewport.channelId = this.props.channelId;
    viewport.atBottom = this.stick && !this.props.timeline.hasNewer;
    this.maybeMarkRead();
    this.maybeLoad();
  }

  maybeMarkRead() {
    const { timeline: t, channel, focused, channelId } = this.props;
    if (!channel || !focused || t.loading === 'initial' || t.hasNewer || !this.atBottom()) return;
    const last = t.messages.length ? t.messages[t.messages.length - 1].seq : 0;
    const seq = Math.max(last, channel.last_seq);
    if (seq > channel.last_read_seq) markRead(channelId, seq);
  }

  maybeLoad() {
    const el = this.scroller;
    const t = this.props.timeline;
    if (!el || t.loading) return;
    if (t.hasOlder && el.scrollTop < EDGE_PX) loadOlder(this.props.channelId);
    else if (t.hasNewer && el.scrollHeight - el.scrollTop - el.clientHeight < EDGE_PX) loadNewer(this.props.channelId);
  }

  onScroll() {
    if (this.scrollQueued) return;
    this.scrollQueued = true;
    requestAnimationFrame(() => {
      this.scrollQueued = false;
      this.stick = this.atBottom();
      viewport.atBottom = this.stick && !this.props.timeline.hasNewer;
      this.maybeMarkRead();
      this.maybeLoad();
    });
  }

  render({ timeline: t, pending, users, meId, editing, channelName, channelId }) {
    const rows = [];
    let prev = null;
    let dividerDone = t.readMarker === null || t.readMarker === undefined;
    for (const m of t.messages) {
      const dayChanged = !prev || dayKey(prev.created_at) !== dayKey(m.created_at);
      if (dayChanged) rows.push(html`<div key=${`day-${dayKey(m.created_at)}-${m.id}`} class="day-divider" data-testid="day-divider" role="separator"><span>${formatDay(m.created_at)}</span></div>`);
      let newHere = false;
      if (!dividerDone && m.seq > t.readMarker && m.user_id !== meId) {
        dividerDone = true;
        newHere = true;
        rows.push(html`<div key="new-divider" class="new-divider" data-testid="new-messages-divider" role="separator"><span>New messages</span></div>`);
      }
      rows.push(html`<${MessageRow} key=${m.id} msg=${m} grouped=${!dayChanged && !newHere && continuesGroup(prev, m) && !prev.deleted}
        author=${own(users, m.user_id)} meId=${meId} highlighted=${t.highlightId === m.id} editing=${editing === m.id} users=${users} />`);
      prev = m;
    }
    if (!t.hasNewer) {
      const sent = new Set(t.messages.slice(-100).map((m) => m.client_msg_id).filter(Boolean));
      for (const p of pending) {
        if (sent.has(p.client_msg_id)) continue;
        rows.push(html`<${MessageRow} key=${`p-${p.client_msg_id}`} msg=${p} grouped=${continuesGroup(prev, p)} author=${own(users, p.user_id)} meId=${meId} users=${users} />`);
        prev = p;
      }
    }
    return html`
      <div class="message-scroll" data-testid="message-list" ref=${this.setScroller} onScroll=${this.onScroll}>
        <div class="message-inner" ref=${this.setInner}>
          ${t.loading === 'initial' && html`<div class="list-status"><span class="spinner"></span>Loading messages…</div>`}
          ${t.error && html`<div class="list-status error" role="alert">${t.error.message}</div>`}
          ${t.loading !== 'initial' && !t.error && (t.hasOlder
            ? html`<div class="list-status"><span class="spinner"></span>Loading older messages…</div>`
            : html`<div class="channel-start"><h3>${channelName}</h3><p class="muted">This is the very beginning of the conversation.</p></div>`)}
          ${rows}
          ${t.hasNewer && html`<div class="list-status"><span class="spinner"></span>Loading newer messages…</div>`}
        </div>
      </div>
      ${t.hasNewer && html`<button type="button" class="jump-latest" onClick=${() => jumpToLatest(channelId)}>Jump to recent messages ↓</button>`}`;
  }
}
