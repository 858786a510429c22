// Seeding over the REST API with bearer tokens: fast setup without the UI.
// Bodies follow crates/hearth-proto/src/*.rs and crates/hearth-server/src/api/*.rs.

import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';

export const PASSWORD = 'correct horse battery';

/** A short unique suffix for slugs, emails and channel names. */
export function uniq(prefix = 'x') {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

export class ApiError extends Error {
  constructor(method, path, status, body) {
    super(`${method} ${path} -> ${status}: ${typeof body === 'string' ? body : JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

/** One signed-in user: a bearer token and the methods a test needs. */
export class Client {
  constructor(baseUrl, token, { user, workspace, email, password } = {}) {
    this.baseUrl = baseUrl;
    this.token = token;
    this.user = user;
    this.workspace = workspace;
    this.email = email ?? user?.email;
    this.password = password;
  }

  /** The sign-in form's values for this user. */
  get credentials() {
    return { workspace: this.workspace.slug, email: this.email, password: this.password };
  }

  async request(method, path, body, { headers = {}, raw = false } = {}) {
    return request(this.baseUrl, method, path, body, {
      headers: { authorization: `Bearer ${this.token}`, ...headers },
      raw,
    });
  }

  // Accounts
  me() {
    return this.request('GET', '/api/v1/me');
  }
  async invite(opts = {}) {
    const r = await this.request('POST', '/api/v1/invites', opts);
    return r.code;
  }
  updateMe(patch) {
    return this.request('PATCH', '/api/v1/users/me', patch);
  }
  listUsers() {
    return this.request('GET', '/api/v1/users');
  }

  // Channels
  createChannel(name, { private: priv = false, topic } = {}) {
    return this.request('POST', '/api/v1/channels', { name, private: priv, ...(topic ? { topic } : {}) });
  }
  async channels() {
    return (await this.request('GET', '/api/v1/channels')).channels;
  }
  async channelByName(name) {
    return (await this.channels()).find((c) => c.name === name);
  }
  join(channelId) {
    return this.request('POST', `/api/v1/channels/${channelId}/join`);
  }
  leave(channelId) {
    return this.request('POST', `/api/v1/channels/${channelId}/leave`);
  }
  addMembers(channelId, userIds) {
    return this.request('POST', `/api/v1/channels/${channelId}/members`, { user_ids: userIds });
  }
  openDm(userIds) {
    return this.request('POST', '/api/v1/dms', { user_ids: userIds });
  }
  markRead(channelId, seq) {
    return this.request('POST', `/api/v1/channels/${channelId}/read`, { seq });
  }

  // Messages
  post(channelId, text, extra = {}) {
    return this.request('POST', `/api/v1/channels/${channelId}/messages`, { text, ...extra });
  }
  reply(channelId, rootId, text) {
    return this.post(channelId, text, { thread_root_id: rootId });
  }
  messages(channelId, query = '') {
    return this.request('GET', `/api/v1/channels/${channelId}/messages${query}`);
  }
  edit(messageId, text) {
    return this.request('PATCH', `/api/v1/messages/${messageId}`, { text });
  }
  delete(messageId) {
    return this.request('DELETE', `/api/v1/messages/${messageId}`);
  }
  react(messageId, emoji) {
    return this.request('PUT', `/api/v1/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`);
  }
  unreact(messageId, emoji) {
    return this.request('DELETE', `/api/v1/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`);
  }
  search(q) {
    return this.request('GET', `/api/v1/search?q=${encodeURIComponent(q)}`);
  }

  /** Uploads bytes (a Buffer) as a raw body with ?name=; returns the wire File. */
  upload(name, bytes, contentType = 'application/octet-stream') {
    return this.request('POST', `/api/v1/files?name=${encodeURIComponent(name)}`, bytes, {
      headers: { 'content-type': contentType },
    });
  }

  /**
   * Posts `count` messages (text from `textOf(i)`) with at most `concurrency` in flight;
   * returns them in posting order of their index.
   */
  async postMany(channelId, count, textOf = (i) => `message ${i}`, concurrency = 16) {
    const out = new Array(count);
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        out[i] = await this.post(channelId, textOf(i));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return out;
  }
}

/** A plain HTTP request; JSON in and out. Throws ApiError on a non-2xx status. */
export async function request(baseUrl, method, path, body, { headers = {}, raw = false } = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (Buffer.isBuffer(body) || body instanceof Uint8Array) {
      init.body = body;
      init.headers['content-type'] ??= 'application/octet-stream';
    } else {
      init.body = JSON.stringify(body);
      init.headers['content-type'] = 'application/json';
    }
  }
  const res = await fetch(baseUrl + path, { ...init, signal: AbortSignal.timeout(20_000) });
  if (raw) return res;
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  if (!res.ok) throw new ApiError(method, path, res.status, parsed);
  return parsed;
}

/**
 * Creates a workspace and its owner. Returns the owner's Client
 * (client.workspace, client.user, client.credentials).
 */
export async function createWorkspace(baseUrl, opts = {}) {
  const slug = opts.slug ?? uniq('ws');
  const body = {
    name: opts.name ?? `Team ${slug}`,
    slug,
    email: opts.email ?? `owner@${slug}.test`,
    password: opts.password ?? PASSWORD,
    display_name: opts.display_name ?? 'Olive Owner',
  };
  const r = await request(baseUrl, 'POST', '/api/v1/workspaces', body);
  return new Client(baseUrl, r.token, { user: r.user, workspace: r.workspace, email: body.email, password: body.password });
}

/** Invites and signs up one more member of the owner's workspace; returns their Client. */
export async function addMember(owner, opts = {}) {
  const code = await owner.invite();
  const who = opts.handle ?? uniq('m');
  const body = {
    workspace: owner.workspace.slug,
    invite_code: code,
    email: opts.email ?? `${who}@${owner.workspace.slug}.test`,
    password: opts.password ?? PASSWORD,
    display_name: opts.display_name ?? `Member ${who}`,
  };
  const r = await request(owner.baseUrl, 'POST', '/api/v1/auth/signup', body);
  return new Client(owner.baseUrl, r.token, { user: r.user, workspace: r.workspace, email: body.email, password: body.password });
}

/**
 * A workspace with an owner ("Ada Owner") and `members` more people, and a public channel
 * `channel` that everyone has joined. Returns {owner, members: [Client], channel}.
 */
export async function seedTeam(baseUrl, { members = 1, channel = uniq('room-'), names = [] } = {}) {
  const owner = await createWorkspace(baseUrl, { display_name: names[0] ?? 'Ada Owner' });
  const others = [];
  for (let i = 0; i < members; i++) {
    others.push(await addMember(owner, { display_name: names[i + 1] ?? `Member ${i + 1}` }));
  }
  let ch = null;
  if (channel) {
    ch = await owner.createChannel(channel);
    for (const m of others) await m.join(ch.id);
  }
  return { owner, members: others, channel: ch };
}

/** A valid 1x1 red PNG (from a base64 constant). */
export const PNG_1x1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
  'base64',
);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A width x height RGB PNG: a diagonal gradient, so a thumbnail is visibly an image. */
export function makePng(width = 64, height = 48) {
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      row[1 + x * 3] = Math.round((255 * x) / width);
      row[2 + x * 3] = Math.round((255 * y) / height);
      row[3 + x * 3] = 160;
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
