-- An author's `client_msg_id`s, unique per workspace, as before (0001's
-- messages_client_msg_id), in a shape no other index can stand in for.
--
-- Every send that carries a `client_msg_id` first asks "is this key of this author stored
-- already?" (posts::CHECK, messages::post_message). With 0001's index on (workspace_id,
-- user_id, client_msg_id), messages_by_author (0005: workspace_id, user_id, seq) matches
-- two of the probe's three conditions, and on a table whose statistics predate its growth
-- the planner estimates both at one row and may take messages_by_author, then filters
-- every message the author ever wrote (16 ms for 22,000 of them, under the workspace's
-- lock). Here the author is the expression `user_id || ''`, which only this index holds
-- and which the probes compare against: every other index matches the workspace alone, so
-- the unique probe wins whatever the statistics say. The key is the same, so uniqueness is
-- unchanged.
DROP INDEX messages_client_msg_id;
CREATE UNIQUE INDEX messages_client_key
    ON messages (workspace_id, client_msg_id, (user_id || '')) WHERE client_msg_id IS NOT NULL;
