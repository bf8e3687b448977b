-- Each member's own settings for the conversation (chat_engine::Preferences):
-- which messages notify them ('all', 'mentions', 'none'), muted until a
-- time (milliseconds; NULL: not muted), archived, pinned.
ALTER TABLE chat_members ADD COLUMN notifications TEXT NOT NULL DEFAULT 'all';
ALTER TABLE chat_members ADD COLUMN muted_until INTEGER;
ALTER TABLE chat_members ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chat_members ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
