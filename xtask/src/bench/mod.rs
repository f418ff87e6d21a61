//! `cargo xtask bench`: what users feel, measured against baselines taken in the same
//! run (PostgreSQL's own rate through pgbench, this machine's password hashing rate),
//! because absolute figures on a shared machine move from run to run. Prints a table and
//! writes `target/bench/report.{json,md}`. Targets are judged here, never in tests.

mod api_process;
mod deployer;
mod driver;
mod pgbench;
mod report;
mod scenarios;
mod seed;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::postgres::Database;
use crate::scratch_database::ScratchDatabase;
use crate::tools::Tools;
use crate::{project, timestamp};
use api_process::ApiProcess;
use report::{Figure, Report, Target};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A first look: 3 s per scenario, 100,000 users for the scale check, no image build.
    #[arg(long)]
    pub quick: bool,
    /// Do not build the image (its size is then not measured).
    #[arg(long)]
    pub no_image: bool,
    /// Exit non-zero when a target is missed (for a pipeline that gates on them).
    #[arg(long)]
    pub fail_on_miss: bool,
}

/// Users seeded for every scenario.
const USERS: u64 = 10_000;
/// Connections of every load scenario, and pgbench's clients.
const CONNECTIONS: u32 = 64;
/// The api's database pool in the benchmark (`DB_POOL_SIZE`, the api's default): at most
/// this many of its transactions run at once, whatever the HTTP load.
const API_POOL_SIZE: u32 = 10;

/// How long and how big, by mode.
struct Plan {
    scenario: Duration,
    hash_rate: Duration,
    scale_users: u64,
    ready_starts: usize,
}

impl Plan {
    fn of(args: &Args) -> Self {
        if args.quick {
            Self {
                scenario: Duration::from_secs(3),
                hash_rate: Duration::from_secs(2),
                scale_users: 100_000,
                ready_starts: 3,
            }
        } else {
            Self {
                scenario: Duration::from_secs(10),
                hash_rate: Duration::from_secs(5),
                scale_users: 1_000_000,
                ready_starts: 5,
            }
        }
    }
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let plan = Plan::of(args);
    let started_at = timestamp::now();
    let dir = project::target_dir().join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let tools = Tools::ensure()?;
    let wrk = tools.wrk.clone().context(
        "wrk is not installed: run scripts/install-tools.sh (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk)",
    )?;
    let pgbench = pgbench::find().context(
        "pgbench is not installed (Debian/Ubuntu: apt-get install postgresql-contrib; macOS: brew install postgresql@17)",
    )?;

