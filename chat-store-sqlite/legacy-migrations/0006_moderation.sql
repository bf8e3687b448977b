-- Roles and moderation. A member's `role` is 'owner' (one per group),
-- 'admin' or 'member'; direct conversations have members only. `silenced`
-- is 0 for a member who may write, 1 when an admin muted them, 2 in a
-- direct conversation whose other user blocks them: the append writer reads
-- it with the member list it already reads, so refusing costs no query.
ALTER TABLE members ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
ALTER TABLE members ADD COLUMN silenced INTEGER NOT NULL DEFAULT 0;
-- Whether plain members may add others (else only admins may).
ALTER TABLE conversations ADD COLUMN members_can_add INTEGER NOT NULL DEFAULT 0;
-- A deleted group keeps its row (its id is never used again), nothing else.
ALTER TABLE conversations ADD COLUMN deleted_at INTEGER;

-- Existing groups: the creator owns the group while still a member, else
-- the longest-standing member does.
UPDATE members SET role = 'owner'
WHERE EXISTS (SELECT 1 FROM conversations c
              WHERE c.id = members.conversation_id AND c.kind = 'group'
                AND c.created_by = members.user_id);
UPDATE members SET role = 'owner'
WHERE conversation_id IN (SELECT id FROM conversations WHERE kind = 'group')
  AND NOT EXISTS (SELECT 1 FROM members o
                  WHERE o.conversation_id = members.conversation_id AND o.role = 'owner')
  AND user_id = (SELECT f.user_id FROM members f
                 WHERE f.conversation_id = members.conversation_id
                 ORDER BY f.joined_at, f.user_id LIMIT 1);

CREATE TABLE bans (
    conversation_id TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    banned_by       TEXT    NOT NULL,
    banned_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;

CREATE TABLE blocks (
    blocker    TEXT    NOT NULL,
    blocked    TEXT    NOT NULL,
    blocked_at INTEGER NOT NULL,
    PRIMARY KEY (blocker, blocked)
) WITHOUT ROWID;
