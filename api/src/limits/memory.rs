//! The in-process counters: the stand-in while Redis is unreachable, and the only store
//! when no `REDIS_URL` is set. Bounded in entries (so in bytes: each is a 16-byte key, a
//! count and an expiry, about 5 MiB at the bound), and expired entries are swept.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::{Counter, Refused};
use crate::limits::key::Key;

/// The most counters kept; past it the ones closest to expiry go first.
pub const MAX_ENTRIES: usize = 100_000;

#[derive(Debug)]
pub struct MemoryCounters {
    entries: Mutex<HashMap<Key, Entry>>,
    max_entries: usize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    count: u32,
    expires: Instant,
}

impl Default for MemoryCounters {
    fn default() -> Self {
        Self::with_capacity(MAX_ENTRIES)
    }
}

impl MemoryCounters {
    pub fn with_capacity(max_entries: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            max_entries: max_entries.max(1),
        }
    }

    /// Refuses when any counter is already at its limit, counting nothing; otherwise
    /// counts one attempt on every counter (see [`super::Limiter::attempt`]).
    pub fn attempt(&self, counters: &[Counter], now: Instant) -> Result<(), Refused> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let full = counters
            .iter()
            .filter_map(|counter| {
                let entry = entries.get(&counter.key)?;
                (entry.expires > now && entry.count >= counter.rule.limit)
                    .then(|| (counter.rule, entry.expires - now))
            })
            .max_by_key(|(_, left)| *left);
        if let Some((rule, left)) = full {
            return Err(Refused::new(rule, left));
        }
        for counter in counters {
            if !entries.contains_key(&counter.key) && entries.len() >= self.max_entries {
                make_room(&mut entries, now, self.max_entries);
            }
            let entry = entries.entry(counter.key).or_insert(Entry {
                count: 0,
                expires: now + counter.rule.window,
            });
            if entry.expires <= now {
                *entry = Entry {
                    count: 0,
                    expires: now + counter.rule.window,
                };
            }
            entry.count = entry.count.saturating_add(1);
        }
        Ok(())
    }

    pub fn forgive(&self, key: &Key) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops expired entries; if that frees less than a tenth, also the tenth closest to
/// expiry (the ones that would have gone soonest anyway).
fn make_room(entries: &mut HashMap<Key, Entry>, now: Instant, max_entries: usize) {
    entries.retain(|_, entry| entry.expires > now);
    let target = max_entries - max_entries / 10 - 1;
    if entries.len() > target {
        let cut = entries.len() - target;
        let mut by_expiry: Vec<(Instant, Key)> = entries
            .iter()
            .map(|(key, entry)| (entry.expires, *key))
            .collect();
        by_expiry.select_nth_unstable_by_key(cut - 1, |(expires, _)| *expires);
        for (_, key) in &by_expiry[..cut] {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::limits::Rule;

    fn rule(name: &'static str, limit: u32) -> Rule {
        Rule {
            name,
            limit,
            window: Duration::from_secs(60),
            refusal: "too many attempts",
        }
    }

    #[test]
    fn a_counter_refuses_past_its_limit_until_its_window_ends() {
        let counters = MemoryCounters::default();
        let start = Instant::now();
        let pair = rule("pair", 2).counter(&["ada", "1.2.3.4"]);
        for _ in 0..2 {
            assert!(counters.attempt(&[pair], start).is_ok());
        }
        assert_eq!(counters.len(), 1);
        let refused = counters
            .attempt(&[pair], start + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(
            (refused.rule, refused.retry_after),
            ("pair", Duration::from_secs(50))
        );
        assert!(
            counters
                .attempt(&[pair], start + Duration::from_secs(60))
                .is_ok(),
            "a new window"
        );
        counters.forgive(&pair.key);
        assert_eq!(counters.len(), 0);
    }

    #[test]
    fn a_refused_attempt_counts_nowhere() {
        let counters = MemoryCounters::default();
        let now = Instant::now();
        let pair = rule("pair", 1).counter(&["ada", "attacker"]);
        let account = rule("account", 3).counter(&["ada"]);
        for _ in 0..10 {
            let _ = counters.attempt(&[pair, account], now);
        }
        let victim = rule("pair", 1).counter(&["ada", "victim"]);
        assert!(
            counters.attempt(&[victim, account], now).is_ok(),
            "the attacker's refused guesses never reached the account counter"
        );
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_distinct_keys() {
        let counters = MemoryCounters::with_capacity(1_000);
        let now = Instant::now();
        for i in 0..20_000 {
            let name = format!("flood{i}");
            let _ = counters.attempt(&[rule("pair", 5).counter(&[&name])], now);
        }
        assert!(counters.len() <= 1_000, "{}", counters.len());
    }
}
