-- Conversations, members and messages. Times are milliseconds since the Unix
-- epoch (UTC); seqs are per conversation, 1, 2, 3… assigned by `append`.

CREATE TABLE conversations (
    id               TEXT    NOT NULL PRIMARY KEY,
    kind             TEXT    NOT NULL CHECK (kind IN ('direct', 'group')),
    title            TEXT,
    created_by       TEXT    NOT NULL,
    -- Canonical pair key for direct conversations (one per unordered pair);
    -- NULL for groups. The unique index makes concurrent opens converge.
    direct_key       TEXT    UNIQUE,
    created_at       INTEGER NOT NULL,
    last_seq         INTEGER NOT NULL DEFAULT 0,
    last_activity_at INTEGER NOT NULL
);

CREATE TABLE members (
    conversation_id TEXT    NOT NULL REFERENCES conversations (id),
    user_id         TEXT    NOT NULL,
    read_seq        INTEGER NOT NULL DEFAULT 0,
    joined_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;

-- A user's conversations.
CREATE UNIQUE INDEX members_by_user ON members (user_id, conversation_id);

CREATE TABLE messages (
    conversation_id TEXT    NOT NULL REFERENCES conversations (id),
    seq             INTEGER NOT NULL,
    id              TEXT    NOT NULL,
    sender          TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    client_id       TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;

-- Fetch by id.
CREATE UNIQUE INDEX messages_by_id ON messages (id);

-- Idempotent retries: one message per (conversation, sender, client_id).
CREATE UNIQUE INDEX messages_by_client_id
    ON messages (conversation_id, sender, client_id)
    WHERE client_id IS NOT NULL;
