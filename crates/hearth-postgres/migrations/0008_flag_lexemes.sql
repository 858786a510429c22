-- Flags under lexemes no word can equal (see src/index.rs).
--
-- `has:link` and `has:file` were the lexemes `link` and `file` with weight C, and the word
-- `link` is `link` with weight A. The planner's statistics count a lexeme whatever its
-- weight, so it took the word `link` for one on every message with a link, walked the
-- newest messages expecting its window within a few thousand rows, and read the whole
-- table (0.5 to 1.3 s on 1M messages). Flags are now ' has link' and ' has file': the
-- tokenizer never makes a lexeme with a space.
--
-- Each stored vector that holds a flag is rewritten: its C positions (only flags have
-- weight C) are dropped, and the new flags are appended after its last position, where
-- the server writes them, link before file. Rows whose text holds the word `link` keep
-- it, at weight A. Vectors not yet indexed (NULL) are left to the indexer, which writes
-- the new spelling.
UPDATE messages SET search_vector =
    ts_filter(search_vector, '{a,b}')
    || CASE WHEN search_vector @@ '''link'':C'::tsquery
            THEN ''' has link'':1C'::tsvector ELSE ''::tsvector END
    || CASE WHEN search_vector @@ '''file'':C'::tsquery
            THEN ''' has file'':1C'::tsvector ELSE ''::tsvector END
WHERE search_vector @@ '''link'':C | ''file'':C'::tsquery;
ANALYZE messages;
