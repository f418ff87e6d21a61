//! `api`: the command line. Parsing and dispatch only; the work is in the library.

use std::process::ExitCode;
use std::time::Duration;

use api::config::{Config, parse_duration};
use api::{commands, telemetry};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "api",
    version,
    about = "User-management and banking service. Configured by environment variables (see README)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Relay the outbox to RabbitMQ and turn its events into notifications; serves
    /// /healthz, /readyz and /metrics on WORKER_PORT. Needs AMQP_URL (or AMQP_HOST and
    /// its parts).
    Worker,
    /// Apply pending database migrations and exit. Safe to run again and concurrently.
    Migrate,
    /// Exit 0 as soon as PostgreSQL answers a query; non-zero after the timeout.
    WaitDb {
        /// How long to keep trying, e.g. 500ms, 30s, 2m.
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        timeout: Duration,
        /// Also wait until every migration this binary knows is applied (the init step of
        /// api pods, so a new version takes no traffic before its schema exists).
        #[arg(long)]
        for_migrations: bool,
    },
    /// Create an administrator from ADMIN_USERNAME (default admin), ADMIN_EMAIL and
    /// ADMIN_PASSWORD.
    CreateAdmin,
    /// Run the smoke checks against a running api and print a table; non-zero on failure.
    /// Needs no database settings.
    Smoke {
        /// Base URL of the api, e.g. http://127.0.0.1:8000.
        #[arg(long)]
        url: String,
        /// How long readiness may take to turn 200.
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        ready_timeout: Duration,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// How long the banking round trip waits for its transfer's notification.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        notification_timeout: Duration,
        /// No `api worker` runs here: skip waiting for the notification.
        #[arg(long)]
        without_worker: bool,
    },
    /// Measure this machine's password hashing rate at the api's parameters: hashes per
    /// second with THREADS at once, to size PASSWORD_HASHING_CONCURRENCY and read sign-in
    /// throughput against. Needs no database settings.
    HashRate {
        /// Hashes computed at once (PASSWORD_HASHING_CONCURRENCY's meaning).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
        threads: u16,
        /// How long to measure, e.g. 2s.
        #[arg(long, default_value = "3s", value_parser = parse_duration)]
        duration: Duration,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Smoke {
        url,
        ready_timeout,
        json,
        notification_timeout,
        without_worker,
    }) = &cli.command
    {
        let notification_deadline = (!without_worker).then_some(*notification_timeout);
        return smoke(url, *ready_timeout, notification_deadline, *json);
    }
    if let Some(Command::HashRate { threads, duration }) = &cli.command {
        return hash_rate(usize::from(*threads), *duration);
    }
    let serving = matches!(cli.command, None | Some(Command::Serve));
    let working = matches!(cli.command, Some(Command::Worker));
    // Only a serving process signs tokens, and only the worker talks to RabbitMQ: the
    // others run without those settings.
    let config = match Config::from_env().and_then(|c| {
        if serving {
            c.jwt.clone().map(|_| c)
        } else if working {
            c.broker.clone().map(|_| c)
        } else {
            Ok(c)
        }
    }) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("api: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log);
    let Some(runtime) = runtime(tokio::runtime::Builder::new_multi_thread()) else {
        return ExitCode::FAILURE;
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => commands::serve(config).await,
            Command::Worker => commands::worker(config).await,
            Command::Migrate => commands::migrate(config).await,
            Command::WaitDb {
                timeout,
                for_migrations,
            } => commands::wait_db(config, timeout, for_migrations).await,
            Command::CreateAdmin => commands::create_admin(config).await,
            Command::Smoke { .. } | Command::HashRate { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "command failed");
            eprintln!("api: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn smoke(
    url: &str,
    ready_timeout: Duration,
    notification_deadline: Option<Duration>,
    json: bool,
) -> ExitCode {
    let options = smoke::SmokeOptions {
        base_url: url.to_owned(),
        ready_deadline: ready_timeout,
        request_timeout: Duration::from_secs(10),
        database_check: true,
        notification_deadline,
    };
    let report = match smoke::run_blocking(&options) {
        Ok(report) => report,
        Err(err) => {
            eprintln!("api: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let text = if json {
        report.to_json()
    } else {
        report.to_table()
    };
    #[allow(clippy::print_stdout)] // the report is this command's output
    {
        println!("{}", text.trim_end());
    }
    if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn hash_rate(threads: usize, duration: Duration) -> ExitCode {
    match api::users::password::hash_rate(threads, duration) {
        Ok(rate) => {
            #[allow(clippy::print_stdout)] // the figure is this command's output
            {
                println!(
                    "{{\"threads\":{threads},\"hashes\":{},\"seconds\":{:.3},\"per_second\":{:.2}}}",
                    rate.hashes,
                    rate.elapsed.as_secs_f64(),
                    rate.per_second()
                );
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("api: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime(mut builder: tokio::runtime::Builder) -> Option<tokio::runtime::Runtime> {
    builder
        .enable_all()
        .build()
        .map_err(|err| eprintln!("api: cannot start the async runtime: {err}"))
        .ok()
}
