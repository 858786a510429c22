-- Full-text search (see src/search.rs). A contentless FTS5 index whose rowid is the
-- message's rowid, written from hearth-core's tokenizer: `terms` (each token's term, in
-- order), `variants` (folded words whose stem differs, for prefix queries) and `flags`
-- (`link`, `file`). Deleted messages have no row.
CREATE VIRTUAL TABLE message_search USING fts5(
    terms, variants, flags,
    content = '', contentless_delete = 1, tokenize = 'ascii'
);

-- Messages with done_rowid < rowid <= through_rowid are not indexed yet: the ones that
-- existed before this migration, and the ones a data generator writes straight into the
-- file (it moves through_rowid). The server indexes them in steps in the background.
CREATE TABLE search_backlog (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    done_rowid INTEGER NOT NULL,
    through_rowid INTEGER NOT NULL
) STRICT;

INSERT INTO search_backlog (id, done_rowid, through_rowid)
    SELECT 1, 0, IFNULL(MAX(rowid), 0) FROM messages;
