-- Roles and moderation. A member's `role` is 'owner' (one per group),
-- 'admin' or 'member'; direct conversations have members only. `silenced`
-- is 0 for a member who may write, 1 when an admin muted them, 2 in a
-- direct conversation whose other user blocks them: the append writer reads
-- it with the member list it already reads, so refusing costs no query.
ALTER TABLE members
    ADD COLUMN role     VARCHAR(8) NOT NULL DEFAULT 'member',
    ADD COLUMN silenced TINYINT    NOT NULL DEFAULT 0;
ALTER TABLE conversations
    -- Whether plain members may add others (else only admins may).
    ADD COLUMN members_can_add TINYINT NOT NULL DEFAULT 0,
    -- A deleted group keeps its row (its id is never used again), nothing else.
    ADD COLUMN deleted_at BIGINT NULL;

-- Existing groups: the creator owns the group while still a member, else
-- the longest-standing member does.
UPDATE members m
JOIN conversations c ON c.id = m.conversation_id AND c.kind = 'group' AND c.created_by = m.user_id
SET m.role = 'owner';
UPDATE members m
JOIN (
    SELECT ranked.conversation_id, ranked.user_id FROM (
        SELECT f.conversation_id, f.user_id,
               ROW_NUMBER() OVER (PARTITION BY f.conversation_id ORDER BY f.joined_at, f.user_id) AS n
        FROM members f
        JOIN conversations c ON c.id = f.conversation_id AND c.kind = 'group'
        WHERE NOT EXISTS (SELECT 1 FROM members o
                          WHERE o.conversation_id = f.conversation_id AND o.role = 'owner')
    ) ranked WHERE ranked.n = 1
) heir ON heir.conversation_id = m.conversation_id AND heir.user_id = m.user_id
SET m.role = 'owner';

CREATE TABLE bans (
    conversation_id VARBINARY(128) NOT NULL,
    user_id         VARBINARY(128) NOT NULL,
    banned_by       VARBINARY(128) NOT NULL,
    banned_at       BIGINT         NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE blocks (
    blocker    VARBINARY(128) NOT NULL,
    blocked    VARBINARY(128) NOT NULL,
    blocked_at BIGINT         NOT NULL,
    PRIMARY KEY (blocker, blocked)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
