-- The outbox (chat_engine::outbox): one row per message whose follow-up
-- work (after_send hooks, notifications for offline members) is not done,
-- written in the append's transaction. due_at (milliseconds) is when a
-- sweep may take it: the storing node's lease at first, then a claim's or
-- a retry's. stage: 0 hooks and notifications, 1 notifications only.
-- No index on due_at: every commit would write its page to the WAL too
-- (measured: BENCHMARKS.md), and a sweep's scan of the few rows in flight
-- costs less than that.
CREATE TABLE chat_outbox (
    message_id      TEXT    NOT NULL PRIMARY KEY,
    conversation_id TEXT    NOT NULL,
    due_at          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    stage           INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
