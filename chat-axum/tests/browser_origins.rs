//! Which pages may use the API from a browser: the WebSocket upgrade checks
//! `Origin` (the server's own origin, plus the ones configured), and REST
//! gets CORS headers only for configured origins.

mod common;

use chat_engine::ChatConfig;
use common::{TestServer, memory_chat};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

async fn server(origins: &[&str]) -> TestServer {
    let chat = memory_chat(ChatConfig::default()).await;
    let router = TestServer::router(&chat).with_allowed_origins(origins.iter().copied());
    TestServer::serve_router(chat, router).await
}

/// The upgrade's status: 101 when it went through, else the refusal's.
async fn upgrade_status(server: &TestServer, origin: Option<&str>) -> u16 {
    let mut request = format!("ws://{}/chat/ws?token=alice", server.addr)
        .into_client_request()
        .unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(origin).unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["error"]["code"], "forbidden", "{body}");
            response.status().as_u16()
        }
        Err(other) => panic!("upgrade failed: {other}"),
    }
}

#[tokio::test]
async fn only_the_servers_own_pages_and_non_browsers_may_open_the_socket() {
    let server = server(&[]).await;
    let own = format!("http://{}", server.addr);
    assert_eq!(upgrade_status(&server, Some(&own)).await, 101);
    assert_eq!(
        upgrade_status(&server, None).await,
        101,
        "no Origin: not a browser"
    );
    for foreign in ["http://evil.example", "null", "http://127.0.0.1:1"] {
        assert_eq!(
            upgrade_status(&server, Some(foreign)).await,
            403,
            "{foreign}"
        );
    }
    assert_eq!(
        server.chat.hub().stats().connections,
        0,
        "no refused upgrade was registered"
    );
}

#[tokio::test]
async fn configured_origins_may_open_the_socket_and_get_cors() {
    let server = server(&["https://app.example"]).await;
    assert_eq!(
        upgrade_status(&server, Some("https://app.example")).await,
        101
    );
    assert_eq!(
        upgrade_status(&server, Some("https://other.example")).await,
        403
    );

    let client = reqwest::Client::new();
    let preflight = client
        .request(reqwest::Method::OPTIONS, server.url("/conversations"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let listing = client
        .get(server.url("/conversations"))
        .bearer_auth("alice")
        .header("origin", "https://other.example")
        .send()
        .await
        .unwrap();
    assert_eq!(listing.status(), 200);
    assert!(
        listing
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "an origin not configured gets no CORS grant"
    );
}

#[tokio::test]
async fn without_configured_origins_rest_sends_no_cors_headers() {
    let server = server(&[]).await;
    let response = reqwest::Client::new()
        .get(server.url("/conversations"))
        .bearer_auth("alice")
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
