//! Failure throttling with exponential back-off, for sign-in: per account and
//! per client address, in memory (a restart forgets, which only helps the
//! legitimate user who was locked out).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures after which a key is held back.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub free_failures: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// A key with no failure for this long starts afresh.
    pub forget_after: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    blocked_until: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct Throttle {
    records: Mutex<HashMap<String, Record>>,
}

/// Most keys remembered; beyond this the oldest are dropped (bounds memory under a spray).
const MAX_KEYS: usize = 100_000;

impl Throttle {
    /// How long `key` must still wait, if it is held back now.
    pub fn wait(&self, key: &str, now: Instant) -> Option<Duration> {
        let records = self.records.lock().ok()?;
        let until = records.get(key)?.blocked_until?;
        (until > now).then(|| until - now)
    }

    /// Records a failure of `key`; returns the wait it now faces, if any.
    pub fn fail(&self, key: &str, policy: Policy, now: Instant) -> Option<Duration> {
        let mut records = self.records.lock().ok()?;
        if records.len() >= MAX_KEYS && !records.contains_key(key) {
            let cutoff = now.checked_sub(policy.forget_after).unwrap_or(now);
            records.retain(|_, r| r.last > cutoff);
            if records.len() >= MAX_KEYS {
                records.clear();
            }
        }
        let r = records.entry(key.to_string()).or_insert(Record { failures: 0, last: now, blocked_until: None });
        if now.duration_since(r.last) > policy.forget_after {
            *r = Record { failures: 0, last: now, blocked_until: None };
        }
        r.failures += 1;
        r.last = now;
        let over = r.failures.checked_sub(policy.free_failures).filter(|n| *n > 0)?;
        let delay = policy
            .first_delay
            .checked_mul(1u32 << (over - 1).min(16))
            .unwrap_or(policy.max_delay)
            .min(policy.max_delay);
        r.blocked_until = Some(now + delay);
        Some(delay)
    }

    /// Forgets `key` (after a success).
    pub fn clear(&self, key: &str) {
        if let Ok(mut records) = self.records.lock() {
            records.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Policy = Policy {
        free_failures: 3,
        first_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(8),
        forget_after: Duration::from_secs(600),
    };

    #[test]
    fn backs_off_exponentially_then_caps_and_forgets() {
        let t = Throttle::default();
        let now = Instant::now();
        let waits: Vec<Option<u64>> = (0..7).map(|_| t.fail("k", P, now).map(|d| d.as_secs())).collect();
        assert_eq!(waits, vec![None, None, None, Some(1), Some(2), Some(4), Some(8)]);
        assert_eq!(t.wait("k", now).map(|d| d.as_secs()), Some(8));
        assert_eq!(t.wait("k", now + Duration::from_secs(9)), None);
        assert_eq!(t.wait("other", now), None);
        // Long quiet: a fresh start.
        assert_eq!(t.fail("k", P, now + Duration::from_secs(700)), None);
        t.clear("k");
        assert_eq!(t.wait("k", now), None);
    }
}

/// A token bucket per key: `rate` requests a second on average, bursts of `burst`.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<i64, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(rate: f64, burst: f64) -> RateLimiter {
        RateLimiter { rate, burst: burst.max(1.0), buckets: Mutex::default() }
    }

    /// Takes one token for `key`; when none is left, how long until one is.
    pub fn take(&self, key: i64, now: Instant) -> Result<(), Duration> {
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        let (tokens, last) = buckets.entry(key).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod rate_tests {
    use super::*;

    #[test]
    fn bucket_allows_bursts_then_the_rate() {
        let limiter = RateLimiter::new(10.0, 3.0);
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.take(1, t0).is_ok()));
        let wait = limiter.take(1, t0).unwrap_err();
        assert!(wait <= Duration::from_millis(100) && wait > Duration::ZERO);
        assert!(limiter.take(2, t0).is_ok(), "keys are independent");
        assert!(limiter.take(1, t0 + Duration::from_millis(101)).is_ok());
    }
}
