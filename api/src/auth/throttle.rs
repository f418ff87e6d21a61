//! Failed sign-ins counted per account and per client address over a sliding minute;
//! past the limit, sign-in answers 429 with the seconds until the oldest failure ages out.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct LoginThrottle {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Bound on remembered keys, so a flood of distinct names cannot grow memory without end.
const MAX_KEYS: usize = 100_000;

impl LoginThrottle {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit.max(1) as usize,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` when any of `keys` already had `limit` failures within the window.
    pub fn check(&self, keys: &[String], now: Instant) -> Result<(), Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None;
        for key in keys {
            if let Some(times) = failures.get_mut(key) {
                prune(times, now, self.window);
                if times.len() >= self.limit
                    && let Some(oldest) = times.front()
                {
                    let until = self.window.saturating_sub(now.duration_since(*oldest));
                    wait = Some(wait.map_or(until, |w: Duration| w.max(until)));
                }
            }
        }
        wait.map_or(Ok(()), Err)
    }

    pub fn record_failure(&self, keys: &[String], now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() > MAX_KEYS {
            failures.retain(|_, times| {
                prune(times, now, self.window);
                !times.is_empty()
            });
        }
        for key in keys {
            let times = failures.entry(key.clone()).or_default();
            prune(times, now, self.window);
            times.push_back(now);
        }
    }

    /// A successful sign-in forgives the account's earlier failures.
    pub fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

fn prune(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_applies_per_key_and_slides() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(60));
        let start = Instant::now();
        let keys = ["account:ada".to_owned(), "ip:1.2.3.4".to_owned()];
        for i in 0..3 {
            assert!(
                throttle
                    .check(&keys, start + Duration::from_secs(i))
                    .is_ok()
            );
            throttle.record_failure(&keys, start + Duration::from_secs(i));
        }
        let wait = throttle
            .check(&keys, start + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(
            throttle.check(&["account:bob".to_owned()], start).is_ok(),
            "other accounts are not affected"
        );
        assert!(
            throttle
                .check(&keys, start + Duration::from_secs(61))
                .is_ok(),
            "the window slides"
        );
        throttle.clear("account:ada");
        assert!(
            throttle
                .check(&["account:ada".to_owned()], start + Duration::from_secs(10))
                .is_ok()
        );
    }
}
