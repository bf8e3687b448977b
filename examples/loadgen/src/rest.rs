//! The REST calls the tool makes: opening conversations, and sending on the
//! POST path. Demo auth: the bearer token is the user id.

use serde::Deserialize;

/// A REST call that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RestError {
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{status}: {body}")]
    Status {
        status: reqwest::StatusCode,
        body: String,
    },
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

/// Opens a conversation of `members[0]` with the others: a direct one for
/// two members, a group otherwise. Returns its id.
pub(crate) async fn open_conversation(
    http: &reqwest::Client,
    base: &str,
    members: &[String],
) -> Result<String, RestError> {
    let creator = &members[0];
    let request = if members.len() == 2 {
        http.put(format!("{base}/direct/{}", members[1]))
    } else {
        http.post(format!("{base}/conversations"))
            .json(&serde_json::json!({ "title": "load", "members": &members[1..] }))
    };
    let response = checked(request.bearer_auth(creator).send().await?).await?;
    Ok(response.json::<Created>().await?.id)
}

/// `POST /conversations/{cid}/messages` as `sender`.
pub(crate) async fn post_message(
    http: &reqwest::Client,
    base: &str,
    sender: &str,
    conversation: &str,
    body: &str,
) -> Result<(), RestError> {
    let response = http
        .post(format!("{base}/conversations/{conversation}/messages"))
        .bearer_auth(sender)
        .json(&serde_json::json!({ "body": body }))
        .send()
        .await?;
    checked(response).await.map(drop)
}

async fn checked(response: reqwest::Response) -> Result<reqwest::Response, RestError> {
    let status = response.status();
    if status.is_success() {
        Ok(response)
    } else {
        Err(RestError::Status {
            status,
            body: response.text().await.unwrap_or_default(),
        })
    }
}
