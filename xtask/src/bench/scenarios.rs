//! The load scenarios, each 64 connections for the plan's duration, and the figures each
//! gives: reads against pgbench's select, sign-ups and sign-ins against the hash rate.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::api_process::{self, ApiProcess, RssPeak};
use super::report::{Figure, Target};
use super::seed;
use super::wrk::{self, Outcome, Scenario};
use crate::scratch_database::block_on;

/// Where and how hard to load.
pub struct Load<'a> {
    pub wrk: &'a Path,
    pub api: &'a ApiProcess,
    pub dir: &'a Path,
    pub duration: Duration,
    pub connections: u32,
}

impl Load<'_> {
    fn run(
        &self,
        name: &'static str,
        request: String,
        count_statuses: bool,
    ) -> anyhow::Result<Outcome> {
        crate::project::step(name);
        let scenario = Scenario {
            name,
            request,
            count_statuses,
            connections: self.connections,
            duration: self.duration,
        };
        wrk::run(self.wrk, &self.api.base_url(), &scenario, self.dir)
    }

    /// [`Load::run`], and the CPU each request cost the api, PostgreSQL and wrk.
    fn run_measured(
        &self,
        name: &'static str,
        request: String,
    ) -> anyhow::Result<(Outcome, CpuPerRequest)> {
        let pid = self.api.pid();
        let ticks = || {
            [
                api_process::cpu_ticks(pid).unwrap_or(0),
                api_process::postgres_cpu_ticks(),
                api_process::reaped_children_ticks(),
            ]
        };
        let before = ticks();
        let outcome = self.run(name, request, false)?;
        let after = ticks();
        let [api, postgres, wrk] = [0, 1, 2].map(|i| {
            api_process::micros_per(after[i].saturating_sub(before[i]), outcome.requests as f64)
        });
        Ok((outcome, CpuPerRequest { api, postgres, wrk }))
    }

    /// [`Load::run`] for a scenario whose every answer must be a 200: a latency of
    /// refusals would measure nothing.
    fn run_clean(&self, name: &'static str, request: String) -> anyhow::Result<Outcome> {
        let outcome = self.run(name, request, false)?;
        let errors = outcome.errors(&[200]);
        anyhow::ensure!(
            errors == 0,
            "{errors} of {} requests of `{name}` failed; see target/bench/{}.out and target/bench/api.log",
            outcome.requests,
            name.replace(' ', "-")
        );
        Ok(outcome)
    }
}

/// Microseconds of CPU one request of a scenario cost each process.
struct CpuPerRequest {
    api: f64,
    postgres: f64,
    /// The load generator shares the machine with the api; pgbench is its own.
    wrk: f64,
}

impl CpuPerRequest {
    fn figures(&self, scenario: &str) -> [Figure; 4] {
        [
            Figure::info(format!("api CPU per {scenario}"), self.api, "µs"),
            Figure::info(
                format!("PostgreSQL CPU per {scenario}"),
                self.postgres,
                "µs",
            ),
            Figure::info(format!("wrk CPU per {scenario}"), self.wrk, "µs"),
            Figure::info(
                format!("api CPU / PostgreSQL CPU per {scenario}"),
                self.api / self.postgres.max(f64::MIN_POSITIVE),
                "x",
            ),
        ]
    }
}

/// Users per list page: the api's default.
pub const PAGE_SIZE: u64 = 10;
/// How many users the api's page numbers reach (`Pagination::WINDOW`); deeper pages
/// continue from a cursor.
const PAGE_WINDOW: u64 = 10_000;
/// `2026-01-01T00:00:00Z` in unix microseconds: seeded user n was created n ms later.
const SEED_EPOCH_MICROS: u64 = 1_767_225_600_000_000;

/// The ids of seeded users 1..=n, as the api prints them.
pub fn seeded_ids(url: &str, users: u64) -> anyhow::Result<Vec<String>> {
    block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query_scalar(
            "SELECT md5('bench' || n)::uuid::text FROM generate_series(1, $1::bigint) AS n",
        )
        .bind(i64::try_from(users)?)
        .fetch_all(&mut conn)
        .await
        .context("reading the seeded ids")
    })
}

fn bearer(token: &str) -> String {
    format!(
        "local headers = {{ [\"Authorization\"] = {} }}\n",
        wrk::lua_string(&format!("Bearer {token}"))
    )
}

