-- Renames a database that the legacy migrations brought up to date to the
-- `chat_` names of migrations/0001_schema.sql: first the tables, in one
-- atomic RENAME (a crash leaves either name set whole), then the foreign
-- keys, which are named per database, under their new names (without
-- checking rows that were already checked).
RENAME TABLE conversations TO chat_conversations,
             members TO chat_members,
             messages TO chat_messages,
             events TO chat_events,
             reactions TO chat_reactions,
             mentions TO chat_mentions,
             pins TO chat_pins,
             bans TO chat_bans,
             blocks TO chat_blocks;
SET foreign_key_checks = 0;
ALTER TABLE chat_members DROP FOREIGN KEY members_conversation;
ALTER TABLE chat_members ADD CONSTRAINT chat_members_conversation
    FOREIGN KEY (conversation_id) REFERENCES chat_conversations (id);
ALTER TABLE chat_messages DROP FOREIGN KEY messages_conversation;
ALTER TABLE chat_messages ADD CONSTRAINT chat_messages_conversation
    FOREIGN KEY (conversation_id) REFERENCES chat_conversations (id);
ALTER TABLE chat_events DROP FOREIGN KEY events_conversation;
ALTER TABLE chat_events ADD CONSTRAINT chat_events_conversation
    FOREIGN KEY (conversation_id) REFERENCES chat_conversations (id);
SET foreign_key_checks = 1;
