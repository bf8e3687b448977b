-- Each member's own settings for the conversation (chat_engine::Preferences):
-- which messages notify them ('all', 'mentions', 'none'), muted until a
-- time (milliseconds; NULL: not muted), archived, pinned.
ALTER TABLE chat_members
    ADD COLUMN notifications VARCHAR(8) NOT NULL DEFAULT 'all',
    ADD COLUMN muted_until   BIGINT     NULL,
    ADD COLUMN archived      TINYINT    NOT NULL DEFAULT 0,
    ADD COLUMN pinned        TINYINT    NOT NULL DEFAULT 0;
