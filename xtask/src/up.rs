//! `cargo xtask up`: the platform on this machine: PostgreSQL, Redis (for the attempt
//! limits; optional), RabbitMQ (for the worker; optional), migrations, the api (serving
//! the web app, built first) and the worker.

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::postgres::Database;
use crate::{http_probe, project};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port for the api.
    #[arg(long, default_value_t = 8000, env = "PORT")]
    port: u16,
    /// Port for the worker's health and metrics.
    #[arg(long, default_value_t = 8001, env = "WORKER_PORT")]
    worker_port: u16,
    /// Build and run the optimised binary.
    #[arg(long)]
    release: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let interrupted = crate::interrupt::Interrupt::trap();
    let sh = Shell::new()?;
    sh.change_dir(project::root());

    project::step("PostgreSQL");
    let database = Database::provide("up")?;
    eprintln!("    using {}", database.describe());

    project::step("Redis");
    let redis = crate::redis::Redis::provide(None)?;
    eprintln!("    using {}", redis.describe());

    project::step("RabbitMQ");
    let rabbitmq = crate::rabbitmq::RabbitMq::provide(None)?;
    eprintln!("    using {}", rabbitmq.describe());

    project::step("the web app");
    if let Err(err) = crate::web_app::build() {
        // The api still runs; /app/ then says how to build the app.
        eprintln!("    not built, so /app/ shows how to build it: {err:#}");
    }

    project::step("building the api");
    let profile: &[&str] = if args.release { &["--release"] } else { &[] };
    cmd!(sh, "cargo build --quiet --package api {profile...}")
        .run()
        .context("building the api failed")?;
    let binary = project::target_dir()
        .join(if args.release { "release" } else { "debug" })
        .join("api");

    project::step("applying migrations");
    let api = |subcommand: &str| {
        let mut command = Command::new(&binary);
        command
            .arg(subcommand)
            .env("DATABASE_URL", database.url())
            .env("PORT", args.port.to_string())
            .env("APP_ENV", "dev")
            .env("LOG_FORMAT", "text")
            .env("WORKER_PORT", args.worker_port.to_string());
        if let Some(url) = redis.url() {
            command.env("REDIS_URL", url);
        }
        if let Some(url) = rabbitmq.url() {
            command.env("AMQP_URL", url);
        }
        command
    };
    let status = api("migrate").status().context("running api migrate")?;
    if !status.success() {
        bail!("api migrate failed ({status}); see the lines above");
    }

    project::step("starting the api");
    let mut processes = Vec::new();
    let server = api("serve").spawn().context("starting api serve")?;
    let address = SocketAddr::from(([127, 0, 0, 1], args.port));
    processes.push(("the api", server));
    let worker_address = SocketAddr::from(([127, 0, 0, 1], args.worker_port));
    let started =
        wait_until_ready(&mut processes[0].1, "the api", address, &interrupted).and_then(|()| {
            if rabbitmq.url().is_none() {
                return Ok(());
            }
            project::step("starting the worker");
            let worker = api("worker").spawn().context("starting api worker")?;
            processes.push(("the worker", worker));
            wait_until_ready(
                &mut processes[1].1,
                "the worker",
                worker_address,
                &interrupted,
            )
        });
    if let Err(err) = started {
        for (_, process) in &mut processes {
            stop(process);
        }
        return Err(err);
    }
    print_urls(address, rabbitmq.url().map(|_| worker_address), &database);

    // Ctrl-C reaches the processes too (same process group); they drain and exit.
    let exited = loop {
        if let Some((name, status)) = processes
            .iter_mut()
            .find_map(|(name, process)| Some((*name, process.try_wait().ok()??)))
        {
            break Some((name, status));
        }
        if interrupted.happened() {
            break None;
        }
        sleep(Duration::from_millis(200));
    };
    project::step("stopping");
    for (_, process) in &mut processes {
        stop(process);
    }
    drop(database);
    drop(redis);
    drop(rabbitmq);
    match exited {
        Some((name, status)) if !status.success() => {
            bail!("{name} exited unexpectedly ({status}); see its log above")
        }
        _ => {
            eprintln!("xtask: stopped");
            Ok(())
        }
    }
}

fn wait_until_ready(
    server: &mut Child,
    name: &str,
    address: SocketAddr,
    interrupted: &crate::interrupt::Interrupt,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.try_wait()? {
            bail!(
                "{name} exited during start-up ({status}); is port {} free?",
                address.port()
            );
        }
        if interrupted.happened() {
            bail!("interrupted");
        }
        if http_probe::get_status(address, "/readyz").is_ok_and(|status| status == 200) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{name} did not become ready on {address} within 30s");
        }
        sleep(Duration::from_millis(100));
    }
}

/// Asks a process to drain (SIGTERM), and waits for it.
fn stop(server: &mut Child) -> std::process::ExitStatus {
    if let Ok(Some(status)) = server.try_wait() {
        return status;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    match server.wait() {
        Ok(status) => status,
        Err(_) => {
            let _ = server.kill();
            server.wait().unwrap_or_default()
        }
    }
}

fn print_urls(address: SocketAddr, worker: Option<SocketAddr>, database: &Database) {
    let base = format!("http://{address}");
    let worker = match worker {
        Some(worker) => format!("http://{worker}/readyz (metrics: /metrics)"),
        None => "not running: no RabbitMQ (events wait in the outbox)".to_owned(),
    };
    eprintln!(
        "\n  The platform is up.\n\n  \
         web app      {base}/app/\n  \
         api          {base}/\n  \
         docs         {base}/docs/\n  \
         users        {base}/api/v1/users\n  \
         accounts     {base}/api/v1/accounts\n  \
         liveness     {base}/healthz\n  \
         readiness    {base}/readyz\n  \
         database     {base}/db-check\n  \
         worker       {worker}\n  \
         PostgreSQL   {}\n\n  \
         Press Ctrl-C to stop everything.\n",
        match database {
            // The throwaway server has no password: its URL is safe to show.
            Database::Throwaway(_) => database.url().to_owned(),
            Database::External(_) => database.describe(),
        }
    );
}
