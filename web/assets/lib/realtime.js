/**
 * realtime.js: the one WebSocket to /api/v1/realtime.
 *
 * Lifecycle: connect -> send `auth` (with `resume_from` = the highest event seq applied)
 * -> `hello` -> events. Events with a seq at or below the last applied one are dropped,
 * so a replay after a reconnect never applies anything twice. On close the socket is
 * reopened with exponential backoff and jitter, resuming from the last seq; a
 * `resync_required` answer asks the app to reload its state over REST. A ping goes out
 * every heartbeat_ms / 2; a connection that answers nothing for a full interval is
 * treated as dead and reopened.
 */

const AUTH_FAILED = 4001;

export class Realtime {
  /**
   * handlers: onState(state), onHello(hello, {resumed}), onEvent(frame), onFrame(frame)
   * for the ephemeral frames, onResync(), onAuthFailed().
   */
  constructor(handlers) {
    this.h = handlers;
    this.lastSeq = null;
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.timer = null;
    this.pingTimer = null;
    this.lastHeard = 0;
    this.pingId = 0;
    this.everConnected = false;
    this.pendingSends = new Map();
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pingTimer);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }

  open() {
    clearTimeout(this.timer);
    this.h.onState(this.everConnected ? 'reconnecting' : 'connecting');
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    let ws;
    try {
      ws = new WebSocket(`${scheme}://${location.host}/api/v1/realtime`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      const auth = { op: 'auth' };
      if (this.lastSeq !== null) auth.resume_from = this.lastSeq;
      ws.send(JSON.stringify(auth));
    };
    ws.onmessage = (e) => {
      this.lastHeard = Date.now();
      let frame;
      try {
        frame = JSON.parse(e.data);
      } catch {
        return;
      }
      this.handle(frame);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      if (this.stopped) return;
      if (e.code === AUTH_FAILED) {
        this.h.onAuthFailed();
        return;
      }
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      /* onclose follows and reconnects */
    };
  }

  scheduleReconnect() {
    if (this.stopped) return;
    this.h.onState(this.everConnected ? 'reconnecting' : 'connecting');
    const base = Math.min(30000, 500 * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    this.timer = setTimeout(() => this.open(), delay);
  }

  /** Reconnects at once (e.g. when the browser comes back online). */
  kick() {
    if (this.stopped) return;
    if (!this.ws) {
      this.attempt = 0;
      this.open();
    }
  }

  handle(frame) {
    switch (frame.type) {
      case 'hello': {
        const resumed = this.lastSeq !== null;
        this.everConnected = true;
        this.attempt = 0;
        if (this.lastSeq === null) this.lastSeq = frame.last_seq;
        this.helloSeq = frame.last_seq;
        this.seenSinceHello = null;
        this.startHeartbeat(frame.heartbeat_ms || 30000);
        this.h.onState('live');
        this.h.onHello(frame, { resumed });
        break;
      }
      case 'event':
        if (this.lastSeq !== null && frame.seq <= this.lastSeq) return;
        this.lastSeq = frame.seq;
        this.seenSinceHello = frame.seq;
        this.h.onEvent(frame);
        break;
      case 'resync_required':
        // Live events continue from hello.last_seq, which the server sent already; the
        // state before that must come from REST.
        // (resume_from may also be newer than the log, e.g. a restored server, so the
        // seq is reset rather than only moved forward.)
        this.lastSeq = Math.max(this.helloSeq ?? 0, this.seenSinceHello ?? 0);
        this.h.onResync();
        break;
      case 'pong':
        break;
      default:
        this.h.onFrame(frame);
    }
  }

  startHeartbeat(ms) {
    clearInterval(this.pingTimer);
    this.lastHeard = Date.now();
    const every = Math.max(1000, ms / 2);
    this.pingTimer = setInterval(() => {
      if (!this.ws) return;
      if (Date.now() - this.lastHeard > ms + every) {
        // Nothing heard for too long: the connection is dead even if the browser has
        // not noticed yet.
        const dead = this.ws;
        this.ws = null;
        dead.close();
        this.scheduleReconnect();
        return;
      }
      this.send({ op: 'ping', id: ++this.pingId });
    }, every);
  }

  /** Sends a frame if connected; returns whether it went out. */
  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  get live() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }
}
