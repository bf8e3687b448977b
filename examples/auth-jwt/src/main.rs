//! Serves the app on 127.0.0.1:3000 until Ctrl-C, with the identity
//! provider's public key read from the file `ISSUER_PUBLIC_KEY` names.

use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::var("ISSUER_PUBLIC_KEY")
        .map_err(|_| "set ISSUER_PUBLIC_KEY to the identity provider's public key (PEM)")?;
    let pem = tokio::fs::read(&path).await?;
    let (app, chat) = example_auth_jwt::app("sqlite://auth-jwt.db?mode=rwc", &pem).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!(
        "chat on http://127.0.0.1:3000/chat, accepting tokens of {}",
        example_auth_jwt::ISSUER
    );
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(chat_axum::graceful_shutdown(
            chat,
            stop,
            Duration::from_secs(10),
        ))
        .await?;
    Ok(())
}
