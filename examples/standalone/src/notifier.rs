//! The server's notifier for offline members: a log line per message and
//! member, so notifications can be seen working with nothing installed, and
//! optionally a signed webhook POST, so a host's push or email service can
//! take them from there.
//!
//! The webhook speaks plain http (the build has no TLS client): point it at
//! a service on the same host or network. Its signature follows the common
//! webhook scheme: `Chat-Signature: t=UNIX_SECONDS,v1=HEX` where HEX is the
//! HMAC-SHA256, keyed by the shared secret, of `t`, a dot, and the body; the
//! receiver recomputes it and refuses an old `t` to stop replays.

use std::time::Duration;

use chat_engine::{Notification, Notifier};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

/// The header that carries the webhook's signature.
pub const SIGNATURE_HEADER: &str = "Chat-Signature";

/// Logs each notification, and POSTs it to the webhook when one is set.
#[derive(Debug)]
pub struct ServerNotifier {
    webhook: Option<Webhook>,
}

#[derive(Debug)]
struct Webhook {
    url: String,
    secret: Vec<u8>,
    client: reqwest::Client,
}

impl ServerNotifier {
    /// A notifier that logs, and posts to `webhook` (URL and secret) when given.
    ///
    /// # Panics
    /// When the HTTP client cannot be built (no TLS or system resources are
    /// needed for plain http, so only on a broken system).
    #[must_use]
    pub fn new(webhook: Option<(String, String)>) -> Self {
        let webhook = webhook.map(|(url, secret)| Webhook {
            url,
            secret: secret.into_bytes(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("an http client"),
        });
        Self { webhook }
    }
}

#[async_trait::async_trait]
impl Notifier for ServerNotifier {
    async fn notify(&self, notification: &Notification) -> Result<(), String> {
        let message = &notification.message;
        for recipient in &notification.recipients {
            tracing::info!(
                target: "chat::notify",
                user = %recipient.user_id,
                message_id = %message.id,
                conversation = %message.conversation_id,
                seq = message.seq,
                mentioned = recipient.mentioned,
                "notify"
            );
        }
        let Some(webhook) = &self.webhook else {
            return Ok(());
        };
        let recipients: Vec<_> = notification
            .recipients
            .iter()
            .map(
                |recipient| json!({"user_id": recipient.user_id, "mentioned": recipient.mentioned}),
            )
            .collect();
        let body = json!({"message": message, "recipients": recipients}).to_string();
        let timestamp = chat_engine::time::now().timestamp();
        let response = webhook
            .client
            .post(&webhook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                SIGNATURE_HEADER,
                format!(
                    "t={timestamp},v1={}",
                    sign(&webhook.secret, timestamp, &body)
                ),
            )
            .body(body)
            .send()
            .await
            .map_err(|error| format!("webhook: {error}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("webhook answered {}", response.status()))
        }
    }
}

/// The hex HMAC-SHA256 under `secret` of `timestamp`, a dot and `body`.
#[must_use]
pub fn sign(secret: &[u8], timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::sign;

    #[test]
    fn the_signature_is_the_hmac_of_time_dot_body() {
        // What `printf '1700000000.{}' | openssl dgst -sha256 -hmac key`
        // prints: an implementation other than ours agrees.
        assert_eq!(
            sign(b"key", 1_700_000_000, "{}"),
            "9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }
}
