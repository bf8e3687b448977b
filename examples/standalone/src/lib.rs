//! The standalone chat server: the library's crates on the embedded default
//! (a SQLite file and the in-process bus), the chat API mounted at `/`, and a
//! web page to chat in. `cargo run --release -p standalone`.
//!
//! `main` stays thin: settings ([`config`]) → [`app::build`] → [`app::serve`]
//! with a shutdown signal, so tests run the same server on port 0.

pub mod app;
pub mod auth;
pub mod config;
mod hardening;
pub mod metrics;
pub mod notifier;
mod page;
