//! Latency samples and their percentiles.

use std::fmt;
use std::time::Duration;

/// Latencies in microseconds, summarized once the run is over.
#[derive(Debug, Default)]
pub(crate) struct Samples(Vec<u64>);

impl Samples {
    /// Records one latency.
    pub(crate) fn push(&mut self, latency: Duration) {
        self.0
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// Takes in another set.
    pub(crate) fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    /// How many were recorded.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// p50, p90, p99 and max (nearest rank), or `None` without samples.
    pub(crate) fn summary(mut self) -> Option<Summary> {
        if self.0.is_empty() {
            return None;
        }
        self.0.sort_unstable();
        let at = |per_mille: usize| {
            let rank = (self.0.len() * per_mille).div_ceil(1_000).max(1);
            self.0[rank - 1]
        };
        Some(Summary {
            p50: at(500),
            p90: at(900),
            p99: at(990),
            max: self.0[self.0.len() - 1],
        })
    }
}

/// Percentiles, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) p50: u64,
    pub(crate) p90: u64,
    pub(crate) p99: u64,
    pub(crate) max: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |micros: u64| Duration::from_micros(micros).as_secs_f64() * 1_000.0;
        write!(
            f,
            "p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.max)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut samples = Samples::default();
        for micros in (1..=100).rev() {
            samples.push(Duration::from_micros(micros));
        }
        let summary = samples.summary().unwrap();
        assert_eq!(
            summary,
            Summary {
                p50: 50,
                p90: 90,
                p99: 99,
                max: 100
            }
        );
    }

    #[test]
    fn no_samples_no_summary() {
        assert!(Samples::default().summary().is_none());
    }
}
