//! Fault injection at the seam between save and notify.
//!
//! [`FaultyBus`] wraps any [`Bus`] and, from a seed, drops, delays,
//! duplicates or reorders published events. [`FaultyStore`] wraps any
//! [`Store`] and, from a seed, "crashes between commit and publish": the
//! append commits, then the caller gets an error, so the sender sees no ack
//! and nothing is published. The protocol must recover from all of it: a
//! client that dedupes by seq and resumes on `gap` ends with every message
//! once, in order. Host apps can wrap their own adapters to test their
//! clients the same way.
//!
//! ```
//! use std::sync::Arc;
//! use chat_engine::testkit::faults::{BusFaults, FaultyBus};
//!
//! /// Wraps the bus a test server will use (any adapter).
//! fn lossy(bus: Arc<dyn chat_engine::Bus>) -> Arc<FaultyBus> {
//!     let faults = BusFaults { drop: 0.05, duplicate: 0.05, reorder: 0.05, ..BusFaults::default() };
//!     Arc::new(FaultyBus::new(bus, 7, faults))
//! }
//! // Run the scenario on `lossy(bus)`, then call `heal()` on it to stop
//! // injecting and let the clients recover.
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::layer::StoreLayer;
use crate::bus::{Bus, Envelope, Subscription};
use crate::error::{BusError, StoreError};
use crate::ids::UserId;
use crate::message::{Appended, NewMessageRecord};
use crate::store::{Store, StoreResult};

/// A small seeded generator (SplitMix64): the same seed gives the same
/// faults, so a failing scenario can be replayed.
#[derive(Debug)]
struct Dice(Mutex<u64>);

impl Dice {
    fn new(seed: u64) -> Self {
        Self(Mutex::new(seed))
    }

    fn next(&self) -> u64 {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `p` (0.0..=1.0).
    fn roll(&self, p: f64) -> bool {
        // 53 random bits as a fraction in [0, 1).
        #[allow(clippy::cast_precision_loss)]
        let fraction = (self.next() >> 11) as f64 / (1_u64 << 53) as f64;
        fraction < p
    }
}

/// How often [`FaultyBus`] misbehaves, per published event (probabilities).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BusFaults {
    /// The event is silently lost.
    pub drop: f64,
    /// The event is delivered twice.
    pub duplicate: f64,
    /// The event is held back and delivered after the next one.
    pub reorder: f64,
    /// The event is delivered later, after up to `max_delay`.
    pub delay: f64,
    /// The longest delay.
    pub max_delay: Duration,
}

/// What [`FaultyBus`] did, for the scenario's report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BusFaultCounts {
    /// Events lost.
    pub dropped: u64,
    /// Events delivered twice.
    pub duplicated: u64,
    /// Events swapped with the next one.
    pub reordered: u64,
    /// Events delivered late.
    pub delayed: u64,
}

/// A [`Bus`] that loses, repeats, swaps and delays events (see the module).
#[derive(Debug)]
pub struct FaultyBus {
    inner: Arc<dyn Bus>,
    dice: Dice,
    faults: BusFaults,
    healed: AtomicBool,
    /// An event held back to be published after the next one.
    held: Mutex<Option<Envelope>>,
    dropped: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    delayed: AtomicU64,
}

impl FaultyBus {
    /// Wraps `inner`; `seed` fixes the sequence of faults (which event gets
    /// which also depends on the order concurrent publishes take them).
    #[must_use]
    pub fn new(inner: Arc<dyn Bus>, seed: u64, faults: BusFaults) -> Self {
        Self {
            inner,
            dice: Dice::new(seed),
            faults,
            healed: AtomicBool::new(false),
            held: Mutex::new(None),
            dropped: AtomicU64::new(0),
            duplicated: AtomicU64::new(0),
            reordered: AtomicU64::new(0),
            delayed: AtomicU64::new(0),
        }
    }

    /// Stops injecting faults. An event still held back goes out with the
    /// next publish; if none comes, it is lost like a dropped one.
    pub fn heal(&self) {
        self.healed.store(true, Ordering::SeqCst);
    }

