-- Scope tokens for `from:` and `in:` (see src/search/indexing.rs): each message's index
-- row now also holds its author's and channel's ids in `flags`. Rows written before this
-- migration lack them, so every message stored so far goes back into the backlog and is
-- rewritten in steps by the server; until a row is, searches match its author and
-- channel by the SQL filters alone (src/search/mod.rs), so results never change.
UPDATE search_backlog SET
    done_rowid = 0,
    through_rowid = max(through_rowid, (SELECT IFNULL(MAX(rowid), 0) FROM messages));
