-- Conversations, members and messages on MySQL 8 / MariaDB 10.11 (InnoDB).
-- Ids are VARBINARY: compared and ordered byte for byte, with no collation
-- (utf8mb4_bin pads trailing spaces, which would merge "a" and "a ").
-- Text meant for people (titles, bodies) is utf8mb4. Times are milliseconds
-- since the Unix epoch; seqs are per conversation, assigned by `append`.

CREATE TABLE conversations (
    id               VARBINARY(128) NOT NULL,
    kind             VARCHAR(8)     NOT NULL,
    title            TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
    created_by       VARBINARY(128) NOT NULL,
    -- Canonical pair key for direct conversations; NULL for groups.
    direct_key       VARBINARY(300) NULL,
    created_at       BIGINT         NOT NULL,
    last_seq         BIGINT         NOT NULL DEFAULT 0,
    last_activity_at BIGINT         NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY conversations_direct_key (direct_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE members (
    conversation_id VARBINARY(128) NOT NULL,
    user_id         VARBINARY(128) NOT NULL,
    read_seq        BIGINT         NOT NULL DEFAULT 0,
    joined_at       BIGINT         NOT NULL,
    PRIMARY KEY (conversation_id, user_id),
    UNIQUE KEY members_by_user (user_id, conversation_id),
    CONSTRAINT members_conversation FOREIGN KEY (conversation_id) REFERENCES conversations (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE messages (
    conversation_id VARBINARY(128) NOT NULL,
    seq             BIGINT         NOT NULL,
    id              VARBINARY(128) NOT NULL,
    sender          VARBINARY(128) NOT NULL,
    body            MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    client_id       VARBINARY(512) NULL,
    created_at      BIGINT         NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    UNIQUE KEY messages_by_id (id),
    -- Idempotent retries; NULL client ids never collide.
    UNIQUE KEY messages_by_client_id (conversation_id, sender, client_id),
    CONSTRAINT messages_conversation FOREIGN KEY (conversation_id) REFERENCES conversations (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