    project::step("building the api (release)");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--quiet", "--release", "--package", "api"])
        .current_dir(project::root())
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("building the api failed (see above)");
    }
    let binary = project::target_dir().join("release/api");

    project::step("PostgreSQL and Redis");
    let database = Database::provide("bench")?;
    eprintln!("    using {}", database.describe());
    let scratch = ScratchDatabase::create(database.url(), "xtask_bench", false)?;
    let redis = crate::redis::Redis::provide(tools.redis_server.as_deref())?;
    eprintln!("    using {}", redis.describe());
    let hashing_concurrency = std::env::var("PASSWORD_HASHING_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse::<u16>().ok())
        .unwrap_or(2);
    let env = api_env(scratch.url(), redis.url(), hashing_concurrency);
    let log = dir.join("api.log");
    let _ = std::fs::remove_file(&log);

    let mut figures = Vec::new();
    project::step("the machine's password hashing rate");
    let hash_rate = hash_rate(&binary, hashing_concurrency, plan.hash_rate)?;
    figures.push(Figure::info(
        format!("argon2id hashes/s ({hashing_concurrency} at once)"),
        hash_rate,
        "/s",
    ));

    project::step(&format!("migrating and seeding {USERS} users"));
    run_api(&binary, "migrate", &env)?;
    let admin = seed::admin(&binary, &env, scratch.url())?;
    let hash = admin.password_hash.clone();
    seed::users(scratch.url(), 1, USERS, &hash)?;

    project::step("start to ready");
    let port = project::free_port()?;
    let mut ready = Vec::new();
    for _ in 1..plan.ready_starts {
        let mut api = ApiProcess::start(&binary, &env, port, &log)?;
        ready.push(api.ready_after);
        api.stop();
    }
    let api = ApiProcess::start(&binary, &env, port, &log)?;
    ready.push(api.ready_after);
    ready.sort();
    let ready_ms = ready[ready.len() / 2].as_secs_f64() * 1000.0;
    figures.push(
        Figure::with_target(
            "start to first 200 on /readyz",
            ready_ms,
            "ms",
            Target::AtMost(100.0),
        )
        .noted(format!("(median of {})", ready.len())),
    );

    project::step("PostgreSQL's own rate (pgbench)");
    let pg_before = api_process::postgres_cpu_ticks();
    let select_tps = pgbench::run(
        &pgbench,
        scratch.url(),
        "select",
        &pgbench::select_script(USERS, &admin.id),
        CONNECTIONS,
        plan.scenario,
        &dir,
    )?;
    // PostgreSQL's CPU per select, to read the api's figure against: the difference is
    // what the api asks of the database besides the statement.
    let pg_per_select =
        api_process::postgres_micros_since(pg_before, select_tps * plan.scenario.as_secs_f64());
    // The database's own rate for the list's two statements, to read the list's rates
    // against: a page is eleven rows, and numbered pages step over the ones before them.
    let page_tps = pgbench::run(
        &pgbench,
        scratch.url(),
        "list-page",
        &pgbench::page_script(
            scenarios::reachable_pages(USERS),
            scenarios::PAGE_SIZE,
            &admin.id,
        ),
        CONNECTIONS,
        plan.scenario,
        &dir,
    )?;
    let cursor_tps = pgbench::run(
        &pgbench,
        scratch.url(),
        "list-cursor",
        &pgbench::cursor_script(USERS, scenarios::PAGE_SIZE, &admin.id),
        CONNECTIONS,
        plan.scenario,
        &dir,
    )?;
    let insert_tps = pgbench::run(
        &pgbench,
        scratch.url(),
        "insert",
        &pgbench::insert_script(&hash),
        CONNECTIONS,
        plan.scenario,
        &dir,
    )?;
    // The api's reads then see the very users pgbench's reads saw.
    seed::remove_inserted(scratch.url())?;
    let accounts = seed::accounts(scratch.url(), &admin.id)?;
    // With as many transactions at once as the api's pool runs: transfers over the same
    // accounts wait on each other's row locks, so more at once means more waiting, and
    // 64 clients would measure that contention rather than the statements.
    let transfer_tps = pgbench::run(
        &pgbench,
        scratch.url(),
        "transfer",
        &pgbench::transfer_script(seed::ACCOUNTS, &admin.id),
        API_POOL_SIZE,
        plan.scenario,
        &dir,
    )?;
    figures.push(Figure::info(
        "pgbench single-row select",
        select_tps,
        "tx/s",
    ));
    figures.push(Figure::info(
        "PostgreSQL CPU per pgbench select",
        pg_per_select,
        "µs",
    ));
    figures.push(Figure::info("pgbench numbered list page", page_tps, "tx/s"));
    figures.push(Figure::info(
        "pgbench list page by cursor",
        cursor_tps,
        "tx/s",
    ));
    figures.push(Figure::info("pgbench insert", insert_tps, "tx/s"));

    let token = seed::admin_token(api.address)?;
    let ids = scenarios::seeded_ids(scratch.url(), USERS)?;

    project::step("the driver's own rate (sqlx alone)");
    let (sqlx_tps, sqlx) = driver::figures(
        scratch.url(),
        &admin.id,
        &ids,
        CONNECTIONS,
        plan.scenario,
        select_tps,
    )?;
    figures.extend(sqlx);
    let load = scenarios::Load {
        wrk: &wrk,
        api: &api,
        dir: &dir,
        duration: plan.scenario,
        connections: CONNECTIONS,
    };
    figures.extend(scenarios::reads(
        &load,
        &token,
        &ids,
        scenarios::Baselines {
            select_tps,
            sqlx_tps,
            page_tps,
            cursor_tps,
        },
    )?);
    figures.extend(scenarios::hashing(&load, hash_rate, insert_tps)?);
    figures.extend(scenarios::transfers(
        &load,
        &token,
        &accounts,
        transfer_tps,
    )?);

    project::step(&format!("the list at {} users", plan.scale_users));
    let at_seed = scenarios::list_p99(&load, &token, USERS)?;
    seed::users(scratch.url(), USERS + 1, plan.scale_users, &hash)?;
    let at_scale = scenarios::list_p99(&load, &token, plan.scale_users)?;
    let deep = scenarios::cursor_p99(&load, &token, &ids)?;
    let scale = plan.scale_users;
    figures.push(Figure::info(
        format!("list p99 at {USERS} users"),
        at_seed,
        "ms",
    ));
    for (name, p99) in [
        ("numbered pages", at_scale),
        ("the deepest pages by cursor", deep),
    ] {
        figures.push(Figure::info(
            format!("list p99 at {scale} users, {name}"),
            p99,
            "ms",
        ));
        figures.push(Figure::with_target(
            format!("list p99 at {scale} users, {name} / at {USERS}"),
            p99 / at_seed.max(f64::EPSILON),
            "x",
            Target::AtMost(2.0),
        ));
    }
    drop(api);
    drop(scratch);
    drop(redis);
    drop(database);

    project::step("the deployer");
    figures.extend(deployer_figures(&tools, &dir));
    figures.push(image_size(args, &tools));

    let report = Report {
        machine: machine(),
        mode: if args.quick { "--quick" } else { "full" },
        started_at,
        figures,
    };
    write_report(&report, &dir)?;
    if args.fail_on_miss && !report.missed().is_empty() {
        bail!("{} target(s) missed", report.missed().len());
    }
    Ok(())
}

