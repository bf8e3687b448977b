-- The host app's own schema, run by its own sqlx migrations in the same
-- database as chat's (chat's tables are `chat_…`, its history is in
-- `chat_migrations`). `conversations` is the host's too: its support threads.
CREATE TABLE users (
    id       INTEGER PRIMARY KEY,
    username TEXT    NOT NULL UNIQUE,
    -- Demo only: a real app stores a password hash (argon2, bcrypt).
    password TEXT    NOT NULL
);
CREATE TABLE conversations (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    topic   TEXT    NOT NULL
);
INSERT INTO users (username, password) VALUES ('alice', 'alice-pw'), ('bob', 'bob-pw');
INSERT INTO conversations (user_id, topic) VALUES (1, 'my order has not arrived');
