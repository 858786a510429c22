//! The tables `migrate-data` copies and what their columns hold: the one place that says
//! how the two schemas correspond (`hearth-sqlite/migrations` and
//! `hearth-postgres/migrations`), in which order tables are copied, and in which order
//! their rows are read and compared.
//!
//! Both schemas have the same tables and column names. Where their types differ, the
//! column's [`Kind`] says how: SQLite's 0/1 flags are PostgreSQL BOOLEANs. PostgreSQL's
//! `reactions.id` is absent on purpose: it is an identity column that takes the place of
//! SQLite's rowid, and is handed out as the copied rows arrive.

/// What a column holds, on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// TEXT in both databases.
    Text,
    /// INTEGER in SQLite, BIGINT in PostgreSQL.
    Int,
    /// INTEGER 0 or 1 in SQLite, BOOLEAN in PostgreSQL.
    Bool,
}

#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    /// Every column of the table in both schemas (nullable or not: a cell may be NULL).
    pub columns: &'static [Column],
    /// The SQLite `ORDER BY` of the copy. Rowid tables go in rowid order, their cheapest
    /// scan and the order rows were written in, which reactions must keep: PostgreSQL
    /// numbers the copied reactions in arrival order.
    pub copy_order: &'static str,
    /// The SQLite `ORDER BY` that the checksum reads rows in: the primary key, or for
    /// reactions the order people made them in.
    pub source_order: &'static str,
    /// The same order in PostgreSQL. Ids are `COLLATE "C"` there, which sorts as SQLite's
    /// BINARY collation does; SQLite sorts NULLs first, PostgreSQL must be told to.
    pub target_order: &'static str,
}

impl Table {
    /// The column names joined with commas, for `SELECT` and `COPY`.
    pub fn column_list(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        names.join(", ")
    }
}

const fn text(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Text,
    }
}

const fn int(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Int,
    }
}

const fn flag(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Bool,
    }
}

/// A table whose rows are compared in primary-key order on both sides.
const fn keyed(
    name: &'static str,
    columns: &'static [Column],
    copy_order: &'static str,
    key: &'static str,
) -> Table {
    Table {
        name,
        columns,
        copy_order,
        source_order: key,
        target_order: key,
    }
}