    /// What was injected so far.
    #[must_use]
    pub fn counts(&self) -> BusFaultCounts {
        BusFaultCounts {
            dropped: self.dropped.load(Ordering::Relaxed),
            duplicated: self.duplicated.load(Ordering::Relaxed),
            reordered: self.reordered.load(Ordering::Relaxed),
            delayed: self.delayed.load(Ordering::Relaxed),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<Envelope>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds `envelope` back unless a concurrent publish already holds one.
    fn hold(&self, envelope: &Envelope) -> bool {
        let mut held = self.held();
        if held.is_some() {
            return false;
        }
        *held = Some(envelope.clone());
        true
    }
}

#[async_trait::async_trait]
impl Bus for FaultyBus {
    async fn publish(&self, envelope: Envelope) -> Result<(), BusError> {
        let earlier = self.held().take();
        if self.healed.load(Ordering::SeqCst) {
            self.inner.publish(envelope).await?;
        } else if self.dice.roll(self.faults.drop) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        } else if self.dice.roll(self.faults.reorder) && earlier.is_none() && self.hold(&envelope) {
            self.reordered.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        } else if self.dice.roll(self.faults.delay) {
            self.delayed.fetch_add(1, Ordering::Relaxed);
            let millis = u64::try_from(self.faults.max_delay.as_millis()).unwrap_or(u64::MAX);
            let wait = Duration::from_millis(self.dice.next() % millis.max(1));
            let inner = Arc::clone(&self.inner);
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                let _ = inner.publish(envelope).await;
            });
        } else {
            let twice = self.dice.roll(self.faults.duplicate);
            self.inner.publish(envelope.clone()).await?;
            if twice {
                self.duplicated.fetch_add(1, Ordering::Relaxed);
                self.inner.publish(envelope).await?;
            }
        }
        if let Some(earlier) = earlier {
            self.inner.publish(earlier).await?;
        }
        Ok(())
    }

    async fn watch(&self, user: &UserId) -> Result<(), BusError> {
        self.inner.watch(user).await
    }

    async fn unwatch(&self, user: &UserId) -> Result<(), BusError> {
        self.inner.unwatch(user).await
    }

    async fn subscribe(&self) -> Result<Subscription, BusError> {
        self.inner.subscribe().await
    }

    async fn health(&self) -> Result<(), BusError> {
        self.inner.health().await
    }
}

/// A [`Store`] whose appends sometimes commit and then fail, as if the
/// process died between commit and publish (see the module).
#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    dice: Dice,
    crash_after_commit: f64,
    healed: AtomicBool,
    crashes: AtomicU64,
}

impl FaultyStore {
    /// Wraps `inner`: each append, with probability `crash_after_commit`,
    /// commits and then answers [`StoreError::Unavailable`].
    #[must_use]
    pub fn new(inner: Arc<dyn Store>, seed: u64, crash_after_commit: f64) -> Self {
        Self {
            inner,
            dice: Dice::new(seed),
            crash_after_commit,
            healed: AtomicBool::new(false),
            crashes: AtomicU64::new(0),
        }
    }

    /// Stops injecting faults.
    pub fn heal(&self) {
        self.healed.store(true, Ordering::SeqCst);
    }

    /// Appends that committed and then failed.
    #[must_use]
    pub fn crashes(&self) -> u64 {
        self.crashes.load(Ordering::Relaxed)
    }
}

#[async_trait::async_trait]
impl StoreLayer for FaultyStore {
    fn inner(&self) -> &dyn Store {
        &*self.inner
    }

    async fn append(&self, message: NewMessageRecord) -> StoreResult<Appended> {
        let appended = self.inner.append(message).await?;
        if !self.healed.load(Ordering::SeqCst) && self.dice.roll(self.crash_after_commit) {
            self.crashes.fetch_add(1, Ordering::Relaxed);
            return Err(StoreError::Unavailable(
                "injected: crashed after commit, before publish".into(),
            ));
        }
        Ok(appended)
    }
}

#[cfg(test)]
mod tests {
    use super::Dice;

    #[test]
    fn the_same_seed_rolls_the_same_and_rates_are_roughly_kept() {
        let (a, b) = (Dice::new(42), Dice::new(42));
        let rolls_a: Vec<bool> = (0..1_000).map(|_| a.roll(0.1)).collect();
        let rolls_b: Vec<bool> = (0..1_000).map(|_| b.roll(0.1)).collect();
        assert_eq!(rolls_a, rolls_b);
        let hits = rolls_a.iter().filter(|hit| **hit).count();
        assert!((50..150).contains(&hits), "{hits} of 1000 at p = 0.1");
        assert!(!Dice::new(1).roll(0.0));
        assert!(Dice::new(1).roll(1.0));
    }
}
