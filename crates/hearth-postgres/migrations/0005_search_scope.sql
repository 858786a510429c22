-- `from:` and `in:` (see src/search.rs): a workspace's messages by one author, or in one
-- channel, newest first, replies included. A search for a word from a rare author walks
-- the author's messages backwards and checks the word on each, instead of the word's
-- matches checking the author (the GIN index returns matches unordered, so a common
-- word with a rare author read and sorted most of the word's matches). The planner
-- still takes the GIN index when the word is the rarer side. (messages_history holds
-- top-level messages only, so it cannot serve `in:`.)
CREATE INDEX messages_by_author ON messages (workspace_id, user_id, seq);
CREATE INDEX messages_by_channel ON messages (workspace_id, channel_id, seq);
