//! `loadgen run`: U users in conversations of G members send M messages,
//! C at a time; every member's socket should receive every message once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::args::{Common, RunArgs, SendPath};
use crate::client::{Client, STAMP_DIGITS, Tally};
use crate::connect::connect_all;
use crate::latency::Samples;
use crate::process;
use crate::report::{Report, cpu_line, memory_line};
use crate::rest::{self, Conversation};

/// A failed run (before any numbers could be taken).
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    #[error(transparent)]
    Url(#[from] crate::args::NotLoopback),
    #[error("connecting: {0}")]
    Connect(#[from] crate::client::ClientError),
    #[error("opening conversations: {0}")]
    Setup(#[from] rest::RestError),
    #[error("{0}")]
    Shape(String),
    #[error("a promise was broken: {0}")]
    Broken(String),
    #[error("the run did not finish within --max-seconds")]
    TimedOut,
}

/// What the sender tasks share.
#[derive(Debug)]
struct Plan {
    clients: Vec<Client>,
    users: Vec<String>,
    conversations: Vec<Conversation>,
    /// The index of the next message to send.
    next: AtomicUsize,
    padding: String,
    tally: Arc<Tally>,
    http: reqwest::Client,
    messages: usize,
    path: SendPath,
}

/// One of the C sender tasks: takes the next message index until all are
/// sent. Message `i` goes to conversation `i mod n`, from its members in turn.
/// Returns the send → ack latencies and the count of failed sends.
async fn send_share(plan: Arc<Plan>) -> (Samples, usize) {
    let mut acks = Samples::default();
    let mut failed = 0;
    loop {
        let index = plan.next.fetch_add(1, Ordering::Relaxed);
        if index >= plan.messages {
            return (acks, failed);
        }
        let conversation = &plan.conversations[index % plan.conversations.len()];
        let turn = index / plan.conversations.len() % conversation.members.len();
        let sender = conversation.members[turn];
        let sent_at = Instant::now();
        let body = format!(
            "{:0width$}{}",
            plan.tally.now_micros(),
            plan.padding,
            width = STAMP_DIGITS
        );
        let outcome = match plan.path {
            SendPath::Ws => plan.clients[sender]
                .send(&conversation.id, &body)
                .await
                .map_err(|error| error.to_string()),
            SendPath::Post => rest::post_message(
                &plan.http,
                &conversation.url,
                &plan.users[sender],
                &conversation.id,
                &body,
            )
            .await
            .map_err(|error| error.to_string()),
        };
        match outcome {
            Ok(()) => acks.push(sent_at.elapsed()),
            Err(error) => {
                failed += 1;
                if failed <= 3 {
                    eprintln!("send failed: {error}");
                }
            }
        }
    }
}

/// The run's user ids, `users` of them to be put in conversations of
/// `group_size`; refused when no conversation of that size fits.
pub(crate) fn users_in_groups(
    common: &Common,
    users: usize,
    group_size: usize,
) -> Result<Vec<String>, RunError> {
    if group_size < 2 || users < group_size {
        return Err(RunError::Shape(format!(
            "--group-size must be at least 2 and at most --users ({users})"
        )));
    }
    let prefix = common.prefix();
    Ok((0..users).map(|i| format!("{prefix}-{i}")).collect())
}

/// Runs the scenario and prints its report.
pub(crate) async fn run(args: RunArgs) -> Result<(), RunError> {
    let urls = args.common.loopback_urls()?;
    let users = users_in_groups(&args.common, args.users, args.group_size)?;
    if args.body_bytes < STAMP_DIGITS + 4 {
        return Err(RunError::Shape(format!(
            "--body-bytes must be at least {}",
            STAMP_DIGITS + 4
        )));
    }
    let deadline = tokio::time::Instant::now() + args.common.deadline();
    let tally = Tally::new();
    let (stop, stopped) = watch::channel(false);
    let http = reqwest::Client::new();
    let server_before = args.common.pid.and_then(process::usage);

    let clients = by(deadline, connect_all(&urls, &users, 256, &tally, &stopped)).await?;
    let conversations = by(
        deadline,
        rest::open_conversations(&http, &urls, &users, args.group_size),
    )
    .await?;
    println!(
        "{} users connected over {} node(s); {} conversations of {}",
        clients.len(),
        urls.len(),
        conversations.len(),
        args.group_size
    );

    let plan = Arc::new(Plan {
        clients,
        users,
        conversations,
        next: AtomicUsize::new(0),
        padding: "x".repeat(args.body_bytes - STAMP_DIGITS),
        tally: Arc::clone(&tally),
        http,
        messages: args.messages,
        path: args.path,
    });
    let server_start = args.common.pid.and_then(process::usage);
    let own_start = process::own();
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..args.in_flight.max(1) {
        senders.spawn(send_share(Arc::clone(&plan)));
    }
    let mut acks = Samples::default();
    let mut failed = 0;
    let sends_done = tokio::time::timeout_at(deadline, async {
        while let Some(Ok((own_acks, own_failures))) = senders.join_next().await {
            acks.extend(own_acks);
            failed += own_failures;
        }
    })
    .await
    .is_ok();
    // Past the deadline the stragglers stop where they are.
    senders.shutdown().await;
    let send_time = started.elapsed();
    let sent = acks.len();
    let expected = (sent * args.group_size) as u64;
    let all_arrived = tally.wait_for(expected, deadline).await;
    let server_end = args.common.pid.and_then(process::usage);
    let own_end = process::own();

    let _ = stop.send(true);
    let plan = Arc::try_unwrap(plan).expect("every sender task has ended");
    let users = plan.users;
    let mut deliveries = Samples::default();
    for client in plan.clients {
        deliveries.extend(client.finish().await);
    }
    let received = tally.received.load(Ordering::SeqCst);
    let delivery_time = Duration::from_micros(tally.last_receipt.load(Ordering::SeqCst))
        .saturating_sub(started.duration_since(tally.origin));
    Report {
        path: args.path,
        sent,
        failed,
        send_time,
        expected,
        received,
        gaps: tally.gaps.load(Ordering::Relaxed),
        closed: tally.closed.load(Ordering::Relaxed),
        delivery_time,
        deliveries: deliveries.summary(),
        acks: acks.summary(),
    }
    .print();
    if let (Some(start), Some(end)) = (server_start, server_end) {
        println!("{}", cpu_line("server", start, end, received));
    }
    if let (Some(start), Some(end)) = (own_start, own_end) {
        println!("{}", cpu_line("loadgen", start, end, received));
    }
    if let (Some(before), Some(after)) = (server_before, server_end) {
        println!("{}", memory_line(before, after, users.len()));
    }
    if !sends_done || !all_arrived {
        return Err(RunError::TimedOut);
    }
    Ok(())
}

/// Runs a setup `step`, failing with [`RunError::TimedOut`] past `deadline`.
pub(crate) async fn by<T, E: Into<RunError>>(
    deadline: tokio::time::Instant,
    step: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, RunError> {
    match tokio::time::timeout_at(deadline, step).await {
        Ok(done) => done.map_err(Into::into),
        Err(_) => Err(RunError::TimedOut),
    }
}
