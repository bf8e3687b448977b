//! Per-user write rates: for each [`Action`] a token bucket per user, in
//! shards so writers do not serialize on one lock. A bucket that has
//! refilled to full is the same as no bucket, so full buckets are swept when
//! a shard grows, and memory tracks recently active users only.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hashbrown::DefaultHashBuilder;
use tokio::time::Instant;

use crate::config::{Action, Rate, RateLimits};
use crate::ids::UserId;

const SHARDS: usize = 16;
/// Entries a shard holds before it sweeps out full buckets.
const SWEEP_AT: usize = 1_024;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One bucket set per action that has a rate.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    buckets: [Option<Buckets>; Action::ALL.len()],
    /// Refusals the shared rates decided, by action.
    refused_elsewhere: [AtomicU64; Action::ALL.len()],
}

impl RateLimiter {
    pub(crate) fn new(rates: &RateLimits) -> Self {
        Self {
            buckets: Action::ALL.map(|action| rates.get(action).map(Buckets::new)),
            refused_elsewhere: Action::ALL.map(|_| AtomicU64::new(0)),
        }
    }

    /// Counts an `action` the shared rates refused.
    pub(crate) fn refused_elsewhere(&self, action: Action) {
        self.refused_elsewhere[action.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Takes one `action` from `user`'s bucket, or says how long until one
    /// is there.
    pub(crate) fn take(&self, action: Action, user: &UserId) -> Result<(), Duration> {
        match &self.buckets[action.index()] {
            Some(buckets) => buckets.take(user),
            None => Ok(()),
        }
    }

    /// `action`s refused since start, here or by the shared rates.
    pub(crate) fn refused(&self, action: Action) -> u64 {
        let here = self.buckets[action.index()]
            .as_ref()
            .map_or(0, Buckets::refused);
        here + self.refused_elsewhere[action.index()].load(Ordering::Relaxed)
    }
}

/// Token buckets for every recent key (a user, or a user in a
/// conversation) of one rate.
#[derive(Debug)]
pub(crate) struct Buckets<K = UserId> {
    per_second: f64,
    burst: f64,
    shards: Vec<Mutex<HashMap<K, Bucket>>>,
    /// Picks a user's shard: the hub's hasher (foldhash, seeded per limiter).
    hasher: DefaultHashBuilder,
    refused: AtomicU64,
}

impl Buckets {
    pub(crate) fn new(rate: Rate) -> Self {
        Self::with(
            f64::from(rate.per_minute.max(1)) / 60.0,
            f64::from(rate.burst.max(1)),
        )
    }
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    /// `per_second` tokens a second (any positive fraction), `burst` at once.
    pub(crate) fn with(per_second: f64, burst: f64) -> Self {
        Self {
            per_second,
            burst,
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: DefaultHashBuilder::default(),
            refused: AtomicU64::new(0),
        }
    }

    /// Takes one token from `key`'s bucket, or says how long until one is there.
    pub(crate) fn take(&self, key: &K) -> Result<(), Duration> {
        let now = Instant::now();
        let shard = &self.shards[self.shard_of(key)];
        let mut buckets = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, bucket| self.refilled(bucket, now) < self.burst);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        bucket.tokens = self.refilled(bucket, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            self.refused.fetch_add(1, Ordering::Relaxed);
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    /// Tokens refused since start.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn shard_of(&self, key: &K) -> usize {
        usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0)
    }

    fn refilled(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserId {
        UserId::new("alice").unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_then_the_rate_holds() {
        let limiter = Buckets::new(Rate::per_second(10, 3));
        for _ in 0..3 {
            assert!(limiter.take(&alice()).is_ok());
        }
        let wait = limiter.take(&alice()).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        assert!(
            limiter.take(&UserId::new("bob").unwrap()).is_ok(),
            "others are not slowed"
        );
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(limiter.take(&alice()).is_ok());
        assert!(limiter.take(&alice()).is_err());
        assert_eq!(limiter.refused(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn each_action_has_its_own_buckets() {
        let rates = RateLimits {
            create: Some(Rate::per_minute(1, 1)),
            typing: None,
            ..RateLimits::default()
        };
        let limiter = RateLimiter::new(&rates);
        assert!(limiter.take(Action::Create, &alice()).is_ok());
        let wait = limiter.take(Action::Create, &alice()).unwrap_err();
        assert_eq!(wait, Duration::from_secs(60), "one a minute");
        assert!(
            limiter.take(Action::Send, &alice()).is_ok(),
            "sending is not slowed by creating"
        );
        for _ in 0..1_000 {
            assert!(limiter.take(Action::Typing, &alice()).is_ok(), "no limit");
        }
        assert_eq!(limiter.refused(Action::Create), 1);
        assert_eq!(limiter.refused(Action::Send), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn full_buckets_are_swept() {
        let limiter = Buckets::new(Rate::per_second(1, 1));
        for i in 0..SWEEP_AT * SHARDS * 2 {
            let _ = limiter.take(&UserId::new(format!("user-{i}")).unwrap());
            if i % 1_000 == 0 {
                tokio::time::advance(Duration::from_secs(2)).await;
            }
        }
        let held: usize = limiter
            .shards
            .iter()
            .map(|shard| shard.lock().unwrap().len())
            .sum();
        assert!(held <= SWEEP_AT * SHARDS, "held {held} buckets");
    }
}
