-- Notifications (see src/notify/): the same tables and columns as SQLite's
-- 0004_notifications.sql. The event log is the outbox: a message's message.created
-- event, written in its own transaction, is what the worker expands; notify_cursors says
-- how far it got. Nothing here is written on the send path, and nothing here is written
-- under a workspace row's lock: a worker locks only rows of these tables.

-- A muted channel notifies of nothing (its badge still counts).
ALTER TABLE memberships ADD COLUMN muted BOOLEAN NOT NULL DEFAULT FALSE;

-- A user's account-wide preferences; no row means the defaults.
CREATE TABLE notify_prefs (
    workspace_id TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C" PRIMARY KEY REFERENCES users (id),
    -- A JSON array of lowercased keywords; '[]' when there are none, which is how the
    -- candidates query tells the members with keywords.
    keywords TEXT NOT NULL DEFAULT '[]',
    dnd_until BIGINT,
    -- Minutes past local midnight; both NULL or both set.
    quiet_start BIGINT,
    quiet_end BIGINT,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    thread_replies BOOLEAN NOT NULL DEFAULT TRUE,
    email BOOLEAN NOT NULL DEFAULT TRUE
);

-- The members a message without a broadcast might concern, found without walking a
-- large channel's members (see src/notify/sources.rs): those set to 'all', and the
-- accounts with keywords. Not in SQLite, whose channels are one team's.
CREATE INDEX memberships_notify_all
    ON memberships (workspace_id, channel_id) WHERE notify_level = 'all';
CREATE INDEX notify_prefs_with_keywords ON notify_prefs (workspace_id) WHERE keywords <> '[]';

-- Where a user receives pushes: Web Push subscriptions (with their keys) and webhooks.
CREATE TABLE push_targets (
    id TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    endpoint TEXT COLLATE "C" NOT NULL,
    p256dh TEXT,
    auth TEXT,
    created_at BIGINT NOT NULL,
    CONSTRAINT push_targets_endpoint UNIQUE (workspace_id, user_id, endpoint)
);

-- A Web Push endpoint is one browser: registering it takes it from the workspace's other
-- users, found by endpoint.
CREATE INDEX push_targets_by_browser ON push_targets (workspace_id, endpoint)
    WHERE kind = 'webpush';

-- One per workspace: every message up to seq is expanded; member_after is the progress
-- within the next one (a large channel is expanded in batches). A worker holds it under
-- a lease that lapses at lease_until. A released cursor keeps in lease_until when it was
-- released, with no owner: claims take the least recently served workspace first.
CREATE TABLE notify_cursors (
    workspace_id TEXT COLLATE "C" PRIMARY KEY REFERENCES workspaces (id),
    seq BIGINT NOT NULL,
    member_after TEXT COLLATE "C",
    lease_owner TEXT,
    lease_until BIGINT
);

-- History from before notifications is never notified.
INSERT INTO notify_cursors (workspace_id, seq) SELECT id, last_seq FROM workspaces;

CREATE TABLE notifications (
    id TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL,
    channel_id TEXT COLLATE "C" NOT NULL,
    message_id TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT notifications_once UNIQUE (workspace_id, user_id, message_id)
);

CREATE INDEX notifications_by_conversation
    ON notifications (workspace_id, user_id, channel_id, seq);
-- What pruning reads, oldest first, in bounded steps.
CREATE INDEX notifications_by_created_at ON notifications (created_at);

-- kind 'push': one notification to one push target; kind 'email': the user's unread
-- notifications of one conversation (at most one pending per user and channel).
-- state: pending | sent | skipped | dead. A claimed delivery stays pending under its
-- lease until the attempt is recorded.
CREATE TABLE deliveries (
    id TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL,
    channel_id TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL,
    notification_id TEXT COLLATE "C",
    -- No foreign key: a delivery outlives its deleted target, as a record.
    target_id TEXT COLLATE "C",
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    due_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    -- For a sent email: the seq of the newest notification it listed.
    through_seq BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX deliveries_due ON deliveries (due_at) WHERE state = 'pending';
CREATE UNIQUE INDEX deliveries_one_pending_email
    ON deliveries (workspace_id, user_id, channel_id) WHERE kind = 'email' AND state = 'pending';
CREATE UNIQUE INDEX deliveries_per_target
    ON deliveries (notification_id, target_id) WHERE notification_id IS NOT NULL;
CREATE INDEX deliveries_by_target ON deliveries (target_id) WHERE state = 'pending';
CREATE INDEX deliveries_dead ON deliveries (workspace_id, id) WHERE state = 'dead';
CREATE INDEX deliveries_emails
    ON deliveries (workspace_id, user_id, channel_id, through_seq) WHERE kind = 'email';
-- What pruning reads: settled deliveries, oldest first.
CREATE INDEX deliveries_settled ON deliveries (created_at) WHERE state <> 'pending';

-- Server-wide secrets (the Web Push VAPID key pair): not tenant data, so no workspace.
CREATE TABLE server_secrets (
    name TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
