-- The chat store's schema. Every table and foreign key is named `chat_…`
-- (index names are per table in MySQL), and the history of these migrations
-- is kept in `chat_migrations`, so the store can share a database, and the
-- host's pool, with the host's own tables and its own sqlx migrations.
-- Times are milliseconds since the Unix epoch (UTC); seqs are per
-- conversation, 1, 2, 3… in the order of its timeline. Ids are bytes
-- (VARBINARY): compared exactly, as the library compares them.
--
-- A database made before the prefix (tables without `chat_`, history in
-- `_sqlx_migrations`) is brought up to date and renamed by the store itself
-- (`legacy-migrations/`, then `legacy/rename.sql`), and recorded here as
-- having this migration.

CREATE TABLE chat_conversations (
    id               VARBINARY(128) NOT NULL,
    kind             VARCHAR(8)     NOT NULL,
    title            TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
    created_by       VARBINARY(128) NOT NULL,
    -- Canonical pair key for direct conversations; NULL for groups.
    direct_key       VARBINARY(300) NULL,
    created_at       BIGINT         NOT NULL,
    last_seq         BIGINT         NOT NULL DEFAULT 0,
    last_activity_at BIGINT         NOT NULL,
    is_public        TINYINT(1)     NOT NULL DEFAULT 0,
    last_message_seq BIGINT         NOT NULL DEFAULT 0,
    members_can_add  TINYINT        NOT NULL DEFAULT 0,
    deleted_at       BIGINT         NULL,
    PRIMARY KEY (id),
    UNIQUE KEY conversations_direct_key (direct_key),
    KEY conversations_public (is_public, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE chat_members (
    conversation_id VARBINARY(128) NOT NULL,
    user_id         VARBINARY(128) NOT NULL,
    read_seq        BIGINT         NOT NULL DEFAULT 0,
    joined_at       BIGINT         NOT NULL,
    role            VARCHAR(8)     NOT NULL DEFAULT 'member',
    -- 0 free to write, 1 muted (a group's), 2 blocked (a direct one's).
    silenced        TINYINT        NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id),
    UNIQUE KEY members_by_user (user_id, conversation_id),
    CONSTRAINT chat_members_conversation FOREIGN KEY (conversation_id)
        REFERENCES chat_conversations (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE chat_messages (
    conversation_id VARBINARY(128) NOT NULL,
    seq             BIGINT         NOT NULL,
    id              VARBINARY(128) NOT NULL,
    sender          VARBINARY(128) NOT NULL,
    body            MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    client_id       VARBINARY(512) NULL,
    created_at      BIGINT         NOT NULL,
    content_kind    VARCHAR(32)    NULL,
    content_payload TEXT           NULL,
    reply_to        BIGINT         NULL,
    thread_root     BIGINT         NULL,
    updated_seq     BIGINT         NOT NULL DEFAULT 0,
    edited_at       BIGINT         NULL,
    deleted_at      BIGINT         NULL,
    reply_count     BIGINT         NOT NULL DEFAULT 0,
    last_reply_seq  BIGINT         NULL,
    mentions        TEXT           NULL,
    PRIMARY KEY (conversation_id, seq),
    UNIQUE KEY messages_by_id (id),
    UNIQUE KEY messages_by_client_id (conversation_id, sender, client_id),
    KEY messages_by_thread (conversation_id, thread_root, seq),
    FULLTEXT KEY messages_text (body),
    CONSTRAINT chat_messages_conversation FOREIGN KEY (conversation_id)
        REFERENCES chat_conversations (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE chat_events (
    conversation_id VARBINARY(128) NOT NULL,
    seq             BIGINT         NOT NULL,
    kind            VARCHAR(16)    NOT NULL,
    actor           VARBINARY(128) NOT NULL,
    -- The message an edit, delete, reaction or pin is about.
    message_seq     BIGINT         NULL,
    -- The member a membership event is about.
    subject         VARBINARY(128) NULL,
    -- A reaction's key; a rename's title.
    label           TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    -- An edit's new text (wiped when the message is deleted).
    body            MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
    content_kind    VARCHAR(32)    NULL,
    content_payload TEXT           NULL,
    client_id       VARBINARY(512) NULL,
    created_at      BIGINT         NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    UNIQUE KEY events_by_client_id (conversation_id, actor, client_id),
    CONSTRAINT chat_events_conversation FOREIGN KEY (conversation_id)
        REFERENCES chat_conversations (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE chat_reactions (
    conversation_id VARBINARY(128) NOT NULL,
    message_seq     BIGINT         NOT NULL,
    reaction        VARBINARY(64)  NOT NULL,
    user_id         VARBINARY(128) NOT NULL,
    -- The seq of the event that added it: reactions list in first-use order.
    seq             BIGINT         NOT NULL,
    PRIMARY KEY (conversation_id, message_seq, reaction, user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE chat_mentions (
    conversation_id VARBINARY(128) NOT NULL,
    user_id         VARBINARY(128) NOT NULL,
    seq             BIGINT         NOT NULL,
    PRIMARY KEY (conversation_id, user_id, seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE chat_pins (
    conversation_id VARBINARY(128) NOT NULL,
    message_seq     BIGINT         NOT NULL,
    pinned_by       VARBINARY(128) NOT NULL,
    pinned_at       BIGINT         NOT NULL,
    PRIMARY KEY (conversation_id, message_seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE chat_bans (
    conversation_id VARBINARY(128) NOT NULL,
    user_id         VARBINARY(128) NOT NULL,
    banned_by       VARBINARY(128) NOT NULL,
    banned_at       BIGINT         NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE chat_blocks (
    blocker    VARBINARY(128) NOT NULL,
    blocked    VARBINARY(128) NOT NULL,
    blocked_at BIGINT         NOT NULL,
    PRIMARY KEY (blocker, blocked)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
