-- The timeline: every change to a conversation takes the next seq. Messages
-- keep their current state here (edited text, tombstones, thread counts);
-- the other changes are rows of `events`, in the same seq space.
--
-- `last_seq` of a conversation is now its latest event of any kind;
-- `last_message_seq` is its latest message (the one a list shows).
ALTER TABLE conversations
    ADD COLUMN last_message_seq BIGINT NOT NULL DEFAULT 0;
UPDATE conversations SET last_message_seq = last_seq;

-- Replies quote a message; thread replies hang under a root (one level).
-- `updated_seq`: the seq of the last event that changed the message (0: none).
-- Mentions as a JSON array (also rows of `mentions`, for counts).
-- The FULLTEXT index serves search; InnoDB keeps it in step with the body.
ALTER TABLE messages
    ADD COLUMN reply_to BIGINT NULL,
    ADD COLUMN thread_root BIGINT NULL,
    ADD COLUMN updated_seq BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN edited_at BIGINT NULL,
    ADD COLUMN deleted_at BIGINT NULL,
    ADD COLUMN reply_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN last_reply_seq BIGINT NULL,
    ADD COLUMN mentions TEXT NULL,
    ADD KEY messages_by_thread (conversation_id, thread_root, seq),
    ADD FULLTEXT KEY messages_text (body);

CREATE TABLE events (
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
    CONSTRAINT events_conversation FOREIGN KEY (conversation_id) REFERENCES conversations (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE reactions (
    conversation_id VARBINARY(128) NOT NULL,
    message_seq     BIGINT         NOT NULL,
    reaction        VARBINARY(64)  NOT NULL,
    user_id         VARBINARY(128) NOT NULL,
    -- The seq of the event that added it: reactions list in first-use order.
    seq             BIGINT         NOT NULL,
    PRIMARY KEY (conversation_id, message_seq, reaction, user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- Unread mentions: a user's mentions after their read mark are a range.
CREATE TABLE mentions (
    conversation_id VARBINARY(128) NOT NULL,
    user_id         VARBINARY(128) NOT NULL,
    seq             BIGINT         NOT NULL,
    PRIMARY KEY (conversation_id, user_id, seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE pins (
    conversation_id VARBINARY(128) NOT NULL,
    message_seq     BIGINT         NOT NULL,
    pinned_by       VARBINARY(128) NOT NULL,
    pinned_at       BIGINT         NOT NULL,
    PRIMARY KEY (conversation_id, message_seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
