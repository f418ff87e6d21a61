//! The driver's own limit in the same run: the api's read statement (`UserRepo::find_as`)
//! through sqlx alone, with no HTTP, pool or handler around it, one connection per
//! client, as pgbench runs it through libpq. Against pgbench it says what the Rust driver
//! costs; against the api, what HTTP and the request path add to it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::Connection;
use sqlx::types::Uuid;
use sqlx::types::time::OffsetDateTime;

use super::api_process;
use super::report::Figure;

/// The statement exactly as the api sends it (the caller's facts and the user by id).
const READ: &str = "SELECT c.is_active AS caller_active, c.is_admin AS caller_admin, \
     c.token_version AS caller_version, t.id, t.email, t.username, t.full_name, t.is_active, \
     t.is_verified, t.is_admin, t.created_at, t.updated_at \
     FROM users c LEFT JOIN users t ON t.id = $2 WHERE c.id = $1";

/// Every column decoded, as the api decodes them.
type ReadRow = (
    bool,
    bool,
    i32,
    Option<Uuid>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<bool>,
    Option<bool>,
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
);

/// The driver's figures beside pgbench's `select_tps`: its rate (returned first, for
/// the api's ratio), its ratio, and the CPU a read costs the driver's process and
/// PostgreSQL. pgbench runs two threads (`--jobs=2`), so the driver does too.
pub fn figures(
    url: &str,
    caller: &str,
    ids: &[String],
    clients: u32,
    duration: Duration,
    select_tps: f64,
) -> anyhow::Result<(f64, Vec<Figure>)> {
    let own_before = api_process::cpu_ticks(std::process::id()).unwrap_or(0);
    let pg_before = api_process::postgres_cpu_ticks();
    let rate = read_rate(url, caller, ids, clients, 2, duration)?;
    let own = api_process::cpu_ticks(std::process::id())
        .unwrap_or(0)
        .saturating_sub(own_before);
    let reads = rate * duration.as_secs_f64();
    let figures = vec![
        Figure::info("sqlx alone, the api's read statement", rate, "tx/s"),
        Figure::info("sqlx alone / pgbench select", rate / select_tps, "x"),
        Figure::info(
            "sqlx client CPU per read",
            api_process::micros_per(own, reads),
            "µs",
        ),
        Figure::info(
            "PostgreSQL CPU per sqlx read",
            api_process::postgres_micros_since(pg_before, reads),
            "µs",
        ),
    ];
    Ok((rate, figures))
}

/// Reads per second with `clients` connections for `duration`, on `threads` runtime
/// threads (pgbench's `--jobs`), as `caller` on random users among `ids`.
pub fn read_rate(
    url: &str,
    caller: &str,
    ids: &[String],
    clients: u32,
    threads: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let caller: Uuid = caller.parse().context("reading the administrator's id")?;
    let ids: Arc<Vec<Uuid>> = Arc::new(
        ids.iter()
            .map(|id| id.parse())
            .collect::<Result<_, _>>()
            .context("reading the seeded ids")?,
    );
    anyhow::ensure!(!ids.is_empty(), "no seeded users to read");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("starting a runtime")?;
    runtime.block_on(async {
        let mut connections = Vec::new();
        for _ in 0..clients {
            connections.push(
                sqlx::PgConnection::connect(url)
                    .await
                    .context("connecting to the bench database")?,
            );
        }
        let done = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let deadline = started + duration;
        let mut tasks = Vec::new();
        for (client, mut conn) in (0u64..).zip(connections) {
            let (ids, done) = (ids.clone(), done.clone());
            tasks.push(tokio::spawn(async move {
                let mut pick = Pick::seeded(client);
                while Instant::now() < deadline {
                    let target = ids[pick.below(ids.len())];
                    sqlx::query_as::<_, ReadRow>(READ)
                        .bind(caller)
                        .bind(target)
                        .fetch_optional(&mut conn)
                        .await
                        .context("running the api's read statement through sqlx")?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await.context("a sqlx client stopped")??;
        }
        Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
    })
}

/// A small xorshift: each client its own sequence of ids, with no shared state between
/// clients to contend on.
struct Pick(u64);

impl Pick {
    fn seeded(client: u64) -> Self {
        Self(client.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statement runs on the api's real schema (so it cannot drift from the columns
    /// the api reads) and every read is counted.
    #[test]
    fn reads_the_seeded_users_through_the_apis_statement() {
        let (scratch, ids) = super::super::seed::test_database("xtask_test_bench_driver", 20);
        let rate = read_rate(
            scratch.url(),
            &ids[0],
            &ids,
            4,
            1,
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(rate > 10.0, "{rate} reads/s");
        let wrong = read_rate(
            scratch.url(),
            "not-an-id",
            &ids,
            1,
            1,
            Duration::from_millis(10),
        );
        assert!(
            format!("{:#}", wrong.unwrap_err()).contains("administrator's id"),
            "an unreadable caller id is named"
        );
    }

    #[test]
    fn each_client_picks_its_own_spread_of_users() {
        let (mut a, mut b) = (Pick::seeded(0), Pick::seeded(1));
        let from_a: Vec<usize> = (0..1000).map(|_| a.below(10)).collect();
        let from_b: Vec<usize> = (0..1000).map(|_| b.below(10)).collect();
        assert_ne!(from_a, from_b);
        for n in 0..10 {
            let hits = from_a.iter().filter(|&&picked| picked == n).count();
            assert!(
                (50..150).contains(&hits),
                "user {n} picked {hits} times of 1000"
            );
        }
    }
}
