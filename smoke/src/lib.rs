//! The smoke suite against a running api. One implementation behind `api smoke --url`
//! (so the api image runs it, e.g. in the chart's `helm test` pod), `cargo xtask smoke`
//! and the smoke step of `cargo xtask deploy`. Checks liveness,
//! readiness (retried until a deadline), `/db-check`, a full user round trip with a
//! unique user that it deletes again, and a banking round trip (two accounts, a deposit,
//! a transfer, its notification arriving through the worker within a deadline, the money
//! withdrawn and the accounts closed again), then prints a table of checks with timings.

mod checks;

use std::time::{Duration, Instant};

use serde::Serialize;

pub use checks::run_all;

/// How to run the suite.
#[derive(Debug, Clone)]
pub struct SmokeOptions {
    /// Base URL of the api, e.g. `http://api.ns.svc` or `https://api.example.com`.
    pub base_url: String,
    /// How long readiness may take to turn 200.
    pub ready_deadline: Duration,
    /// Limit for each single request.
    pub request_timeout: Duration,
    /// Whether `/db-check` is reachable at `base_url`: inside the cluster and through a
    /// port-forward it is; through the public Ingress it is not routed (readiness and the
    /// user round trip still go through the database there).
    pub database_check: bool,
    /// How long the banking round trip waits for its transfer's notification (made by
    /// `api worker` through RabbitMQ); `None` where no worker runs, which skips the wait.
    pub notification_deadline: Option<Duration>,
}

/// The outcome of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: &'static str,
    pub passed: bool,
    pub duration_ms: f64,
    pub detail: String,
}

/// All checks of one run.
#[derive(Debug, Clone, Serialize)]
pub struct SmokeReport {
    pub base_url: String,
    pub passed: bool,
    pub checks: Vec<CheckResult>,
}

/// Runs the suite on a runtime of its own, for callers without one (the `api smoke` and
/// `cargo xtask` commands).
pub fn run_blocking(options: &SmokeOptions) -> std::io::Result<SmokeReport> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(run_all(options)))
}

impl SmokeReport {
    /// The report for machines.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A fixed-width table, one check per row, then a verdict line.
    pub fn to_table(&self) -> String {
        let width = self
            .checks
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let mut out = format!("smoke tests against {}\n", self.base_url);
        out.push_str(&format!(
            "{:<width$}  {:<6}  {:>9}  detail\n",
            "check", "result", "time"
        ));
        for check in &self.checks {
            out.push_str(&format!(
                "{:<width$}  {:<6}  {:>7.0}ms  {}\n",
                check.name,
                if check.passed { "ok" } else { "FAIL" },
                check.duration_ms,
                check.detail
            ));
        }
        let failed = self.checks.iter().filter(|c| !c.passed).count();
        out.push_str(&format!(
            "{} passed, {} failed\n",
            self.checks.len() - failed,
            failed
        ));
        out
    }
}

/// Times `check` and records its outcome.
async fn timed<F>(name: &'static str, check: F) -> CheckResult
where
    F: Future<Output = Result<String, String>>,
{
    let started = Instant::now();
    let outcome = check.await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(detail) => CheckResult {
            name,
            passed: true,
            duration_ms,
            detail,
        },
        Err(detail) => CheckResult {
            name,
            passed: false,
            duration_ms,
            detail,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_check_and_a_verdict() {
        let report = SmokeReport {
            base_url: "http://x".into(),
            passed: false,
            checks: vec![
                CheckResult {
                    name: "liveness",
                    passed: true,
                    duration_ms: 3.2,
                    detail: "200".into(),
                },
                CheckResult {
                    name: "user round trip",
                    passed: false,
                    duration_ms: 12.0,
                    detail: "create: 500".into(),
                },
            ],
        };
        let table = report.to_table();
        assert!(table.contains("liveness         ok"), "{table}");
        assert!(table.contains("user round trip  FAIL"), "{table}");
        assert!(table.ends_with("1 passed, 1 failed\n"), "{table}");
    }
}
