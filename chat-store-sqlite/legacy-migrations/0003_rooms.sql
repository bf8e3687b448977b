-- Public rooms: groups anyone may find and join. The directory lists them
-- newest first (by id, a time-ordered UUIDv7), so it reads this index.
ALTER TABLE conversations ADD COLUMN is_public INTEGER NOT NULL DEFAULT 0;
CREATE INDEX conversations_public ON conversations (is_public, id);
