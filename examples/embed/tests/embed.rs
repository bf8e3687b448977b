//! The host app's own login and sessions guard its pages and its chat alike.

use futures::StreamExt;
use serde_json::{Value, json};

async fn serve() -> String {
    let app = example_embed::app("sqlite::memory:").await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

async fn login(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    http.post(format!("http://{base}/login"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sessions_from_the_host_login_work_for_chat_under_its_prefix() {
    let base = serve().await;
    let http = reqwest::Client::new();
    assert_eq!(login(&http, &base, "alice", "wrong").await.status(), 401);
    let alice: Value = login(&http, &base, "alice", "alice-pw")
        .await
        .json()
        .await
        .unwrap();
    let bob: Value = login(&http, &base, "bob", "bob-pw")
        .await
        .json()
        .await
        .unwrap();
    let (alice, bob) = (
        alice["token"].as_str().unwrap(),
        bob["token"].as_str().unwrap(),
    );

    let me = http
        .get(format!("http://{base}/me"))
        .bearer_auth(alice)
        .send()
        .await
        .unwrap();
    assert_eq!(me.text().await.unwrap(), "hello alice");

    let refused = http
        .get(format!("http://{base}/chat/conversations"))
        .bearer_auth("forged")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{base}/chat/ws?token={bob}"))
            .await
            .unwrap();
    let mut next_event = async || -> Value {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
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
        .bearer_auth(alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cid = direct["id"].as_str().unwrap();
    let sent = http
        .post(format!("http://{base}/chat/conversations/{cid}/messages"))
        .bearer_auth(alice)
        .json(&json!({ "body": "hi bob, from the host app" }))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    let event = next_event().await;
    assert_eq!(event["message"]["body"], "hi bob, from the host app");
}
