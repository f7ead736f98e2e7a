//! Pacing sends the way Meta counts them, so that a burst never earns a 130429 or a 131056.
//!
//! - **Throughput, per number** (130429): Meta counts the messages a number sent in any
//!   one-second window (80 by default). A plain token bucket of capacity B refilled at r/s lets
//!   B + r messages through in one second — exactly what that count refuses — so this is a
//!   sliding-window log instead: a send may start only when fewer than `limit` sends are
//!   *in flight or finished* in the last second (plus a small margin). That holds at Meta's
//!   side too, with any number of sends in flight: take the last send to start among those
//!   Meta accepted within one second; every other one had started before it and was then
//!   either still in flight or had finished after the window opened, less than a second
//!   earlier — so all of them were counted when it started.
//! - **Pair rate, per (number, customer)** (131056): Meta describes about one message every
//!   6 seconds, tolerating bursts. A token bucket of `burst` tokens, one back per `interval`.
//!   An item whose bucket is empty is not waited for: it is deferred (its `due_ms` moves) and
//!   the worker goes on with other customers.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Slack on top of the one-second window. Timers fire late, never early, and a send's end is
/// after Meta received it, so the window itself already holds at Meta's side; the slack covers
/// clocks that count whole milliseconds. Every millisecond of it costs 0.1% of the rate.
const MARGIN: Duration = Duration::from_millis(2);
const WINDOW: Duration = Duration::from_secs(1);

/// How often a send blocked only by sends still in flight looks again: they finish within one
/// HTTP round trip, and no finished send tells when the next slot opens.
const IN_FLIGHT_POLL: Duration = Duration::from_millis(2);

/// Sends of one number in flight and finished in the last second.
#[derive(Debug, Default)]
pub(crate) struct Throughput {
    finished: VecDeque<Instant>,
    in_flight: usize,
}

impl Throughput {
    /// How long to wait before the next send may start under `limit` per second; zero when it
    /// may start now (then call [`Self::start`] before anything else can take the slot).
    pub(crate) fn wait(&mut self, limit: u32, now: Instant) -> Duration {
        while self
            .finished
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW + MARGIN)
        {
            self.finished.pop_front();
        }
        let limit = limit.max(1) as usize;
        if self.finished.len() + self.in_flight < limit {
            return Duration::ZERO;
        }
        // The oldest finished sends that still count must leave the window first; when the
        // sends in flight alone fill the limit, one of them must finish.
        let excess = self.finished.len() + self.in_flight + 1 - limit;
        self.finished.get(excess - 1).map_or(IN_FLIGHT_POLL, |t| {
            (*t + WINDOW + MARGIN).saturating_duration_since(now)
        })
    }

    /// A send takes its slot and is in flight.
    pub(crate) fn start(&mut self) {
        self.in_flight += 1;
    }

    /// A send in flight finished (successfully or not: Meta counted it either way).
    pub(crate) fn finish(&mut self, at: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.finished.push_back(at);
    }

    /// A send that took its slot never left (put back before the request).
    pub(crate) fn abandon(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }
}

/// The pair-rate bucket of one (number, customer).
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Pair-rate buckets of every (number, customer) seen.
#[derive(Debug, Default)]
pub(crate) struct PairPacer {
    buckets: HashMap<(String, String), Bucket>,
}

impl PairPacer {
    /// Takes a token for a message to `recipient`, or says how long until one is back.
    pub(crate) fn take(
        &mut self,
        number: &str,
        recipient: &str,
        burst: u32,
        interval: Duration,
        now: Instant,
    ) -> Result<(), Duration> {
        let burst = f64::from(burst.max(1));
        let bucket = self
            .buckets
            .entry((number.to_string(), recipient.to_string()))
            .or_insert(Bucket {
                tokens: burst,
                at: now,
            });
        let refill = if interval.is_zero() {
            burst
        } else {
            now.duration_since(bucket.at).as_secs_f64() / interval.as_secs_f64()
        };
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(interval.mul_f64(1.0 - bucket.tokens))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_allows_limit_per_window_then_waits_for_the_oldest() {
        let mut t = Throughput::default();
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(t.wait(3, start), Duration::ZERO);
            t.start();
            t.finish(start);
        }
        let wait = t.wait(3, start);
        assert_eq!(wait, WINDOW + MARGIN);
        let later = start + WINDOW + MARGIN;
        assert_eq!(t.wait(3, later), Duration::ZERO);
    }

    #[test]
    fn sends_in_flight_count_until_they_finish() {
        let mut t = Throughput::default();
        let start = Instant::now();
        t.start();
        t.start();
        // Two in flight fill a limit of 2; neither has finished, so look again soon.
        assert_eq!(t.wait(2, start), IN_FLIGHT_POLL);
        t.finish(start);
        // One in flight + one finished: the finished one must leave the window.
        assert_eq!(t.wait(2, start), WINDOW + MARGIN);
        t.abandon();
        // The abandoned send never reached Meta: its slot is free again.
        assert_eq!(t.wait(2, start), Duration::ZERO);
        // Finished sends leave the window after a second.
        t.start();
        t.finish(start);
        assert_eq!(t.wait(2, start + WINDOW + MARGIN), Duration::ZERO);
    }

    #[test]
    fn pair_pacer_tolerates_a_burst_then_spaces_messages() {
        let mut p = PairPacer::default();
        let now = Instant::now();
        let interval = Duration::from_secs(6);
        for _ in 0..3 {
            assert!(p.take("n", "c", 3, interval, now).is_ok());
        }
        let wait = p.take("n", "c", 3, interval, now).unwrap_err();
        assert_eq!(wait, interval);
        // Another customer is not held back.
        assert!(p.take("n", "other", 3, interval, now).is_ok());
        assert!(p.take("n", "c", 3, interval, now + interval).is_ok());
    }
}
