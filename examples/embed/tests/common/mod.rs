//! The host app on a port of its own, over a database file of its own, and
//! its cookie sessions as a client keeps them.

use std::future::Future;
use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A served host app.
pub(crate) struct Host {
    /// `127.0.0.1:port`.
    pub(crate) address: String,
    /// The database URL (the app's and chat's).
    pub(crate) database_url: String,
    /// The serve task: ends when the graceful shutdown has.
    pub(crate) served: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

/// Serves the host app until `stop` resolves, with chat's graceful
/// shutdown bounded by 10 s.
pub(crate) async fn serve(stop: impl Future<Output = ()> + Send + 'static) -> Host {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", dir.path().join("host.db").display());
    let (app, chat) = example_embed::app(&database_url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let shutdown = chat_axum::graceful_shutdown(chat, stop, Duration::from_secs(10));
    let served = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .unwrap();
    });
    Host {
        address,
        database_url,
        served,
        _dir: dir,
    }
}

/// Logs in: the session cookie (`name=value`), or the refusal's status.
pub(crate) async fn login(address: &str, user: &str, password: &str) -> Result<String, u16> {
    let response = reqwest::Client::new()
        .post(format!("http://{address}/login"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap();
    if response.status() != 204 {
        return Err(response.status().as_u16());
    }
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    Ok(cookie.split(';').next().unwrap().to_owned())
}

/// A WebSocket to chat, signed in by `cookie`.
pub(crate) async fn socket(
    address: &str,
    cookie: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut request = format!("ws://{address}/chat/ws")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}
