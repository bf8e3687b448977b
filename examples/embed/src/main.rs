//! Runs the example host app on 127.0.0.1:3000 with chat under `/chat`.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = example_embed::app("sqlite://embed.db").await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("host app on http://127.0.0.1:3000 (chat under /chat)");
    axum::serve(listener, app).await?;
    Ok(())
}