/// How many pages of [`PAGE_SIZE`] page numbers reach among `users`.
pub fn reachable_pages(users: u64) -> u64 {
    users.min(PAGE_WINDOW).div_ceil(PAGE_SIZE)
}

/// A random page among those page numbers reach.
fn list_request(token: &str, users: u64) -> String {
    format!(
        "{}function request()\n  return wrk.format(\"GET\", \"/api/v1/users?size={PAGE_SIZE}&page=\" .. math.random({}), headers)\nend\n",
        bearer(token),
        reachable_pages(users)
    )
}

/// A page after a random one of `ids` (seeded users 1..=n, the oldest, so the deepest
/// pages of the listing), by the cursor the api would have given.
fn cursor_request(token: &str, ids: &[String]) -> String {
    let id_list = wrk::lua_table(ids);
    format!(
        "{}local ids = {id_list}\nfunction request()\n  local n = math.random(#ids)\n  \
         local after = string.format(\"1.%.0f.%s\", {SEED_EPOCH_MICROS} + n * 1000, ids[n])\n  \
         return wrk.format(\"GET\", \"/api/v1/users?size={PAGE_SIZE}&after=\" .. after, headers)\nend\n",
        bearer(token)
    )
}

/// The rates the reads are judged against, measured in the same run: pgbench (libpq)
/// and sqlx alone, each running the api's read statement.
pub struct Baselines {
    pub select_tps: f64,
    pub sqlx_tps: f64,
    /// pgbench on the api's numbered-page and cursor-page statements.
    pub page_tps: f64,
    pub cursor_tps: f64,
}

/// Transfers of 1 minor unit between two random different accounts of `accounts` (the
/// administrator `token` may move anyone's money), each under a fresh idempotency key:
/// the rate against pgbench running the same statements, latencies, errors and CPU.
pub fn transfers(
    load: &Load,
    token: &str,
    accounts: &[String],
    pgbench_tps: f64,
) -> anyhow::Result<Vec<Figure>> {
    let run_id = std::process::id();
    let script = format!(
        "{}local accounts = {}\nlocal n = 0\nheaders[\"Content-Type\"] = \"application/json\"\n\
         function request()\n  n = n + 1\n  local a = math.random(#accounts)\n  \
         local b = (a + math.random(#accounts - 1) - 1) % #accounts + 1\n  \
         headers[\"Idempotency-Key\"] = string.format(\"bench-{run_id}-%d-%d\", tid, n)\n  \
         local body = string.format('{{\"from_account_id\":\"%s\",\"to_account_id\":\"%s\",\"amount\":1}}', accounts[a], accounts[b])\n  \
         return wrk.format(\"POST\", \"/api/v1/transfers\", headers, body)\nend\n",
        bearer(token),
        wrk::lua_table(accounts),
    );
    let (moved, cpu) = load.run_measured("transfers", script)?;
    let mut figures = vec![
        Figure::info("pgbench transfer", pgbench_tps, "tx/s"),
        Figure::info("POST transfer", moved.rate(), "req/s"),
        Figure::info(
            "POST transfer / pgbench transfer",
            moved.rate() / pgbench_tps.max(f64::MIN_POSITIVE),
            "x",
        ),
        Figure::info("POST transfer p50", moved.p50_ms(), "ms"),
        Figure::info("POST transfer p99", moved.p99_ms(), "ms"),
        Figure::with_target(
            "POST transfer errors",
            moved.errors(&[201]) as f64,
            "",
            Target::AtMost(0.0),
        ),
    ];
    figures.extend(cpu.figures("transfer"));
    Ok(figures)
}

