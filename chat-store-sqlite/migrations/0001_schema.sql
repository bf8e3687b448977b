-- The chat store's schema. Every table and index is named `chat_…`, and the
-- history of these migrations is kept in `chat_migrations`, so the store can
-- share a database with a host's own tables and its own sqlx migrations.
-- Times are milliseconds since the Unix epoch (UTC); seqs are per
-- conversation, 1, 2, 3… in the order of its timeline.
--
-- A database made before the prefix (tables without `chat_`, history in
-- `_sqlx_migrations`) is brought up to date and renamed by the store itself
-- (`legacy-migrations/`, then `legacy/rename.sql`), and recorded here as
-- having this migration.

CREATE TABLE chat_conversations (
    id               TEXT    NOT NULL PRIMARY KEY,
    kind             TEXT    NOT NULL CHECK (kind IN ('direct', 'group')),
    title            TEXT,
    created_by       TEXT    NOT NULL,
    -- Canonical pair key for direct conversations (one per unordered pair);
    -- NULL for groups. The unique index makes concurrent opens converge.
    direct_key       TEXT    UNIQUE,
    created_at       INTEGER NOT NULL,
    -- The newest seq of the timeline, and of a message in it.
    last_seq         INTEGER NOT NULL DEFAULT 0,
    last_activity_at INTEGER NOT NULL,
    is_public        INTEGER NOT NULL DEFAULT 0,
    last_message_seq INTEGER NOT NULL DEFAULT 0,
    members_can_add  INTEGER NOT NULL DEFAULT 0,
    deleted_at       INTEGER
);

CREATE INDEX chat_conversations_public ON chat_conversations (is_public, id);

CREATE TABLE chat_members (
    conversation_id TEXT    NOT NULL REFERENCES chat_conversations (id),
    user_id         TEXT    NOT NULL,
    read_seq        INTEGER NOT NULL DEFAULT 0,
    joined_at       INTEGER NOT NULL,
    role            TEXT    NOT NULL DEFAULT 'member',
    -- 0 free to write, 1 muted (a group's), 2 blocked (a direct one's).
    silenced        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;

CREATE UNIQUE INDEX chat_members_by_user ON chat_members (user_id, conversation_id);

CREATE TABLE chat_messages (
    conversation_id TEXT    NOT NULL REFERENCES chat_conversations (id),
    seq             INTEGER NOT NULL,
    id              TEXT    NOT NULL,
    sender          TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    client_id       TEXT,
    created_at      INTEGER NOT NULL,
    content_kind    TEXT,
    content_payload TEXT,
    reply_to        INTEGER,
    thread_root     INTEGER,
    updated_seq     INTEGER NOT NULL DEFAULT 0,
    edited_at       INTEGER,
    deleted_at      INTEGER,
    reply_count     INTEGER NOT NULL DEFAULT 0,
    last_reply_seq  INTEGER,
    mentions        TEXT,
    -- The message's row in the full-text index (never reused).
    text_rowid      INTEGER,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;

CREATE UNIQUE INDEX chat_messages_by_id ON chat_messages (id);

CREATE UNIQUE INDEX chat_messages_by_client_id
    ON chat_messages (conversation_id, sender, client_id)
    WHERE client_id IS NOT NULL;

CREATE INDEX chat_messages_by_thread ON chat_messages (conversation_id, thread_root, seq)
    WHERE thread_root IS NOT NULL;

CREATE UNIQUE INDEX chat_messages_by_text_rowid ON chat_messages (text_rowid);

CREATE TABLE chat_events (
    conversation_id TEXT    NOT NULL REFERENCES chat_conversations (id),
    seq             INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    -- The message an edit, delete, reaction or pin is about.
    message_seq     INTEGER,
    -- The member a membership event is about.
    subject         TEXT,
    -- A reaction's key; a rename's title.
    label           TEXT,
    -- An edit's new text (wiped when the message is deleted).
    body            TEXT,
    content_kind    TEXT,
    content_payload TEXT,
    client_id       TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;

CREATE UNIQUE INDEX chat_events_by_client_id ON chat_events (conversation_id, actor, client_id)
    WHERE client_id IS NOT NULL;

CREATE TABLE chat_reactions (
    conversation_id TEXT    NOT NULL,
    message_seq     INTEGER NOT NULL,
    reaction        TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    -- The seq of the event that added it: reactions list in first-use order.
    seq             INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, message_seq, reaction, user_id)
) WITHOUT ROWID;

CREATE TABLE chat_mentions (
    conversation_id TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id, seq)
) WITHOUT ROWID;

CREATE TABLE chat_pins (
    conversation_id TEXT    NOT NULL,
    message_seq     INTEGER NOT NULL,
    pinned_by       TEXT    NOT NULL,
    pinned_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, message_seq)
) WITHOUT ROWID;

CREATE TABLE chat_bans (
    conversation_id TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    banned_by       TEXT    NOT NULL,
    banned_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;

CREATE TABLE chat_blocks (
    blocker    TEXT    NOT NULL,
    blocked    TEXT    NOT NULL,
    blocked_at INTEGER NOT NULL,
    PRIMARY KEY (blocker, blocked)
) WITHOUT ROWID;

-- Words of message bodies, for search. Contentless: the text lives in
-- chat_messages only, and secure-delete takes a deleted message's words out
-- at once. Filled behind the writer (chat_search_progress says how far).
CREATE VIRTUAL TABLE chat_message_text USING fts5(
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO chat_message_text (chat_message_text, rank) VALUES ('secure-delete', 1);

CREATE TABLE chat_search_progress (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_upto INTEGER NOT NULL
);
INSERT INTO chat_search_progress (id, indexed_upto) VALUES (1, 0);
