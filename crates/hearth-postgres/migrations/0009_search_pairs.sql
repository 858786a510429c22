-- Phrases through word pairs (see src/index.rs and src/search/mod.rs, "Phrases").
--
-- A phrase was matched by the vector's positions: GIN finds every message holding all
-- its words, and each is fetched and checked. Two common words that rarely follow each
-- other cost a read of thousands of rows (`launch for`: 525 ms on 1M messages). Each
-- message's word pairs, `' first second'` for each two terms that follow each other, go
-- in a column of their own with its own GIN index: a two-word phrase is exactly its
-- pair, a longer one needs each of its pairs, and a pair's posting list is short
-- (`launch for`: 1 ms). The vector, which `ts_rank` reads, is unchanged.
--
-- The column is NULL for every existing row. Adding it rewrites nothing, and the server
-- fills it in the background through the search backlog, which now goes by this column:
-- a row without pairs is not fully indexed. Until no row is left without them, phrases
-- are searched by positions as before, so no search misses a message meanwhile.
ALTER TABLE messages ADD COLUMN search_pairs tsvector;

CREATE INDEX messages_search_pairs ON messages USING gin (search_pairs);

-- The backlog, found without reading the rows that are indexed: now every row without
-- pairs, which includes every row without a vector (each write sets both).
DROP INDEX messages_unindexed;
CREATE INDEX messages_unindexed ON messages (workspace_id) WHERE search_pairs IS NULL;
