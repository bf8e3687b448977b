//! `loadgen failover`: traffic like `run`, but each user is a client of the
//! `chat-client` crate, which reconnects, resumes from its contiguous
//! positions and sends again what was not acknowledged (with its
//! `client_id`, so it is stored once): the run survives a node killed
//! behind a load balancer. It prints a progress line every tenth of the
//! sends (a script waits for them to kill and restart a node), and at the
//! end whether every member saw every message exactly once and in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use chat_client::{Client, ClientConfig, Event, SendState, StaticToken};
use chat_engine::protocol::ServerEvent;
use chat_engine::{ConversationId, NewMessage};
use futures::StreamExt;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::args::FailoverArgs;
use crate::rest;
use crate::run::{self, RunError};

/// What every user's task and the senders share.
#[derive(Debug, Default)]
struct Counts {
    /// Message events handed on, over all users.
    received: AtomicU64,
    /// Message events at or below a seq already handed on to that user.
    duplicated: AtomicU64,
    /// Message events past a seq not yet handed on to that user.
    skipped: AtomicU64,
    /// Connections made after each user's first.
    reconnects: AtomicU64,
    /// Woken on every message event.
    progress: Notify,
}

/// A send, from a sender task to the user's task, answered once settled.
type SendRequest = (ConversationId, String, oneshot::Sender<SendState>);

/// Runs the scenario and prints its report.
pub(crate) async fn failover(args: FailoverArgs) -> Result<(), RunError> {
    let urls = args.common.loopback_urls()?;
    let url = urls[0].clone();
    let users = run::users_in_groups(&args.common, args.users, args.group_size)?;
    let deadline = tokio::time::Instant::now() + args.common.deadline();
    let http = reqwest::Client::new();
    run::by(deadline, rest::sign_in_all(&http, &url, &users)).await?;
    let conversations = run::by(
        deadline,
        rest::open_conversations(&http, &urls, &users, args.group_size),
    )
    .await?;
    let ids: Vec<ConversationId> = conversations
        .iter()
        .map(|conversation| ConversationId::new(conversation.id.as_str()))
        .collect::<Result<_, _>>()
        .expect("the server's conversation ids are valid");
    let counts = Arc::new(Counts::default());
    let senders: Vec<mpsc::UnboundedSender<SendRequest>> = users
        .iter()
        .enumerate()
        .map(|(index, user)| {
            let followed = conversations
                .iter()
                .zip(&ids)
                .filter(|(conversation, _)| conversation.members.contains(&index))
                .map(|(_, id)| id.clone())
                .collect();
            user_task(&url, user, followed, Arc::clone(&counts))
        })
        .collect();
    println!(
        "{} users through {url}; {} conversations of {}",
        users.len(),
        conversations.len(),
        args.group_size
    );

    let next = AtomicUsize::new(0);
    let (sent, failed) = (AtomicU64::new(0), AtomicU64::new(0));
    let step = (args.messages / 10).max(1);
    let send_one = |index: usize| {
        let which = index % conversations.len();
        let conversation = &conversations[which];
        let turn = index / conversations.len() % conversation.members.len();
        let sender = &senders[conversation.members[turn]];
        let (reply, settled) = oneshot::channel();
        let _ = sender.send((ids[which].clone(), format!("failover {index}"), reply));
        settled
    };
    let sending = futures::stream::iter(0..args.messages)
        .map(|index| {
            let settled = send_one(index);
            async move { settled.await.unwrap_or(SendState::Pending) }
        })
        .buffer_unordered(args.in_flight.max(1))
        .for_each(|state| {
            if matches!(state, SendState::Sent(_)) {
                sent.fetch_add(1, Ordering::Relaxed);
            } else {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            let done = next.fetch_add(1, Ordering::Relaxed) + 1;
            if done.is_multiple_of(step) {
                println!("progress: {done} of {} sends settled", args.messages);
            }
            async {}
        });
    let sends_done = tokio::time::timeout_at(deadline, sending).await.is_ok();
    let (sent, failed) = (sent.into_inner(), failed.into_inner());
    let expected = sent * args.group_size as u64;
    let all_arrived = tokio::time::timeout_at(deadline, async {
        loop {
            let notified = counts.progress.notified();
            if counts.received.load(Ordering::SeqCst) >= expected {
                return;
            }
            notified.await;
        }
    })
    .await
    .is_ok();
    let received = counts.received.load(Ordering::SeqCst);
    let duplicated = counts.duplicated.load(Ordering::SeqCst);
    let skipped = counts.skipped.load(Ordering::SeqCst);
    println!("sent {sent} messages ({failed} refused or unsettled)");
    println!(
        "deliveries: expected {expected}, received {received}, lost {}, duplicated {duplicated}, out of order {skipped}; {} reconnects",
        expected.saturating_sub(received),
        counts.reconnects.load(Ordering::SeqCst)
    );
    if !sends_done || !all_arrived {
        return Err(RunError::TimedOut);
    }
    if failed > 0 || duplicated > 0 || skipped > 0 || received != expected {
        return Err(RunError::Broken(
            "a message was lost, refused, duplicated or out of order".to_owned(),
        ));
    }
    Ok(())
}

/// Starts `user`'s client, following `followed` from their start, and a
/// task that owns it: it counts the message events handed on (checking
/// each conversation's seqs come one after another) and makes the sends
/// asked of it, answering each once it settles.
fn user_task(
    url: &str,
    user: &str,
    followed: Vec<ConversationId>,
    counts: Arc<Counts>,
) -> mpsc::UnboundedSender<SendRequest> {
    let config =
        ClientConfig::new(url).with_backoff(Duration::from_millis(50), Duration::from_secs(1));
    let mut client = Client::start(config, StaticToken(user.to_owned()));
    for conversation in followed {
        client.follow(conversation, 0);
    }
    let (requests, mut incoming) = mpsc::unbounded_channel::<SendRequest>();
    tokio::spawn(async move {
        let mut last: HashMap<ConversationId, u64> = HashMap::new();
        let mut connections = 0u64;
        let mut open = true;
        loop {
            tokio::select! {
                event = client.next_event() => match event {
                    None => return,
                    Some(Event::Timeline(ServerEvent::Message { message })) => {
                        let seen = last.entry(message.conversation_id.clone()).or_insert(0);
                        if message.seq <= *seen {
                            counts.duplicated.fetch_add(1, Ordering::SeqCst);
                        } else {
                            if message.seq != *seen + 1 {
                                counts.skipped.fetch_add(1, Ordering::SeqCst);
                            }
                            *seen = message.seq;
                            counts.received.fetch_add(1, Ordering::SeqCst);
                        }
                        counts.progress.notify_waiters();
                    }
                    Some(Event::Connected) => {
                        connections += 1;
                        if connections > 1 {
                            counts.reconnects.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Some(_) => {}
                },
                request = incoming.recv(), if open => {
                    let Some((conversation, body, reply)) = request else {
                        open = false; // the run sends nothing more; events still count
                        continue;
                    };
                    let mut outgoing = client.send(&conversation, NewMessage::text(body)).await;
                    tokio::spawn(async move {
                        let _ = reply.send(outgoing.settled().await);
                    });
                }
            }
        }
    });
    requests
}
