-- The users a StoreDirectory knows (chat_engine::StoreDirectory: for a host
-- without a directory of its own, those who have signed in), with what a
-- page shows of them. Listed in id order, the directory's cursor.
CREATE TABLE chat_users (
    id            VARBINARY(128) NOT NULL PRIMARY KEY,
    display_name  VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    avatar_url    VARCHAR(2048) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
    first_seen_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
