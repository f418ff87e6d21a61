//! `cargo xtask up`: the platform on this machine: PostgreSQL, Redis (for the attempt
//! limits; optional), migrations, the api.

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
            .env("LOG_FORMAT", "text");
        if let Some(url) = redis.url() {
            command.env("REDIS_URL", url);
        }
        command
    };
    let status = api("migrate").status().context("running api migrate")?;
    if !status.success() {
        bail!("api migrate failed ({status}); see the lines above");
    }

    project::step("starting the api");
    let mut server = api("serve").spawn().context("starting api serve")?;
    let address = SocketAddr::from(([127, 0, 0, 1], args.port));
    if let Err(err) = wait_until_ready(&mut server, address, &interrupted) {
        stop(&mut server);
        return Err(err);
    }
    print_urls(address, &database);

    // Ctrl-C reaches the api too (same process group); it drains and exits by itself.
    let status = loop {
        if let Some(status) = server.try_wait()? {
            break status;
        }
        if interrupted.happened() {
            break stop(&mut server);
        }
        sleep(Duration::from_millis(200));
    };
    project::step("stopping");
    drop(database);
    drop(redis);
    if interrupted.happened() || status.success() {
        eprintln!("xtask: stopped");
        Ok(())
    } else {
        bail!("the api exited unexpectedly ({status}); see its log above")
    }
}

fn wait_until_ready(
    server: &mut Child,
    address: SocketAddr,
    interrupted: &crate::interrupt::Interrupt,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.try_wait()? {
            bail!(
                "the api exited during start-up ({status}); is port {} free?",
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
            bail!("the api did not become ready on {address} within 30s");
        }
        sleep(Duration::from_millis(100));
    }
}

/// Asks the api to drain (SIGTERM), and waits for it.
fn stop(server: &mut Child) -> std::process::ExitStatus {
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

fn print_urls(address: SocketAddr, database: &Database) {
    let base = format!("http://{address}");
    eprintln!(
        "\n  The platform is up.\n\n  \
         api          {base}/\n  \
         docs         {base}/docs/\n  \
         users        {base}/api/v1/users\n  \
         liveness     {base}/healthz\n  \
         readiness    {base}/readyz\n  \
         database     {base}/db-check\n  \
         PostgreSQL   {}\n\n  \
         Press Ctrl-C to stop everything.\n",
        match database {
            // The throwaway server has no password: its URL is safe to show.
            Database::Throwaway(_) => database.url().to_owned(),
            Database::External(_) => database.describe(),
        }
    );
}
