-- Renames a database that the legacy migrations brought up to date to the
-- `chat_` names of migrations/0001_schema.sql. SQLite renames a table's
-- references (foreign keys) and automatic indexes with it; named indexes are
-- made again under their new names.
ALTER TABLE conversations RENAME TO chat_conversations;
ALTER TABLE members RENAME TO chat_members;
ALTER TABLE messages RENAME TO chat_messages;
ALTER TABLE events RENAME TO chat_events;
ALTER TABLE reactions RENAME TO chat_reactions;
ALTER TABLE mentions RENAME TO chat_mentions;
ALTER TABLE pins RENAME TO chat_pins;
ALTER TABLE bans RENAME TO chat_bans;
ALTER TABLE blocks RENAME TO chat_blocks;
ALTER TABLE message_text RENAME TO chat_message_text;
ALTER TABLE search_progress RENAME TO chat_search_progress;

DROP INDEX conversations_public;
CREATE INDEX chat_conversations_public ON chat_conversations (is_public, id);
DROP INDEX members_by_user;
CREATE UNIQUE INDEX chat_members_by_user ON chat_members (user_id, conversation_id);
DROP INDEX messages_by_id;
CREATE UNIQUE INDEX chat_messages_by_id ON chat_messages (id);
DROP INDEX messages_by_client_id;
CREATE UNIQUE INDEX chat_messages_by_client_id
    ON chat_messages (conversation_id, sender, client_id)
    WHERE client_id IS NOT NULL;
DROP INDEX messages_by_thread;
CREATE INDEX chat_messages_by_thread ON chat_messages (conversation_id, thread_root, seq)
    WHERE thread_root IS NOT NULL;
DROP INDEX messages_by_text_rowid;
CREATE UNIQUE INDEX chat_messages_by_text_rowid ON chat_messages (text_rowid);
DROP INDEX events_by_client_id;
CREATE UNIQUE INDEX chat_events_by_client_id ON chat_events (conversation_id, actor, client_id)
    WHERE client_id IS NOT NULL;
