//! Attempt limits against guessing and abuse (sign-in, sign-up, password change): counters
//! over fixed windows, kept in Redis so every replica sees one count and a restart
//! forgets nothing. While Redis is unreachable the in-process counters stand in, so the
//! api keeps serving with per-replica limits; that is logged once, shown in `/metrics`
//! and in the readiness details, and Redis is tried again every second.

pub mod key;
pub mod memory;
pub mod redis_store;
pub mod rules;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use self::key::Key;
use self::memory::MemoryCounters;
use self::redis_store::RedisCounters;
use crate::config::RedisSettings;

/// How many attempts a window allows, its name in logs and metrics, and what a refused
/// client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub limit: u32,
    pub window: Duration,
    pub refusal: &'static str,
}

impl Rule {
    /// The counter of this rule for `subject` (an account, an address, or both).
    pub fn counter(&self, subject: &[&str]) -> Counter {
        let mut parts = vec![self.name];
        parts.extend_from_slice(subject);
        Counter {
            rule: *self,
            key: Key::of(&parts),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub rule: Rule,
    pub key: Key,
}

/// An attempt over a limit: which rule refused it, what to tell the client, and when the
/// rule's window ends (at least a second away, as `Retry-After` counts whole seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub rule: &'static str,
    pub message: &'static str,
    pub retry_after: Duration,
}

impl Refused {
    pub fn new(rule: Rule, retry_after: Duration) -> Self {
        Self {
            rule: rule.name,
            message: rule.refusal,
            retry_after: retry_after.max(Duration::from_secs(1)),
        }
    }
}

/// Where counts are kept right now, for readiness and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Redis,
    /// Redis is configured but did not answer: per-replica counts until it does.
    InProcessFallback,
    /// No `REDIS_URL`: per-replica counts by choice.
    InProcess,
}

impl Store {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Redis => "redis",
            Self::InProcessFallback => "in-process (redis unreachable)",
            Self::InProcess => "in-process",
        }
    }
}

/// How long the limits count in-process after Redis failed before trying it again.
const RETRY_REDIS_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Limiter {
    redis: Option<RedisCounters>,
    memory: MemoryCounters,
    falling_back: AtomicBool,
    retry_redis_at: Mutex<Option<Instant>>,
    redis_errors: AtomicU64,
    refused: Mutex<BTreeMap<&'static str, u64>>,
}

impl Limiter {
    /// Counters in Redis when `redis` is given, else in this process only.
    pub fn new(redis: Option<RedisSettings>) -> Self {
        Self {
            redis: redis.map(RedisCounters::new),
            ..Self::default()
        }
    }

    /// Refuses the attempt when any counter is already at its limit, counting nothing;
    /// otherwise counts it on every counter. So a guesser refused by its own
    /// account-and-address counter adds nothing to the account's counter, and cannot
    /// lock the account for others; and refused attempts make no new keys, so a flood of
    /// them cannot push other counters out of a full store.
    pub async fn attempt(&self, counters: &[Counter]) -> Result<(), Refused> {
        let outcome = match self
            .on_redis(async |redis| redis.attempt(counters).await)
            .await
        {
            Some(outcome) => outcome,
            None => self.memory.attempt(counters, Instant::now()),
        };
        if let Err(refused) = &outcome {
            *self
                .refused
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(refused.rule)
                .or_default() += 1;
        }
        outcome
    }

    /// Forgets a counter's attempts (a successful sign-in from that address).
    pub async fn forgive(&self, counter: &Counter) {
        self.memory.forgive(&counter.key);
        self.on_redis(async |redis| redis.forgive(counter).await)
            .await;
    }

    /// Where counts go now, after asking Redis (unless it failed within the last second).
    pub async fn check_store(&self) -> Store {
        self.on_redis(async |redis| redis.ping().await).await;
        self.store()
    }

    pub fn store(&self) -> Store {
        match (&self.redis, self.falling_back.load(Ordering::SeqCst)) {
            (None, _) => Store::InProcess,
            (Some(_), true) => Store::InProcessFallback,
            (Some(_), false) => Store::Redis,
        }
    }

    /// `call` on Redis, noting whether it answered; `None` when it failed, or when there is
    /// no Redis to try right now (see [`Limiter::redis_to_try`]).
    async fn on_redis<T>(
        &self,
        call: impl AsyncFnOnce(&RedisCounters) -> anyhow::Result<T>,
    ) -> Option<T> {
        let redis = self.redis_to_try()?;
        match call(redis).await {
            Ok(value) => {
                self.redis_answered();
                Some(value)
            }
            Err(err) => {
                self.redis_failed(redis, &err);
                None
            }
        }
    }

    /// Redis, unless it failed less than [`RETRY_REDIS_AFTER`] ago.
    fn redis_to_try(&self) -> Option<&RedisCounters> {
        let redis = self.redis.as_ref()?;
        if self.falling_back.load(Ordering::SeqCst) {
            let retry_at = *self
                .retry_redis_at
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if retry_at.is_some_and(|at| Instant::now() < at) {
                return None;
            }
        }
        Some(redis)
    }

    fn redis_failed(&self, redis: &RedisCounters, err: &anyhow::Error) {
        self.redis_errors.fetch_add(1, Ordering::SeqCst);
        *self
            .retry_redis_at
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + RETRY_REDIS_AFTER);
        if !self.falling_back.swap(true, Ordering::SeqCst) {
            tracing::warn!(
                redis = %redis.address(),
                error = %err,
                "Redis is unreachable; counting sign-in and sign-up attempts in this process \
                 (per replica) until it answers again"
            );
        }
    }

    fn redis_answered(&self) {
        if self.falling_back.swap(false, Ordering::SeqCst) {
            tracing::info!("Redis answers again; attempt counts are shared by every replica");
        }
    }

    /// The limits' lines of the `/metrics` exposition.
    pub fn render_metrics(&self, out: &mut String) {
        use crate::http::metrics::{family, gauge};
        gauge(
            out,
            "rate_limit_fallback",
            "1 while Redis is configured but unreachable and limits count per replica.",
            u8::from(self.store() == Store::InProcessFallback),
        );
        family(
            out,
            "rate_limit_store_errors_total",
            "counter",
            "Redis calls of the limits that failed or timed out.",
        );
        let _ = writeln!(
            out,
            "rate_limit_store_errors_total {}",
            self.redis_errors.load(Ordering::SeqCst)
        );
        family(
            out,
            "rate_limited_requests_total",
            "counter",
            "Attempts refused, by the rule that refused them.",
        );
        let refused = self
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for (rule, count) in refused {
            let _ = writeln!(
                out,
                "rate_limited_requests_total{{rule=\"{rule}\"}} {count}"
            );
        }
    }
}
