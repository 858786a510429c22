-- `in:` and `from:` inside the search index (see src/search/mod.rs, "`from:` and `in:`").
--
-- The GIN index on the vector gets a second column: each message's scope lexemes, one for
-- its channel (' in <channel id>') and one for its author (' from <author id>'), as an
-- expression, so the stored vector (which `ts_rank` reads) and every score stay as they
-- were and no row is rewritten. The tokenizer never makes a lexeme with a space, so no
-- word, prefix or flag can match one.
--
-- A search for a word in one channel gives the index a key on each column, and GIN scans
-- them as one: it steps through the rarer posting list and skips in the other, so a rare
-- word in a channel of 100,000 messages reads the word's few matches. Before, the planner
-- ANDed a bitmap of the channel's whole B-tree range with the word's GIN bitmap (15 to 25
-- ms on 1M messages before any row was read). Searches on the vector alone use the first
-- column as they used messages_search, so each post still updates one GIN index, with
-- two more entries. messages_by_author and messages_by_channel stay, for searches by
-- filters alone and for walking a busy channel when a word's matches in it are many.
--
-- The expression must be written exactly this way in every query that wants the index
-- (src/search/text.rs, `SCOPES`). The build reads the whole table once; the memory lets
-- it sort in fewer passes.
SET LOCAL maintenance_work_mem = '256MB';
CREATE INDEX messages_search_scoped ON messages USING gin (
    search_vector,
    (array_to_tsvector(ARRAY[' in ' || channel_id, ' from ' || user_id]))
);
DROP INDEX messages_search;
-- The planner estimates `expression @@ query` from statistics on the expression, which
-- only ANALYZE gathers; without them it would guess every scope the same size.
ANALYZE messages;
