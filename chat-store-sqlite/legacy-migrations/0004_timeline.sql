-- The timeline: every change to a conversation takes the next seq. Messages
-- keep their current state here (edited text, tombstones, thread counts);
-- the other changes are rows of `events`, in the same seq space.
--
-- `last_seq` of a conversation is now its latest event of any kind;
-- `last_message_seq` is its latest message (the one a list shows).
ALTER TABLE conversations ADD COLUMN last_message_seq INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET last_message_seq = last_seq;

-- Replies quote a message; thread replies hang under a root (one level).
ALTER TABLE messages ADD COLUMN reply_to INTEGER;
ALTER TABLE messages ADD COLUMN thread_root INTEGER;
-- The seq of the last event that changed this message (0: none).
ALTER TABLE messages ADD COLUMN updated_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
ALTER TABLE messages ADD COLUMN deleted_at INTEGER;
ALTER TABLE messages ADD COLUMN reply_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN last_reply_seq INTEGER;
-- Mentioned members, as a JSON array (also rows of `mentions`, for counts).
ALTER TABLE messages ADD COLUMN mentions TEXT;
CREATE INDEX messages_by_thread ON messages (conversation_id, thread_root, seq)
    WHERE thread_root IS NOT NULL;

CREATE TABLE events (
    conversation_id TEXT    NOT NULL REFERENCES conversations (id),
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

-- Idempotent retries of edits, deletes and reactions.
CREATE UNIQUE INDEX events_by_client_id ON events (conversation_id, actor, client_id)
    WHERE client_id IS NOT NULL;

CREATE TABLE reactions (
    conversation_id TEXT    NOT NULL,
    message_seq     INTEGER NOT NULL,
    reaction        TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    -- The seq of the event that added it: reactions list in first-use order.
    seq             INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, message_seq, reaction, user_id)
) WITHOUT ROWID;

-- Unread mentions: a user's mentions after their read mark are a range.
CREATE TABLE mentions (
    conversation_id TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id, seq)
) WITHOUT ROWID;

CREATE TABLE pins (
    conversation_id TEXT    NOT NULL,
    message_seq     INTEGER NOT NULL,
    pinned_by       TEXT    NOT NULL,
    pinned_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, message_seq)
) WITHOUT ROWID;

-- Full-text search over message bodies: a contentless index (it keeps no
-- copy of the text), keyed by each message's `text_rowid`. `secure-delete`
-- removes a deleted or edited text from the index at once, not at the
-- next merge.
ALTER TABLE messages ADD COLUMN text_rowid INTEGER;
UPDATE messages SET text_rowid = numbered.n
    FROM (SELECT conversation_id, seq, ROW_NUMBER() OVER (ORDER BY conversation_id, seq) AS n
          FROM messages) AS numbered
    WHERE messages.conversation_id = numbered.conversation_id AND messages.seq = numbered.seq;
CREATE UNIQUE INDEX messages_by_text_rowid ON messages (text_rowid);
CREATE VIRTUAL TABLE message_text USING fts5(
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO message_text (message_text, rank) VALUES ('secure-delete', 1);
INSERT INTO message_text (rowid, body) SELECT text_rowid, body FROM messages;
