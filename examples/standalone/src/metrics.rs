//! `GET /metrics`: every counter, gauge and histogram the library records
//! through the `metrics` facade (`chat_engine::metrics`, `chat_axum::metrics`,
//! `chat_bus_redis::metrics`), in Prometheus text format, rendered by
//! `metrics-exporter-prometheus`. Histograms are real Prometheus histograms
//! (buckets), so they add up across nodes.

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// Tasks alive in the server's async runtime (gauge, set when scraped).
pub const RUNTIME_ALIVE_TASKS: &str = "chat_runtime_alive_tasks";

/// Bucket bounds of the `_seconds` histograms: 50 µs to 5 s.
const SECONDS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
    5.0,
];

/// Bucket bounds of the counting histograms (batch sizes, queue depths).
const COUNTS: [f64; 11] = [
    0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0,
];

/// What `/metrics` renders.
#[derive(Clone, Debug)]
pub struct MetricsSource {
    handle: PrometheusHandle,
}

impl MetricsSource {
    /// Installs the Prometheus recorder as the process's `metrics` recorder
    /// (once: a second call returns the same one) and describes every
    /// metric, Redis's when `redis` is set. Call before the chat service
    /// starts, so nothing it records is missed.
    ///
    /// # Errors
    /// When the recorder cannot be built or another recorder is installed.
    pub fn install(redis: bool) -> Result<Self, BuildError> {
        static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
        let handle = match HANDLE.get() {
            Some(handle) => handle.clone(),
            None => {
                let handle = PrometheusBuilder::new()
                    .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &SECONDS)?
                    .set_buckets_for_metric(
                        Matcher::Full(chat_engine::metrics::COMMIT_BATCH_SIZE.to_owned()),
                        &COUNTS,
                    )?
                    .set_buckets_for_metric(
                        Matcher::Full(chat_engine::metrics::COMMIT_QUEUE_DEPTH.to_owned()),
                        &COUNTS,
                    )?
                    .install_recorder()?;
                // Histograms keep samples until upkeep folds them in.
                let upkeep = handle.clone();
                tokio::spawn(async move {
                    let mut every = tokio::time::interval(Duration::from_secs(5));
                    loop {
                        every.tick().await;
                        upkeep.run_upkeep();
                    }
                });
                HANDLE.get_or_init(|| handle).clone()
            }
        };
        chat_engine::metrics::describe();
        chat_axum::metrics::describe();
        if redis {
            chat_bus_redis::metrics::describe();
        }
        metrics::describe_gauge!(
            RUNTIME_ALIVE_TASKS,
            "Tasks alive in the server's async runtime."
        );
        Ok(Self { handle })
    }

    /// The exposition text now.
    #[must_use]
    pub fn render(&self) -> String {
        let tasks = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        #[allow(clippy::cast_precision_loss)] // a task count, far below 2^53
        metrics::gauge!(RUNTIME_ALIVE_TASKS).set(tasks as f64);
        self.handle.render()
    }
}

/// The handler.
pub(crate) async fn metrics(State(source): State<MetricsSource>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        source.render(),
    )
}
