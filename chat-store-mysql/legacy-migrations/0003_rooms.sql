-- Public rooms: groups anyone may find and join. The directory lists them
-- newest first (by id, a time-ordered UUIDv7), so it reads this index.
ALTER TABLE conversations
    ADD COLUMN is_public TINYINT(1) NOT NULL DEFAULT 0,
    ADD KEY conversations_public (is_public, id);
