-- Full-text search (see src/index.rs and src/search.rs). The vector is built by the
-- server from hearth-core's tokenizer and written as a tsvector literal in the same
-- transaction as the text; PostgreSQL's own text parser is never used, so both backends
-- index the same terms whatever the server's locale.
--
-- NULL means "not indexed yet": rows that were stored without a vector (before this
-- migration, or written straight into the tables by migrate-data or a data generator)
-- until `Store::index_search_backlog` reaches them. A deleted message has the empty
-- vector, not NULL.
ALTER TABLE messages ADD COLUMN search_vector tsvector;

-- Term queries. Plain GIN on the vector alone: putting workspace_id in it needs the
-- btree_gin extension, which a managed server may not offer; the workspace is checked on
-- the rows the index finds.
CREATE INDEX messages_search ON messages USING gin (search_vector);

-- The backlog, found without reading the rows that are indexed.
CREATE INDEX messages_unindexed ON messages (workspace_id) WHERE search_vector IS NULL;

-- Newest first across a workspace's channels, replies included: what a search by filters
-- alone (`from:@ada`, `in:#general`, `has:reaction`) walks until its page is full, and
-- what the planner walks for a very common word sorted by time instead of reading every
-- match. (messages_history holds top-level messages only.)
CREATE INDEX messages_by_seq ON messages (workspace_id, seq);
