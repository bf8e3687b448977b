-- Structured messages: a kind and a JSON object (as text) besides the body.
-- Both NULL for a plain text message.
ALTER TABLE messages
    ADD COLUMN content_kind VARCHAR(32) NULL,
    ADD COLUMN content_payload TEXT NULL;
