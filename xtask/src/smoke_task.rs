//! `cargo xtask smoke --url URL`: the smoke suite (the `smoke` crate, the same code as
//! `api smoke` and the deploy step) against any running api.

use std::time::Duration;

use anyhow::bail;

use crate::deploy::Output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the api, e.g. http://127.0.0.1:8000 or https://api.example.com.
    #[arg(long)]
    pub url: String,
    /// How long readiness may take to turn 200, e.g. 30s or 2m.
    #[arg(long, default_value = "60s")]
    pub ready_timeout: String,
    /// The URL is the public Ingress, where `/db-check` is not routed: leave the database
    /// check out (readiness and the user round trip still reach the database).
    #[arg(long)]
    pub public: bool,
    /// No `api worker` runs there: skip waiting for the banking round trip's notification.
    #[arg(long)]
    pub without_worker: bool,
    /// `json` prints the report as JSON instead of a table.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let deadline = crate::overlay::parse_timeout(&args.ready_timeout)
        .map_err(|err| anyhow::anyhow!("--ready-timeout {:?}: {err}", args.ready_timeout))?;
    let report = smoke::run_blocking(&smoke::SmokeOptions {
        base_url: args.url.clone(),
        ready_deadline: Duration::from_secs(deadline),
        request_timeout: Duration::from_secs(10),
        database_check: !args.public,
        notification_deadline: (!args.without_worker).then_some(Duration::from_secs(30)),
    })?;
    let text = match args.output {
        Output::Json => report.to_json(),
        Output::Text => report.to_table(),
    };
    #[allow(clippy::print_stdout)] // the report is this command's output
    {
        println!("{}", text.trim_end());
    }
    if !report.passed {
        bail!("smoke tests failed against {}", args.url);
    }
    Ok(())
}
