-- Files (see src/files.rs): the same tables and columns as SQLite's 0003_files.sql. The
-- bytes live in object storage under `storage_key`; these rows are what is known about
-- them. A file is deleted (deleted_at set) by its uploader or an admin, with the last
-- live message that shares it, or as an orphan never shared; its row stays until the
-- purger has removed the bytes (`Store::forget_files`).
CREATE TABLE files (
    id TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    uploader_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    -- The name as uploaded: data to show, never a path.
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    -- Detected from the content.
    mime_type TEXT NOT NULL,
    -- Images: the size after EXIF orientation.
    width BIGINT,
    height BIGINT,
    has_thumbnail BOOLEAN NOT NULL,
    storage_key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Set once a message shared it: such a file is never collected as an orphan.
    shared BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at BIGINT
);

-- A workspace's usage, for the quota, summed from the index alone.
CREATE INDEX files_usage ON files (workspace_id, size) WHERE deleted_at IS NULL;
-- What the purger reads: deleted files, and orphans by age.
CREATE INDEX files_deleted ON files (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX files_orphans ON files (created_at) WHERE deleted_at IS NULL AND NOT shared;

-- Which live messages share which files: who may see a file, and what a file's deletion
-- rewrites. A message's rows go when it is deleted.
CREATE TABLE message_files (
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    file_id TEXT COLLATE "C" NOT NULL REFERENCES files (id),
    message_id TEXT COLLATE "C" NOT NULL REFERENCES messages (id),
    channel_id TEXT COLLATE "C" NOT NULL REFERENCES channels (id),
    PRIMARY KEY (workspace_id, file_id, message_id)
);

CREATE INDEX message_files_by_message ON message_files (workspace_id, message_id);

-- The attachments a message carries (a JSON array of hearth_core::model::Attachment),
-- NULL when it shares none: history reads need no join. TEXT rather than jsonb, as the
-- event payloads: it reads back as it was written.
ALTER TABLE messages ADD COLUMN files TEXT;
