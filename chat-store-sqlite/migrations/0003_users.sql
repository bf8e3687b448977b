-- The users a StoreDirectory knows (chat_engine::StoreDirectory: for a host
-- without a directory of its own, those who have signed in), with what a
-- page shows of them. Listed in id order, the directory's cursor.
CREATE TABLE chat_users (
    id            TEXT    NOT NULL PRIMARY KEY,
    display_name  TEXT    NOT NULL,
    avatar_url    TEXT,
    first_seen_at INTEGER NOT NULL
) WITHOUT ROWID;
