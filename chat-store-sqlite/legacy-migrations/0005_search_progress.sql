-- The full-text index is built off the send path (see search_index.rs):
-- every message whose `text_rowid` is at most `indexed_upto` is in
-- `message_text` (unless deleted); later ones are the indexer's to add.
-- 0004 indexed every message there was.
CREATE TABLE search_progress (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_upto INTEGER NOT NULL
);
INSERT INTO search_progress (id, indexed_upto)
    SELECT 1, COALESCE(MAX(text_rowid), 0) FROM messages;
