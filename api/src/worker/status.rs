//! What the worker knows of itself: whether the broker is connected (and why not),
//! and its counters. Readiness and `/metrics` read it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Status {
    /// `None` while connected; else why not (connecting, refused, lost).
    broker_problem: Mutex<Option<String>>,
    draining: AtomicBool,
    /// Events the broker confirmed.
    pub published: AtomicU64,
    /// Deliveries turned into notifications and acknowledged.
    pub consumed: AtomicU64,
    /// Of those, deliveries whose notifications were there already (a redelivery).
    pub duplicates: AtomicU64,
    /// Deliveries that failed and went back to the queue for another attempt.
    pub retried: AtomicU64,
    /// Deliveries given up on, to the dead-letter queue.
    pub dead_lettered: AtomicU64,
}

impl Status {
    pub fn new() -> Self {
        Self {
            broker_problem: Mutex::new(Some("connecting to RabbitMQ".into())),
            ..Self::default()
        }
    }

    pub fn broker_connected(&self) {
        *self.problem() = None;
    }

    /// Records why the broker is unreachable; true when this changes the state (so the
    /// caller logs once per outage, not once per retry).
    pub fn broker_down(&self, problem: String) -> bool {
        let mut current = self.problem();
        let changed = current.as_deref() != Some(problem.as_str());
        *current = Some(problem);
        changed
    }

    /// Why the broker is not connected, or `None` when it is.
    pub fn broker_problem(&self) -> Option<String> {
        self.problem().clone()
    }

    pub fn is_connected(&self) -> bool {
        self.problem().is_none()
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub fn count(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn problem(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.broker_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_reported_once_until_it_changes() {
        let status = Status::new();
        assert!(!status.is_connected());
        assert!(status.broker_down("connection refused".into()));
        assert!(!status.broker_down("connection refused".into()));
        status.broker_connected();
        assert!(status.is_connected() && status.broker_problem().is_none());
        assert!(status.broker_down("connection refused".into()));
    }
}
