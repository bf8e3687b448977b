//! Runs the example host app on 127.0.0.1:3000 with chat under `/chat`.

use axum::serve::ListenerExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = example_embed::app("sqlite://embed.db").await?;
    // TCP_NODELAY: chat frames are small and must not wait for delayed ACKs.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000")
        .await?
        .tap_io(|stream| drop(stream.set_nodelay(true)));
    println!("host app on http://127.0.0.1:3000 (chat under /chat)");
    axum::serve(listener, app).await?;
    Ok(())
}
