//! Fixtures the SQL stores' own tests share, so both prove the same thing.

/// Rows of a database made before roles (migrations up to and including
/// the timeline's): alice created "kept" and is still in it; bob created
/// "left" and left it, where carol joined before dave; "dm" is a direct
/// conversation. After the roles migration, alice owns "kept", carol owns
/// "left", and "dm" has no owner.
pub const GROUPS_BEFORE_ROLES: [&str; 3] = [
    "INSERT INTO conversations (id, kind, title, created_by, created_at, last_activity_at) \
     VALUES ('kept', 'group', 'kept', 'alice', 1, 1), ('left', 'group', 'left', 'bob', 1, 1)",
    "INSERT INTO conversations (id, kind, created_by, direct_key, created_at, last_activity_at) \
     VALUES ('dm', 'direct', 'alice', '5:alicebob', 1, 1)",
    "INSERT INTO members (conversation_id, user_id, joined_at) VALUES \
     ('kept', 'alice', 1), ('kept', 'bob', 1), ('left', 'dave', 3), ('left', 'carol', 2), \
     ('dm', 'alice', 1), ('dm', 'bob', 1)",
];
