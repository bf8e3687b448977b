//! Runs the example host app on 127.0.0.1:3000 with chat under `/chat`,
//! until Ctrl-C, shutting chat's sockets down gracefully.

use std::time::Duration;

use axum::serve::ListenerExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (app, chat) = example_embed::app("sqlite://embed.db?mode=rwc").await?;
    // TCP_NODELAY: chat frames are small and must not wait for delayed ACKs.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000")
        .await?
        .tap_io(|stream| drop(stream.set_nodelay(true)));
    println!("host app on http://127.0.0.1:3000 (chat under /chat)");
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let shutdown = chat_axum::graceful_shutdown(chat, stop, Duration::from_secs(10)); // chat
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown) // chat
        .await?;
    Ok(())
}
