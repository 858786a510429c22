-- Hearth's PostgreSQL schema: the same tables and columns as the SQLite one. Every row
-- carries workspace_id and every query filters on it. Times are BIGINT milliseconds since
-- the epoch; ids are the opaque TEXT ids of hearth-core.
--
-- Ids and names are `COLLATE "C"`: ordering and paging by them (`ORDER BY id`,
-- `id > $after`) must be byte order, as in SQLite and in Rust, whatever collation the
-- database was created with. Every id column uses it, so that joins compare two columns
-- of one collation.

CREATE TABLE workspaces (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    -- The newest seq of the workspace's event log. Every transaction that appends locks
    -- this row first and bumps it, so seqs are handed out in commit order without gaps
    -- (see the crate docs).
    last_seq BIGINT NOT NULL DEFAULT 0,
    -- The newest seq deleted by pruning: resuming from before it needs a resync.
    pruned_through_seq BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT workspaces_slug UNIQUE (slug)
);

CREATE TABLE users (
    id TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    email TEXT COLLATE "C" NOT NULL,
    handle TEXT COLLATE "C" NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    status_text TEXT NOT NULL DEFAULT '',
    status_emoji TEXT,
    deactivated BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT users_email UNIQUE (workspace_id, email),
    CONSTRAINT users_handle UNIQUE (workspace_id, handle)
);

CREATE TABLE sessions (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX sessions_by_user ON sessions (workspace_id, user_id);

CREATE TABLE invites (
    id TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    code_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    -- With an email the invite is single-use and only that address may redeem it.
    email TEXT COLLATE "C",
    role TEXT NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    used_by TEXT COLLATE "C" REFERENCES users (id),
    used_at BIGINT
);

CREATE TABLE channels (
    id TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    kind TEXT NOT NULL,
    -- NULL for DMs and group DMs, which are named by their members.
    name TEXT COLLATE "C",
    topic TEXT NOT NULL DEFAULT '',
    purpose TEXT NOT NULL DEFAULT '',
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    created_by TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    last_message_seq BIGINT NOT NULL DEFAULT 0,
    -- For DMs and group DMs: the sorted member ids joined with ',', so that opening the
    -- same conversation twice finds the first one.
    dm_key TEXT COLLATE "C"
);

CREATE UNIQUE INDEX channels_name ON channels (workspace_id, name) WHERE name IS NOT NULL;
CREATE UNIQUE INDEX channels_dm_key ON channels (workspace_id, dm_key) WHERE dm_key IS NOT NULL;

CREATE TABLE memberships (
    workspace_id TEXT COLLATE "C" NOT NULL,
    channel_id TEXT COLLATE "C" NOT NULL REFERENCES channels (id),
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    last_read_seq BIGINT NOT NULL DEFAULT 0,
    notify_level TEXT NOT NULL DEFAULT 'default',
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);

CREATE INDEX memberships_by_user ON memberships (workspace_id, user_id);

-- Who was a member of which channel over which range of seqs (to_seq inclusive, NULL while
-- still a member): the log shows a channel's events only to its members at each event's seq.
CREATE TABLE membership_spans (
    workspace_id TEXT COLLATE "C" NOT NULL,
    channel_id TEXT COLLATE "C" NOT NULL REFERENCES channels (id),
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    from_seq BIGINT NOT NULL,
    to_seq BIGINT
);

CREATE INDEX membership_spans_lookup
    ON membership_spans (workspace_id, user_id, channel_id, from_seq);

CREATE TABLE events (
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    -- Exactly one audience: a channel's members, one user, or (both NULL) the workspace.
    channel_id TEXT COLLATE "C",
    audience_user_id TEXT COLLATE "C",
    -- TEXT rather than jsonb: the payload reads back byte for byte as it was written.
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, seq)
);

CREATE INDEX events_by_created_at ON events (created_at);

CREATE TABLE messages (
    id TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    channel_id TEXT COLLATE "C" NOT NULL REFERENCES channels (id),
    -- The seq of its message.created event: its position in the channel.
    seq BIGINT NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    edited_at BIGINT,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    thread_root_id TEXT COLLATE "C" REFERENCES messages (id),
    reply_count BIGINT NOT NULL DEFAULT 0,
    last_reply_at BIGINT,
    client_msg_id TEXT COLLATE "C",
    -- everyone | channel | here when the text mentions the whole channel.
    broadcast TEXT
);

CREATE UNIQUE INDEX messages_client_msg_id
    ON messages (workspace_id, user_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
CREATE INDEX messages_history
    ON messages (workspace_id, channel_id, seq) WHERE thread_root_id IS NULL;
CREATE INDEX messages_replies
    ON messages (workspace_id, thread_root_id, seq) WHERE thread_root_id IS NOT NULL;

CREATE TABLE message_mentions (
    workspace_id TEXT COLLATE "C" NOT NULL,
    channel_id TEXT COLLATE "C" NOT NULL,
    message_id TEXT COLLATE "C" NOT NULL REFERENCES messages (id),
    seq BIGINT NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    PRIMARY KEY (message_id, user_id)
);

CREATE INDEX message_mentions_by_user
    ON message_mentions (workspace_id, user_id, channel_id, seq);

CREATE TABLE reactions (
    workspace_id TEXT COLLATE "C" NOT NULL,
    message_id TEXT COLLATE "C" NOT NULL REFERENCES messages (id),
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    emoji TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    -- Breaks ties between reactions made in the same millisecond (SQLite uses its rowid),
    -- so reactions keep the order people made them in.
    id BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (message_id, user_id, emoji)
);
