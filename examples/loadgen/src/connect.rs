//! Opening many clients at once, spread over the server URLs.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use tokio::sync::watch;

use crate::client::{Client, ClientError, Tally};

/// Connects one client per user, `in_flight` handshakes at a time; user `i`
/// goes to `urls[i % urls.len()]`. Clients come back in user order.
pub(crate) async fn connect_all(
    urls: &[String],
    users: &[String],
    in_flight: usize,
    tally: &Arc<Tally>,
    stop: &watch::Receiver<bool>,
) -> Result<Vec<Client>, ClientError> {
    futures::stream::iter(users.iter().enumerate())
        .map(|(index, user)| {
            let url = &urls[index % urls.len()];
            Client::connect(url, user, Arc::clone(tally), stop.clone())
        })
        .buffered(in_flight.max(1))
        .try_collect()
        .await
}