/// `/healthz`, a user by a random id, a random list page: rates, latencies, errors,
/// CPU per request on both sides, and the api's peak memory under them.
pub fn reads(
    load: &Load,
    token: &str,
    ids: &[String],
    baselines: Baselines,
) -> anyhow::Result<Vec<Figure>> {
    let Baselines {
        select_tps,
        sqlx_tps,
        page_tps,
        cursor_tps,
    } = baselines;
    let mut figures = Vec::new();
    let rss = RssPeak::watch(load.api.pid());

    let health = load.run(
        "healthz",
        "function request()\n  return wrk.format(\"GET\", \"/healthz\")\nend\n".into(),
        false,
    )?;
    figures.push(Figure::info("GET /healthz", health.rate(), "req/s"));
    figures.push(Figure::info("GET /healthz p99", health.p99_ms(), "ms"));

    let id_list = wrk::lua_table(ids);
    let by_id = format!(
        "{}local ids = {id_list}\nfunction request()\n  return wrk.format(\"GET\", \"/api/v1/users/\" .. ids[math.random(#ids)], headers)\nend\n",
        bearer(token)
    );
    let (get, cpu) = load.run_measured("user by id", by_id)?;
    figures.push(Figure::info("GET user by id", get.rate(), "req/s"));
    figures.push(Figure::with_target(
        "GET user by id / pgbench select",
        get.rate() / select_tps,
        "x",
        Target::AtLeast(0.5),
    ));
    figures.push(Figure::info(
        "GET user by id / sqlx alone",
        get.rate() / sqlx_tps,
        "x",
    ));
    figures.push(Figure::info("GET user by id p50", get.p50_ms(), "ms"));
    figures.push(Figure::with_target(
        "GET user by id p99",
        get.p99_ms(),
        "ms",
        Target::AtMost(20.0),
    ));
    figures.push(Figure::with_target(
        "GET user by id errors",
        get.errors(&[200]) as f64,
        "",
        Target::AtMost(0.0),
    ));
    figures.extend(cpu.figures("GET user by id"));

    for (name, (outcome, cpu), statement_tps) in [
        (
            "GET a numbered list page",
            load.run_measured("list page", list_request(token, ids.len() as u64))?,
            page_tps,
        ),
        (
            "GET a list page by cursor",
            load.run_measured("list page by cursor", cursor_request(token, ids))?,
            cursor_tps,
        ),
    ] {
        figures.push(Figure::info(name, outcome.rate(), "req/s"));
        figures.push(Figure::with_target(
            format!("{name} / pgbench select"),
            outcome.rate() / select_tps,
            "x",
            Target::AtLeast(0.3),
        ));
        figures.push(Figure::info(
            format!("{name} / pgbench, the same page statement"),
            outcome.rate() / statement_tps,
            "x",
        ));
        figures.push(Figure::info(format!("{name} p99"), outcome.p99_ms(), "ms"));
        figures.push(Figure::with_target(
            format!("{name} errors"),
            outcome.errors(&[200]) as f64,
            "",
            Target::AtMost(0.0),
        ));
        figures.extend(cpu.figures(name));
    }

    figures.push(Figure::with_target(
        "api RSS peak, reads",
        rss.finish(),
        "MiB",
        Target::AtMost(40.0),
    ));
    Ok(figures)
}

/// The p99 of random numbered list pages over `users` users (every answer a 200).
pub fn list_p99(load: &Load, token: &str, users: u64) -> anyhow::Result<f64> {
    Ok(load
        .run_clean("list page at scale", list_request(token, users))?
        .p99_ms())
}

/// The p99 of pages after random ones of the seeded users 1..=n: at scale, the deepest
/// pages of the listing (every answer a 200).
pub fn cursor_p99(load: &Load, token: &str, ids: &[String]) -> anyhow::Result<f64> {
    Ok(load
        .run_clean("list page by cursor at scale", cursor_request(token, ids))?
        .p99_ms())
}

