//! The host app's own login, cookie sessions, users table and sqlx
//! migrations guard and share its pages and its chat alike.

mod common;

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn the_host_cookie_session_signs_users_in_to_chat_beside_its_own_tables() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let host = common::serve(async {
        let _ = stopped.await;
    })
    .await;
    let base = &host.address;
    assert_eq!(common::login(base, "alice", "wrong").await, Err(401));
    let alice = common::login(base, "alice", "alice-pw").await.unwrap();
    let bob = common::login(base, "bob", "bob-pw").await.unwrap();
    let http = reqwest::Client::new();

    let me = http
        .get(format!("http://{base}/me"))
        .header("cookie", &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.text().await.unwrap(),
        "hello alice; your support threads: my order has not arrived"
    );
    let refused = http
        .get(format!("http://{base}/chat/conversations"))
        .header("cookie", "id=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let mut socket = common::socket(base, &bob).await;
    let mut next_event = async || -> Value {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        serde_json::from_str(frame.to_text().unwrap()).unwrap()
    };
    // Registered: what is sent from now on reaches the socket.
    assert_eq!(next_event().await["type"], "ready");
    let direct: Value = http
        .put(format!("http://{base}/chat/direct/bob"))
        .header("cookie", &alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cid = direct["id"].as_str().unwrap();
    let sent = http
        .post(format!("http://{base}/chat/conversations/{cid}/messages"))
        .header("cookie", &alice)
        .json(&json!({ "body": "hi bob, from the host app" }))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    let event = next_event().await;
    assert_eq!(event["message"]["body"], "hi bob, from the host app");

    // The host's sqlx history holds the host's migration only, and runs again.
    let pool = sqlx::SqlitePool::connect(&host.database_url).await.unwrap();
    let host_versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(host_versions, [1]);
    sqlx::migrate!("./migrations").run(&pool).await.unwrap();

    // Shut down: bob's socket is told the server is going away.
    stop.send(()).unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(60), socket.next())
        .await
        .expect("the shutdown closes the socket");
    match closed {
        Some(Ok(Message::Close(Some(close)))) => assert_eq!(u16::from(close.code), 1001),
        other => panic!("expected a close frame, got {other:?}"),
    }
    // The client ends its side of the handshake (a browser answers the
    // close frame; here the socket goes), and the shutdown completes.
    drop(socket);
    host.served.await.unwrap();
}
