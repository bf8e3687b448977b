//! The REST calls the tool makes: opening conversations, and sending on the
//! POST path. Demo auth: the bearer token is the user id.

use futures::{StreamExt, TryStreamExt};
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

/// A conversation of the run.
#[derive(Debug)]
pub(crate) struct Conversation {
    pub(crate) id: String,
    /// Indexes into the user list.
    pub(crate) members: Vec<usize>,
    /// The node URL its REST sends go to.
    pub(crate) url: String,
}

/// Opens one conversation per `group_size` users, in user order, spread
/// over `urls`.
pub(crate) async fn open_conversations(
    http: &reqwest::Client,
    urls: &[String],
    users: &[String],
    group_size: usize,
) -> Result<Vec<Conversation>, RestError> {
    let groups: Vec<Vec<usize>> = (0..users.len() / group_size)
        .map(|group| (group * group_size..(group + 1) * group_size).collect())
        .collect();
    futures::stream::iter(groups.into_iter().enumerate())
        .map(|(index, members)| {
            let url = urls[index % urls.len()].clone();
            let names: Vec<String> = members.iter().map(|&i| users[i].clone()).collect();
            async move {
                let id = open_conversation(http, &url, &names).await?;
                Ok(Conversation { id, members, url })
            }
        })
        .buffered(32)
        .try_collect()
        .await
}

/// Signs every user in (demo mode: any request does), so that others can
/// open conversations with them.
pub(crate) async fn sign_in_all(
    http: &reqwest::Client,
    base: &str,
    users: &[String],
) -> Result<(), RestError> {
    futures::stream::iter(users)
        .map(|user| async move {
            let response = http
                .get(format!("{base}/conversations"))
                .bearer_auth(user)
                .send()
                .await?;
            checked(response).await.map(drop)
        })
        .buffer_unordered(32)
        .try_collect()
        .await
}
