-- Notifications: preferences, push targets, and the pipeline's durable work.
-- The event log is the outbox: a message's message.created event, written in its own
-- transaction, is what the worker expands; notify_cursors says how far it got.

-- A muted channel notifies of nothing (its badge still counts).
ALTER TABLE memberships ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;

-- A user's account-wide preferences; no row means the defaults.
CREATE TABLE notify_prefs (
    workspace_id TEXT NOT NULL,
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    -- A JSON array of lowercased keywords.
    keywords TEXT NOT NULL DEFAULT '[]',
    dnd_until INTEGER,
    -- Minutes past local midnight; both NULL or both set.
    quiet_start INTEGER,
    quiet_end INTEGER,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    thread_replies INTEGER NOT NULL DEFAULT 1,
    email INTEGER NOT NULL DEFAULT 1
) STRICT;

-- Where a user receives pushes: Web Push subscriptions (with their keys) and webhooks.
CREATE TABLE push_targets (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    p256dh TEXT,
    auth TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (workspace_id, user_id, endpoint)
) STRICT;

-- A Web Push endpoint is one browser: registering it takes it from the workspace's other
-- users, found by endpoint.
CREATE INDEX push_targets_by_browser ON push_targets (workspace_id, endpoint)
    WHERE kind = 'webpush';

-- One per workspace: every message up to seq is expanded; member_after is the progress
-- within the next one (a large channel is expanded in batches). A worker holds it under
-- a lease that lapses at lease_until.
CREATE TABLE notify_cursors (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id),
    seq INTEGER NOT NULL,
    member_after TEXT,
    lease_owner TEXT,
    lease_until INTEGER
) STRICT;

-- History from before notifications is never notified.
INSERT INTO notify_cursors (workspace_id, seq) SELECT id, last_seq FROM workspaces;

CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (workspace_id, user_id, message_id)
) STRICT;

CREATE INDEX notifications_by_conversation
    ON notifications (workspace_id, user_id, channel_id, seq);
-- What pruning reads, oldest first, in bounded steps.
CREATE INDEX notifications_by_created_at ON notifications (created_at);

-- kind 'push': one notification to one push target; kind 'email': the user's unread
-- notifications of one conversation (at most one pending per user and channel).
-- state: pending | sent | skipped | dead.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    notification_id TEXT,
    target_id TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    -- For a sent email: the seq of the newest notification it listed.
    through_seq INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

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
CREATE INDEX deliveries_settled ON deliveries (created_at) WHERE state != 'pending';

-- Server-wide secrets (the Web Push VAPID key pair): not tenant data, so no workspace.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
