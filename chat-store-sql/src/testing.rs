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

/// Proves a store works on its database: creates group `id` of alice and
/// bob, appends `body` from alice and reads it back as bob. Returns the
/// bodies of the group's history, oldest first (earlier round trips to the
/// same group included).
///
/// # Panics
/// When the store refuses or fails any step.
pub async fn round_trip(store: &dyn chat_engine::Store, id: &str, body: &str) -> Vec<String> {
    use chat_engine::{
        ConversationId, HistoryQuery, MessageId, NewGroup, NewMessageRecord, UserId,
    };
    let conversation_id = ConversationId::new(id).expect("a valid id");
    let alice = UserId::new("alice").expect("a valid id");
    let bob = UserId::new("bob").expect("a valid id");
    if store
        .conversation(&conversation_id)
        .await
        .expect("read the group")
        .is_none()
    {
        store
            .create_group(NewGroup {
                id: conversation_id.clone(),
                title: id.to_owned(),
                public: false,
                members_can_add: false,
                created_by: alice.clone(),
                members: vec![alice.clone(), bob.clone()],
                created_at: chat_engine::time::now(),
            })
            .await
            .expect("create the group");
    }
    store
        .append(NewMessageRecord {
            id: MessageId::generate(),
            conversation_id: conversation_id.clone(),
            sender: alice,
            body: body.to_owned(),
            content: None,
            client_id: None,
            created_at: chat_engine::time::now(),
            reply_to: None,
            thread_root: None,
            mentions: Vec::new(),
            outbox_due: None,
        })
        .await
        .expect("append");
    store
        .history(&conversation_id, &bob, HistoryQuery::latest(50))
        .await
        .expect("read the history")
        .messages
        .into_iter()
        .map(|message| message.body)
        .collect()
}
