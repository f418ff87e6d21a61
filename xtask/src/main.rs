//! `cargo xtask`: project automation in Rust, so the same steps run on a laptop and in CI.
//! Dispatch only; each task lives in its own module.

mod bench;
mod build;
mod chart_docs;
mod cluster;
mod container_engine;
mod deploy;
mod git;
mod helm;
mod http_probe;
mod interrupt;
mod junit;
mod kubectl;
mod lint;
mod overlay;
#[cfg(test)]
mod pipeline_check;
mod postgres;
mod project;
mod rabbitmq;
mod redis;
mod release;
mod render;
mod scratch_database;
mod security_scan;
mod smoke_task;
mod sqlx_prepare;
mod test;
mod timestamp;
mod tools;
mod up;
mod web_app;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Run, test, render, lint, deploy and operate the platform",
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Bring the platform up locally: PostgreSQL (DATABASE_URL or a throwaway server),
    /// migrations, the api. Stops everything on Ctrl-C.
    Up(up::Args),
    /// The whole test suite, as CI runs it: fmt check, clippy -D warnings, all tests on a
    /// real PostgreSQL (DATABASE_URL or a throwaway server).
    Test(test::Args),
    /// Measure the api and the deployer against baselines from the same run (pgbench,
    /// the machine's hash rate) and judge the performance targets; --quick for a first look.
    Bench(bench::Args),
    /// Render an overlay: target/deploy/<env>/values.yaml and, through `helm template`,
    /// target/deploy/<env>/manifests.yaml.
    Render(render::Args),
    /// Lint the chart with every overlay: helm lint --strict and strict Kubernetes schema
    /// validation of the rendered manifests; check the chart README is current.
    Lint,
    /// Regenerate the parameter table of the chart README from values.yaml.
    ChartDocs(chart_docs::Args),
    /// Re-derive api/.sqlx, the compile-time check of the api's SQL, from a fresh
    /// database with the migrations applied (--check: only verify it is current).
    SqlxPrepare(sqlx_prepare::Args),
    /// Deploy to an environment: preflight, lock, render, helm upgrade --install, watch
    /// the rollout, diagnose failures, smoke-test, roll back on failure, record the
    /// outcome. Exit codes: 1 the image build failed, 3 refused before changing anything,
    /// 4 deploy failed, 5 smoke tests failed, 130 interrupted.
    Deploy(deploy::Args),
    /// Build the api image (static binary FROM scratch) with docker or podman, tagged with
    /// the git revision; --push pushes it and prints the reference with its digest.
    Build(build::Args),
    /// Run the smoke suite against a running api (liveness, readiness, /db-check, a user
    /// round trip) and print a table of checks with timings.
    Smoke(smoke_task::Args),
    /// An environment's release: revision, status, image, pods ready.
    Status(release::StatusArgs),
    /// A local kind cluster for the dev overlay: up, down, load an image.
    Cluster(cluster::Args),
    /// Roll an environment back to the previous live revision (or --revision N); also the
    /// way out of a release stuck in pending-upgrade.
    Rollback(release::RollbackArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Up(args) => up::run(&args),
        Task::Test(args) => test::run(&args),
        Task::Bench(args) => bench::run(&args),
        Task::Render(args) => render::run(&args),
        Task::Lint => lint::run(),
        Task::ChartDocs(args) => chart_docs::run(&args),
        Task::SqlxPrepare(args) => sqlx_prepare::run(&args),
        Task::Deploy(args) => deploy::run(&args),
        Task::Build(args) => build::run(&args),
        Task::Smoke(args) => smoke_task::run(&args),
        Task::Status(args) => release::status(&args),
        Task::Rollback(args) => release::rollback(&args),
        Task::Cluster(args) => cluster::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            match err.downcast_ref::<deploy::Failure>() {
                Some(failure) => ExitCode::from(failure.exit_code()),
                None => ExitCode::FAILURE,
            }
        }
    }
}
