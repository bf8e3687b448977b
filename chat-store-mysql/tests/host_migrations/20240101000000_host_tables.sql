-- A host app's own schema, with a table named as the chat store's once were.
CREATE TABLE conversations (id BIGINT NOT NULL PRIMARY KEY, topic VARCHAR(200) NOT NULL);
CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(200) NOT NULL);
INSERT INTO conversations (id, topic) VALUES (1, 'the host''s own');
