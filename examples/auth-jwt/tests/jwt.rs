//! Tokens the identity provider signs open chat over REST and WebSocket;
//! tokens signed by anyone else, for another audience or issuer, or past
//! their expiry are refused.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const ISSUER_PRIVATE: &[u8] = include_bytes!("keys/issuer-private.pem");
const ISSUER_PUBLIC: &[u8] = include_bytes!("keys/issuer-public.pem");
const STRANGER_PRIVATE: &[u8] = include_bytes!("keys/stranger-private.pem");

/// A token as a provider mints it: `sub`, `iss`, `aud`, `exp` seconds away
/// (negative: already expired), signed with `key`.
fn token(key: &[u8], sub: &str, iss: &str, aud: &str, expires_in: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exp = i64::try_from(now).unwrap() + expires_in;
    let claims = json!({ "sub": sub, "iss": iss, "aud": aud, "exp": exp });
    let key = EncodingKey::from_ed_pem(key).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &key).unwrap()
}

fn good(sub: &str) -> String {
    token(
        ISSUER_PRIVATE,
        sub,
        example_auth_jwt::ISSUER,
        example_auth_jwt::AUDIENCE,
        600,
    )
}

async fn serve() -> String {
    let (app, _chat) = example_auth_jwt::app("sqlite::memory:", ISSUER_PUBLIC)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

async fn conversations_status(base: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("http://{base}/chat/conversations"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_providers_tokens_open_chat_over_rest_and_websocket() {
    let base = serve().await;
    let http = reqwest::Client::new();
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{base}/chat/ws?token={}", good("bob")))
            .await
            .unwrap();
    let mut next_event = async || -> Value {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        serde_json::from_str(frame.to_text().unwrap()).unwrap()
    };
    assert_eq!(next_event().await["type"], "ready");
    let alice = good("alice");
    let direct: Value = http
        .put(format!("http://{base}/chat/direct/bob"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cid = direct["id"].as_str().unwrap();
    let sent = http
        .post(format!("http://{base}/chat/conversations/{cid}/messages"))
        .bearer_auth(&alice)
        .json(&json!({ "body": "signed by the provider" }))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    assert_eq!(
        next_event().await["message"]["body"],
        "signed by the provider"
    );
}

#[tokio::test]
async fn tokens_not_from_the_provider_or_not_for_chat_are_refused() {
    let base = serve().await;
    let (issuer, audience) = (example_auth_jwt::ISSUER, example_auth_jwt::AUDIENCE);
    assert_eq!(conversations_status(&base, &good("alice")).await, 200);
    let refused = [
        (
            "a stranger's key",
            token(STRANGER_PRIVATE, "alice", issuer, audience, 600),
        ),
        (
            "another issuer",
            token(
                ISSUER_PRIVATE,
                "alice",
                "https://evil.example/",
                audience,
                600,
            ),
        ),
        (
            "another audience",
            token(ISSUER_PRIVATE, "alice", issuer, "billing", 600),
        ),
        (
            "expired",
            token(ISSUER_PRIVATE, "alice", issuer, audience, -5),
        ),
        ("not a token", "alice".to_owned()),
    ];
    for (why, token) in refused {
        assert_eq!(conversations_status(&base, &token).await, 401, "{why}");
    }
}
