//! `cargo xtask test`: what CI runs, runnable by anyone: formatting, lints, then every
//! test against a real PostgreSQL.

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
    /// Extra arguments for `cargo test`, e.g. a test name filter.
    #[arg(last = true)]
    cargo_test_args: Vec<String>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let interrupted = project::trap_interrupts();
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

    project::step(
        "tools for the chart and image tests (helm, kubectl, kubernetes-validate, podman or docker)",
    );
    let tools = crate::tools::Tools::ensure()?;

    project::step("the api image, for the image tests");
    let engine = tools
        .engine
        .as_ref()
        .context("no container engine for the image tests: install podman (Debian/Ubuntu: apt-get install podman runc) or docker")?;
    let engine = engine.to_string_lossy().into_owned();
    let image = crate::build::build(&crate::build::Args {
        push: false,
        tag: Some("test".to_owned()),
        registry: None,
        repository: Some(TEST_IMAGE_REPOSITORY.to_owned()),
        engine: Some(engine.clone()),
        allow_dirty: true,
        binary: None,
    })?;

    project::step("cargo test");
    let extra = &args.cargo_test_args;
    let result = cmd!(sh, "cargo test --workspace {extra...}")
        .env("DATABASE_URL", database.url())
        .env("API_TEST_IMAGE", image.reference())
        .env("API_TEST_ENGINE", &engine)
        .run();
    drop(database);
    if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
        anyhow::bail!("interrupted");
    }
    result.context("tests failed (see above)")?;
    eprintln!("xtask: all checks passed in {:.0?}", started.elapsed());
    Ok(())
}
