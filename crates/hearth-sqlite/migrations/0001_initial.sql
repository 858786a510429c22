-- Hearth's SQLite schema. Every row carries workspace_id and every query filters on it.
-- Times are INTEGER milliseconds since the epoch; ids are the opaque TEXT ids of hearth-core.

CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    -- The newest seq of the workspace's event log; bumped inside every write transaction
    -- that appends, so the single writer hands out seqs in commit order without gaps.
    last_seq INTEGER NOT NULL DEFAULT 0,
    -- The newest seq deleted by pruning: resuming from before it needs a resync.
    pruned_through_seq INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    email TEXT NOT NULL,
    handle TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    status_text TEXT NOT NULL DEFAULT '',
    status_emoji TEXT,
    deactivated INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (workspace_id, email),
    UNIQUE (workspace_id, handle)
) STRICT;

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_by_user ON sessions (workspace_id, user_id);

CREATE TABLE invites (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    code_hash TEXT NOT NULL UNIQUE,
    -- With an email the invite is single-use and only that address may redeem it.
    email TEXT,
    role TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    used_by TEXT REFERENCES users (id),
    used_at INTEGER
) STRICT;

CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    kind TEXT NOT NULL,
    -- NULL for DMs and group DMs, which are named by their members.
    name TEXT,
    topic TEXT NOT NULL DEFAULT '',
    purpose TEXT NOT NULL DEFAULT '',
    archived INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    last_message_seq INTEGER NOT NULL DEFAULT 0,
    -- For DMs and group DMs: the sorted member ids joined with ',', so that opening the
    -- same conversation twice finds the first one.
    dm_key TEXT
) STRICT;

CREATE UNIQUE INDEX channels_name ON channels (workspace_id, name) WHERE name IS NOT NULL;
CREATE UNIQUE INDEX channels_dm_key ON channels (workspace_id, dm_key) WHERE dm_key IS NOT NULL;

CREATE TABLE memberships (
    workspace_id TEXT NOT NULL,
    channel_id TEXT NOT NULL REFERENCES channels (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    notify_level TEXT NOT NULL DEFAULT 'default',
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX memberships_by_user ON memberships (workspace_id, user_id);

-- Who was a member of which channel over which range of seqs (to_seq inclusive, NULL while
-- still a member): the log shows a channel's events only to its members at each event's seq.
CREATE TABLE membership_spans (
    workspace_id TEXT NOT NULL,
    channel_id TEXT NOT NULL REFERENCES channels (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    from_seq INTEGER NOT NULL,
    to_seq INTEGER
) STRICT;

CREATE INDEX membership_spans_lookup
    ON membership_spans (workspace_id, user_id, channel_id, from_seq);

CREATE TABLE events (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    -- Exactly one audience: a channel's members, one user, or (both NULL) the workspace.
    channel_id TEXT,
    audience_user_id TEXT,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, seq)
) STRICT;

CREATE INDEX events_by_created_at ON events (created_at);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    channel_id TEXT NOT NULL REFERENCES channels (id),
    -- The seq of its message.created event: its position in the channel.
    seq INTEGER NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    edited_at INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0,
    thread_root_id TEXT REFERENCES messages (id),
    reply_count INTEGER NOT NULL DEFAULT 0,
    last_reply_at INTEGER,
    client_msg_id TEXT,
    -- everyone | channel | here when the text mentions the whole channel.
    broadcast TEXT
) STRICT;

CREATE UNIQUE INDEX messages_client_msg_id
    ON messages (workspace_id, user_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
CREATE INDEX messages_history
    ON messages (workspace_id, channel_id, seq) WHERE thread_root_id IS NULL;
CREATE INDEX messages_replies
    ON messages (workspace_id, thread_root_id, seq) WHERE thread_root_id IS NOT NULL;

CREATE TABLE message_mentions (
    workspace_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    message_id TEXT NOT NULL REFERENCES messages (id),
    seq INTEGER NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (message_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX message_mentions_by_user
    ON message_mentions (workspace_id, user_id, channel_id, seq);

-- A rowid table on purpose: rowid breaks ties between reactions made in the same
-- millisecond, so reactions keep the order people made them in.
CREATE TABLE reactions (
    workspace_id TEXT NOT NULL,
    message_id TEXT NOT NULL REFERENCES messages (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    emoji TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
) STRICT;