/// Every Hearth table, parents before children so that each foreign key finds its row.
pub const TABLES: &[Table] = &[
    keyed(
        "workspaces",
        &[
            text("id"),
            text("name"),
            text("slug"),
            int("created_at"),
            // Copied exactly: the event log continues from them.
            int("last_seq"),
            int("pruned_through_seq"),
        ],
        "rowid",
        "id",
    ),
    keyed(
        "users",
        &[
            text("id"),
            text("workspace_id"),
            text("email"),
            text("handle"),
            text("display_name"),
            text("role"),
            text("status_text"),
            text("status_emoji"),
            flag("deactivated"),
            text("password_hash"),
            int("created_at"),
        ],
        "rowid",
        "id",
    ),
    keyed(
        "sessions",
        &[
            text("token_hash"),
            text("workspace_id"),
            text("user_id"),
            int("expires_at"),
            int("created_at"),
        ],
        "rowid",
        "token_hash",
    ),
    keyed(
        "invites",
        &[
            text("id"),
            text("workspace_id"),
            text("code_hash"),
            text("email"),
            text("role"),
            text("created_by"),
            int("expires_at"),
            int("created_at"),
            text("used_by"),
            int("used_at"),
        ],
        "rowid",
        "id",
    ),
    keyed(
        "channels",
        &[
            text("id"),
            text("workspace_id"),
            text("kind"),
            text("name"),
            text("topic"),
            text("purpose"),
            flag("archived"),
            text("created_by"),
            int("created_at"),
            int("last_message_seq"),
            text("dm_key"),
        ],
        "rowid",
        "id",
    ),
    keyed(
        "memberships",
        &[
            text("workspace_id"),
            text("channel_id"),
            text("user_id"),
            text("role"),
            int("last_read_seq"),
            text("notify_level"),
            int("joined_at"),
            flag("muted"),
        ],
        // WITHOUT ROWID: stored in key order.
        "channel_id, user_id",
        "channel_id, user_id",
    ),
    // No primary key: compared in the order of all its columns, so that rows that tie
    // are identical and any order of them renders the same.
    Table {
        name: "membership_spans",
        columns: &[
            text("workspace_id"),
            text("channel_id"),
            text("user_id"),
            int("from_seq"),
            int("to_seq"),
        ],
        copy_order: "rowid",
        source_order: "workspace_id, channel_id, user_id, from_seq, to_seq",
        target_order: "workspace_id, channel_id, user_id, from_seq, to_seq NULLS FIRST",
    },
    keyed(
        "events",
        &[
            text("workspace_id"),
            int("seq"),
            text("kind"),
            text("channel_id"),
            text("audience_user_id"),
            text("payload"),
            int("created_at"),
        ],
        "rowid",
        "workspace_id, seq",
    ),
    keyed(
        "messages",
        &[
            text("id"),
            text("workspace_id"),
            text("channel_id"),
            int("seq"),
            text("user_id"),
            text("text"),
            int("created_at"),
            int("edited_at"),
            flag("deleted"),
            text("thread_root_id"),
            int("reply_count"),
            int("last_reply_at"),
            text("client_msg_id"),
            text("broadcast"),
            text("files"),
        ],
        // Rowid order is write order, so a thread's root comes before its replies.
        "rowid",
        "id",
    ),
    keyed(
        "files",
        &[
            text("id"),
            text("workspace_id"),
            text("uploader_id"),
            text("name"),
            int("size"),
            text("mime_type"),
            int("width"),
            int("height"),
            flag("has_thumbnail"),
            text("storage_key"),
            text("sha256"),
            int("created_at"),
            flag("shared"),
            int("deleted_at"),
        ],
        "rowid",
        "id",
    ),
    keyed(
        "message_files",
        &[
            text("workspace_id"),
            text("file_id"),
            text("message_id"),
            text("channel_id"),
        ],
        // WITHOUT ROWID: stored in key order.
        "workspace_id, file_id, message_id",
        "workspace_id, file_id, message_id",
    ),
    keyed(
        "message_mentions",
        &[
            text("workspace_id"),
            text("channel_id"),
            text("message_id"),
            int("seq"),
            text("user_id"),
        ],
        // WITHOUT ROWID: stored in key order.
        "message_id, user_id",
        "message_id, user_id",
    ),
    Table {
        name: "reactions",
        columns: &[
            text("workspace_id"),
            text("message_id"),
            text("user_id"),
            text("emoji"),
            int("created_at"),
        ],
        copy_order: "rowid",
        // How both stores list a message's reactions: the tie-breaker is rowid in SQLite
        // and the identity id in PostgreSQL, which the rowid-ordered copy keeps in step.
        source_order: "created_at, rowid",
        target_order: "created_at, id",
    },
    keyed(
        "notify_prefs",
        &[
            text("workspace_id"),
            text("user_id"),
            text("keywords"),
            int("dnd_until"),
            int("quiet_start"),
            int("quiet_end"),
            text("time_zone"),
            flag("thread_replies"),
            flag("email"),
        ],
        "rowid",
        "user_id",
    ),
    keyed(
        "push_targets",
        &[
            text("id"),
            text("workspace_id"),
            text("user_id"),
            text("kind"),
            text("endpoint"),
            text("p256dh"),
            text("auth"),
            int("created_at"),
        ],
        "rowid",
        "id",
    ),
    keyed(
        "notify_cursors",
        &[
            text("workspace_id"),
            // Copied exactly, with the workspace's `last_seq`: the worker carries on from
            // where it was, neither notifying twice nor skipping what it had not reached.
            int("seq"),
            text("member_after"),
            text("lease_owner"),
            int("lease_until"),
        ],
        "rowid",
        "workspace_id",
    ),
    keyed(
        "notifications",
        &[
            text("id"),
            text("workspace_id"),
            text("user_id"),
            text("channel_id"),
            text("message_id"),
            int("seq"),
            text("reason"),
            int("created_at"),
        ],
        "rowid",
        "id",
    ),
    keyed(
        "deliveries",
        &[
            text("id"),
            text("workspace_id"),
            text("user_id"),
            text("channel_id"),
            text("kind"),
            text("notification_id"),
            text("target_id"),
            text("state"),
            int("attempts"),
            int("due_at"),
            text("lease_owner"),
            int("lease_until"),
            text("last_error"),
            int("through_seq"),
            int("created_at"),
            int("updated_at"),
        ],
        "rowid",
        "id",
    ),
    // Server-wide (the Web Push VAPID key pair), so it has no workspace_id on purpose:
    // the one table that is not tenant data. Copied so that browsers subscribed to the
    // SQLite server's key keep receiving pushes from PostgreSQL nodes.
    keyed(
        "server_secrets",
        &[text("name"), text("value"), int("created_at")],
        "rowid",
        "name",
    ),
];
