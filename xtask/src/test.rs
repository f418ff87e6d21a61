//! `cargo xtask test`: what CI runs, runnable by anyone: formatting, lints, then every
//! test against a real PostgreSQL, Redis and RabbitMQ, the web app's component tests, and
//! its flows in a real browser.

use std::time::Instant;

use anyhow::Context;
use xshell::{Shell, cmd};

use crate::postgres::Database;
use crate::project;

/// Where the image under test is tagged (never pushed).
const TEST_IMAGE_REPOSITORY: &str = "localhost/api-test";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Skip the fmt and clippy checks (quicker local iterations; CI never skips them).
    #[arg(long)]
    no_lint: bool,
    /// Also write the test results as a JUnit XML report to this file (for CI servers).
    #[arg(long)]
    junit: Option<std::path::PathBuf>,
    /// Extra arguments for `cargo test`, e.g. a test name filter.
    #[arg(last = true)]
    cargo_test_args: Vec<String>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let interrupted = crate::interrupt::Interrupt::trap();
    let sh = Shell::new()?;
    sh.change_dir(project::root());
    if !args.no_lint {
        project::step("cargo fmt --check");
        cmd!(sh, "cargo fmt --all -- --check")
            .run()
            .context("code is not formatted; run `cargo fmt --all` and commit the result")?;
        project::step("cargo clippy -D warnings");
        cmd!(
            sh,
            "cargo clippy --workspace --all-targets --quiet -- -D warnings"
        )
        .run()
        .context("clippy found problems (listed above)")?;
    }

    project::step("PostgreSQL for the tests");
    let database = Database::provide("test")?;
    eprintln!("    using {}", database.describe());

    project::step("the api's SQL against the migrated schema (api/.sqlx)");
    crate::sqlx_prepare::check(&database)?;

    project::step(
        "tools for the chart, image, load and browser tests (helm, kubectl, kubernetes-validate, podman or docker, wrk, chromium)",
    );
    let tools = crate::tools::Tools::ensure_with_browser()?;
    let chromium = tools.chromium.as_ref().context(
        "the web app's browser tests need Chromium: install it (Debian: apt-get install chromium) or set CHROMIUM to its path",
    )?;

    // Before the long builds: they need Node.js and the packages too.
    project::step("the web app's component tests (vitest)");
    crate::web_app::component_tests()?;

    project::step("Redis for the tests");
    let redis = crate::redis::Redis::provide(tools.redis_server.as_deref())?;
    eprintln!("    using {}", redis.describe());

    project::step("RabbitMQ for the tests");
    let rabbitmq = crate::rabbitmq::RabbitMq::provide(tools.rabbitmq_server.as_deref())?;
    let Some(amqp_url) = rabbitmq.url() else {
        anyhow::bail!(
            "the worker's tests need RabbitMQ: install rabbitmq-server (Debian/Ubuntu: apt-get install rabbitmq-server) or set AMQP_URL"
        );
    };
    eprintln!("    using {}", rabbitmq.describe());

    project::step("the api image (with the web app), for the image tests");
    let engine = tools
        .engine
        .as_ref()
        .context("no container engine for the image tests: install podman (Debian/Ubuntu: apt-get install podman runc) or docker")?;
    let engine = engine.to_string_lossy().into_owned();
    let image = crate::build::build(&crate::build::Args {
        push: false,
        digest_file: None,
        tag: Some("test".to_owned()),
        registry: None,
        repository: Some(TEST_IMAGE_REPOSITORY.to_owned()),
        engine: Some(engine.clone()),
        allow_dirty: true,
        binary: None,
    })?;

    project::step("cargo test");
    let extra = &args.cargo_test_args;
    let mut command = std::process::Command::new("cargo");
    command
        .args(["test", "--workspace"])
        .args(extra)
        .current_dir(project::root())
        .env("DATABASE_URL", database.url())
        .env("AMQP_URL", &amqp_url)
        .env("API_TEST_IMAGE", image.reference())
        .env("API_TEST_ENGINE", &engine)
        .env("API_TEST_CHROMIUM", chromium);
    if let Some(wrk) = &tools.wrk {
        command.env("API_TEST_WRK", wrk);
    }
    if let Some(url) = redis.url() {
        command.env("REDIS_URL", url);
    }
    let (result, lines) = run_teed(command);
    drop(database);
    drop(redis);
    drop(rabbitmq);
    if let Some(path) = &args.junit {
        let report = crate::junit::report(&lines);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, report).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("xtask: JUnit report {}", path.display());
    }
    if interrupted.happened() {
        anyhow::bail!("interrupted");
    }
    let (passed, failed) = totals(&lines);
    if !result? {
        eprintln!("tests: {passed} passed, {failed} failed");
        anyhow::bail!("tests failed (see above)");
    }
    eprintln!("xtask: all checks passed in {:.0?}", started.elapsed());
    // One closing line for every test binary together, for people and CI alike.
    eprintln!("tests: {passed} passed, {failed} failed");
    Ok(())
}

/// Passed and failed tests over every `test result:` line cargo test printed.
fn totals(lines: &[String]) -> (u64, u64) {
    let count = |line: &str, word: &str| {
        line.split(';')
            .find_map(|part| {
                part.trim()
                    .trim_start_matches("test result: ok.")
                    .trim_start_matches("test result: FAILED.")
                    .trim()
                    .strip_suffix(word)
            })
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    lines
        .iter()
        .filter(|l| l.starts_with("test result:"))
        .fold((0, 0), |(p, f), l| {
            (p + count(l, "passed"), f + count(l, "failed"))
        })
}

/// Runs `command`, echoing its stdout and stderr as they come and keeping every line (in
/// arrival order) for the JUnit report. `Ok(true)` when it succeeded.
fn run_teed(mut command: std::process::Command) -> (anyhow::Result<bool>, Vec<String>) {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let mut child = match command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(err) => {
            return (
                Err(anyhow::Error::new(err).context("running cargo test")),
                vec![],
            );
        }
    };
    let (tx, rx) = std::sync::mpsc::channel::<(bool, String)>();
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send((true, line));
            }
        }));
    }
    if let Some(stderr) = child.stderr.take() {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send((false, line));
            }
        }));
    }
    drop(tx);
    let mut lines = Vec::new();
    for (is_stdout, line) in rx {
        if is_stdout {
            let _ = writeln!(std::io::stdout(), "{line}");
        } else {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
        lines.push(line);
    }
    for reader in readers {
        let _ = reader.join();
    }
    let status = child
        .wait()
        .map(|s| s.success())
        .map_err(anyhow::Error::new);
    (status, lines)
}

#[cfg(test)]
mod tests {
    #[test]
    fn totals_add_up_every_test_binary() {
        let lines: Vec<String> = [
            "test result: ok. 30 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.08s",
            "running 2 tests",
            "test result: FAILED. 41 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 48.85s",
            "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(super::totals(&lines), (71, 1));
    }
}