/// Sign-ups and sign-ins: accepted per second against the hash rate, every answer within
/// a second (excess ones 503), and the api's peak memory against the chart's limit.
pub fn hashing(load: &Load, hash_rate: f64, insert_tps: f64) -> anyhow::Result<Vec<Figure>> {
    let mut figures = Vec::new();
    let rss = RssPeak::watch(load.api.pid());
    let run_id = std::process::id();
    let sign_up = format!(
        "local n = 0\nfunction request()\n  n = n + 1\n  local name = string.format(\"su{run_id}_%d_%d\", tid, n)\n  \
         local body = string.format('{{\"email\":\"%s@bench.example\",\"username\":\"%s\",\"password\":\"{}\"}}', name, name)\n  \
         return wrk.format(\"POST\", \"/api/v1/users\", {{ [\"Content-Type\"] = \"application/json\" }}, body)\nend\n",
        seed::PASSWORD
    );
    let up = load.run("sign-up", sign_up, true)?;
    push_hashing(&mut figures, "sign-up", &up, 201, hash_rate);
    figures.push(Figure::info(
        "sign-up / pgbench insert",
        up.rate_of(201) / insert_tps,
        "x",
    ));

    let sign_in = format!(
        "function request()\n  local body = string.format('{{\"username\":\"bench%d\",\"password\":\"{}\"}}', math.random({}))\n  \
         return wrk.format(\"POST\", \"/api/v1/auth/login\", {{ [\"Content-Type\"] = \"application/json\" }}, body)\nend\n",
        seed::PASSWORD,
        super::USERS
    );
    let signed_in = load.run("sign-in", sign_in, true)?;
    push_hashing(&mut figures, "sign-in", &signed_in, 200, hash_rate);

    let limit = chart_memory_limit_mib();
    let peak = rss.finish();
    figures.push(match limit {
        Ok(limit) => Figure::with_target(
            "api RSS peak, sign-ups and sign-ins",
            peak,
            "MiB",
            Target::AtMost(limit),
        )
        .noted("(the chart's memory limit)"),
        Err(err) => Figure::info("api RSS peak, sign-ups and sign-ins", peak, "MiB")
            .noted(format!("({err:#})")),
    });
    Ok(figures)
}

fn push_hashing(
    figures: &mut Vec<Figure>,
    name: &str,
    outcome: &Outcome,
    accepted: u16,
    hash_rate: f64,
) {
    figures.push(Figure::info(
        format!("{name} accepted"),
        outcome.rate_of(accepted),
        "/s",
    ));
    figures.push(Figure::with_target(
        format!("{name} accepted / hash rate"),
        outcome.rate_of(accepted) / hash_rate,
        "x",
        Target::AtLeast(0.8),
    ));
    figures.push(Figure::with_target(
        format!("{name} p99 (503s included)"),
        outcome.p99_ms(),
        "ms",
        Target::AtMost(1000.0),
    ));
    figures.push(Figure::info(
        format!("{name} answered 503 (busy)"),
        outcome.count_of(503) as f64,
        "",
    ));
    figures.push(Figure::with_target(
        format!("{name} errors"),
        outcome.errors(&[accepted, 503]) as f64,
        "",
        Target::AtMost(0.0),
    ));
}

/// `resources.limits.memory` of the chart's values, in MiB.
fn chart_memory_limit_mib() -> anyhow::Result<f64> {
    let path = crate::project::chart_dir().join("values.yaml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let values: serde_yaml::Value =
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let limit = values["resources"]["limits"]["memory"]
        .as_str()
        .context("the chart sets no resources.limits.memory")?;
    mib_of(limit).with_context(|| {
        format!("resources.limits.memory {limit:?} is not a quantity such as 128Mi")
    })
}

fn mib_of(quantity: &str) -> Option<f64> {
    let (digits, factor) = if let Some(n) = quantity.strip_suffix("Mi") {
        (n, 1.0)
    } else if let Some(n) = quantity.strip_suffix("Gi") {
        (n, 1024.0)
    } else if let Some(n) = quantity.strip_suffix('M') {
        (n, 1e6 / 1048576.0)
    } else {
        (quantity, 1.0 / 1048576.0)
    };
    digits.parse::<f64>().ok().map(|n| n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_quantities_read_in_mib() {
        assert_eq!(mib_of("128Mi"), Some(128.0));
        assert_eq!(mib_of("1Gi"), Some(1024.0));
        assert_eq!(mib_of("134217728"), Some(128.0));
        assert_eq!(mib_of("lots"), None);
        assert!(
            chart_memory_limit_mib().unwrap() > 0.0,
            "the chart has a limit"
        );
    }

    #[test]
    fn list_pages_are_drawn_from_every_page_numbers_reach() {
        let lua = list_request("t0ken", 5_001);
        assert!(lua.contains("math.random(501)"), "{lua}");
        assert!(lua.contains("\"Bearer t0ken\""), "{lua}");
        assert!(list_request("t", 1_000_000).contains("math.random(1000)"));
    }

    #[test]
    fn cursors_name_a_seeded_users_creation_time_and_id() {
        let lua = cursor_request("t", &["a-b".to_owned()]);
        assert!(
            lua.contains("string.format(\"1.%.0f.%s\", 1767225600000000 + n * 1000, ids[n])"),
            "{lua}"
        );
        assert!(lua.contains("&after=\" .. after"), "{lua}");
    }
}
