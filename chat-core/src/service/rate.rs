//! The per-user send rate: a token bucket per user, in shards so senders do
//! not serialize on one lock. A bucket that has refilled to full is the same
//! as no bucket, so full buckets are swept when a shard grows, and memory
//! tracks recently active senders only.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hashbrown::DefaultHashBuilder;
use tokio::time::Instant;

use crate::config::SendRate;
use crate::ids::UserId;

const SHARDS: usize = 16;
/// Entries a shard holds before it sweeps out full buckets.
const SWEEP_AT: usize = 1_024;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets for every recent sender.
#[derive(Debug)]
pub(crate) struct SendLimiter {
    per_second: f64,
    burst: f64,
    shards: Vec<Mutex<HashMap<UserId, Bucket>>>,
    /// Picks a user's shard: the hub's hasher (foldhash, seeded per limiter).
    hasher: DefaultHashBuilder,
    refused: AtomicU64,
}

impl SendLimiter {
    pub(crate) fn new(rate: SendRate) -> Self {
        Self {
            per_second: f64::from(rate.per_second.max(1)),
            burst: f64::from(rate.burst.max(1)),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: DefaultHashBuilder::default(),
            refused: AtomicU64::new(0),
        }
    }

    /// Takes one send from `user`'s bucket, or says how long until one is there.
    pub(crate) fn take(&self, user: &UserId) -> Result<(), Duration> {
        let now = Instant::now();
        let shard = &self.shards[self.shard_of(user)];
        let mut buckets = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, bucket| self.refilled(bucket, now) < self.burst);
        }
        let bucket = buckets.entry(user.clone()).or_insert(Bucket {
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

    /// Sends refused since start.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn shard_of(&self, user: &UserId) -> usize {
        usize::try_from(self.hasher.hash_one(user) % SHARDS as u64).unwrap_or(0)
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
        let limiter = SendLimiter::new(SendRate {
            per_second: 10,
            burst: 3,
        });
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
    async fn full_buckets_are_swept() {
        let limiter = SendLimiter::new(SendRate {
            per_second: 1,
            burst: 1,
        });
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