/// The api's settings for the benchmark: production-like (JSON logs, a real key,
/// Redis when there is one), but with the attempt limits lifted, because all the load
/// comes from one address and a handful of accounts.
fn api_env(
    database_url: &str,
    redis_url: Option<String>,
    hashing_concurrency: u16,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("DATABASE_URL", database_url.to_owned()),
        ("APP_ENV", "staging".to_owned()),
        (
            "JWT_SECRET",
            format!("bench-{}-{}", std::process::id(), "k".repeat(40)),
        ),
        ("LOG_FORMAT", "json".to_owned()),
        // One token serves the whole run, seeding a million users included.
        ("JWT_TTL", "24h".to_owned()),
        (
            "PASSWORD_HASHING_CONCURRENCY",
            hashing_concurrency.to_string(),
        ),
        ("LOGIN_ATTEMPTS_PER_MINUTE", "100000000".to_owned()),
        (
            "LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE",
            "100000000".to_owned(),
        ),
        (
            "LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE",
            "1000000000".to_owned(),
        ),
        ("SIGN_UPS_PER_ADDRESS_PER_HOUR", "100000000".to_owned()),
        ("REDIS_KEY_PREFIX", format!("bench:{}:", std::process::id())),
        ("DB_POOL_SIZE", API_POOL_SIZE.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(url) = redis_url {
        env.push(("REDIS_URL".to_owned(), url));
    }
    env
}

fn run_api(binary: &Path, command: &str, env: &[(String, String)]) -> anyhow::Result<()> {
    stdout_of(
        Command::new(binary)
            .arg(command)
            .envs(env.iter().map(|(k, v)| (k, v))),
        &format!("api {command}"),
        None,
    )?;
    Ok(())
}

/// Runs `command` and returns its stdout; fails naming `what`, its exit status and its
/// stderr. With `keep`, stdout is written there first, failed or not, to read later.
pub fn stdout_of(command: &mut Command, what: &str, keep: Option<&Path>) -> anyhow::Result<String> {
    let output = command
        .output()
        .with_context(|| format!("running {what}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if let Some(path) = keep {
        let _ = std::fs::write(path, &stdout);
    }
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(stdout)
}

/// The number right after `prefix` on the first line that starts with it (`VmRSS:`,
/// `MemTotal:`, `tps = `), as `/proc` files and pgbench print them.
pub fn number_after<T: std::str::FromStr>(text: &str, prefix: &str) -> Option<T> {
    text.lines()
        .find_map(|line| line.strip_prefix(prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

/// `api hash-rate`: the same code and parameters sign-ups use, in the release build.
fn hash_rate(binary: &Path, threads: u16, duration: Duration) -> anyhow::Result<f64> {
    let stdout = stdout_of(
        Command::new(binary)
            .args(["hash-rate", "--threads", &threads.to_string(), "--duration"])
            .arg(format!("{}ms", duration.as_millis())),
        "api hash-rate",
        None,
    )?;
    let reply: serde_json::Value =
        serde_json::from_str(&stdout).context("api hash-rate did not print JSON")?;
    reply["per_second"]
        .as_f64()
        .context("api hash-rate printed no per_second")
}

fn deployer_figures(tools: &Tools, dir: &Path) -> Vec<Figure> {
    let mut figures = Vec::new();
    match deployer::render_all(tools, dir) {
        Ok((took, count)) => figures.push(Figure::with_target(
            format!("render all {count} overlays"),
            took.as_secs_f64(),
            "s",
            Target::AtMost(1.0),
        )),
        Err(err) => figures.push(Figure::missing(
            "render all overlays",
            "s",
            Some(Target::AtMost(1.0)),
            format!("({err:#})"),
        )),
    }
    match deployer::dry_run(tools, dir) {
        Ok(took) => figures.push(
            Figure::info("deploy dev --dry-run", took.as_secs_f64(), "s")
                .noted("(against the API test server)"),
        ),
        Err(err) => figures.push(Figure::missing(
            "deploy dev --dry-run",
            "s",
            None,
            format!("({err:#})"),
        )),
    }
    figures
}

fn image_size(args: &Args, tools: &Tools) -> Figure {
    const NAME: &str = "image size";
    let target = Some(Target::AtMost(15.0));
    if args.quick || args.no_image {
        return Figure::missing(NAME, "MB", target, "(not built: --quick or --no-image)");
    }
    if tools.engine.is_none() {
        return Figure::missing(NAME, "MB", target, "(no podman or docker to build it with)");
    }
    project::step("building the image");
    let build = crate::build::Args {
        push: false,
        digest_file: None,
        tag: Some("bench".to_owned()),
        registry: None,
        repository: Some("localhost/api-bench".to_owned()),
        engine: None,
        allow_dirty: true,
        binary: None,
    };
    let measured = crate::build::build(&build).and_then(|built| {
        let engine = crate::container_engine::Engine::find(None).context("no container engine")?;
        engine.image_size(&built.reference())
    });
    match measured {
        Ok(bytes) => Figure::with_target(NAME, bytes as f64 / 1e6, "MB", Target::AtMost(15.0)),
        Err(err) => Figure::missing(NAME, "MB", target, format!("({err:#})")),
    }
}

/// Cores, memory and CPU model, for reading the figures later.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let gib = number_after::<f64>(&meminfo, "MemTotal:").map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown CPU".to_owned(), |(_, model)| {
            model.trim().to_owned()
        });
    format!("{cores} cores, {gib:.0} GiB, {model}")
}

fn write_report(report: &Report, dir: &Path) -> anyhow::Result<()> {
    let json: PathBuf = dir.join("report.json");
    let markdown = dir.join("report.md");
    std::fs::write(&json, report.to_json())
        .with_context(|| format!("writing {}", json.display()))?;
    std::fs::write(&markdown, report.to_markdown())
        .with_context(|| format!("writing {}", markdown.display()))?;
    #[allow(clippy::print_stdout)] // the report is this command's output
    {
        println!("{}", report.to_table().trim_end());
    }
    eprintln!(
        "xtask: wrote {} and {}",
        project::display_path(&json),
        project::display_path(&markdown)
    );
    Ok(())
}
