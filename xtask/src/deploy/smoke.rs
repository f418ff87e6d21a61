//! The smoke step: the smoke suite over HTTP, against the overlay's public URL or through
//! `kubectl port-forward` to the api Service.

use std::path::Path;
use std::time::Duration;

use super::report::Reporter;
use crate::interrupt::Interrupt;
use crate::kubectl::{Kubectl, Scope};
use crate::overlay::{self, OverlaySettings};

/// How the smoke step ended.
pub enum Smoked {
    Passed,
    Failed(String),
    Interrupted,
}

pub fn run(
    kubectl: &Kubectl,
    scope: &Scope,
    settings: &OverlaySettings,
    values: &Path,
    interrupt: &Interrupt,
    reporter: &mut Reporter,
) -> Smoked {
    match checks(kubectl, scope, settings, values, interrupt, reporter) {
        Ok(()) => Smoked::Passed,
        Err(_) if interrupt.happened() => Smoked::Interrupted,
        Err(reason) => Smoked::Failed(reason),
    }
}

fn checks(
    kubectl: &Kubectl,
    scope: &Scope,
    settings: &OverlaySettings,
    values: &Path,
    interrupt: &Interrupt,
    reporter: &mut Reporter,
) -> Result<(), String> {
    let deadline =
        Duration::from_secs(overlay::parse_timeout(&settings.timeouts.smoke).unwrap_or(60));
    let values = read_values(values);
    let (forward, url) = if settings.smoke_url.is_empty() {
        let port = service_port(&values);
        let local = crate::project::free_port().map_err(|e| format!("{e:#}"))?;
        let target = format!("service/{}", settings.release);
        let forward = kubectl
            .port_forward(scope, &target, local, port)
            .map_err(|e| format!("{e:#}"))?;
        reporter.line(&format!(
            "through kubectl port-forward {target} {local}:{port}"
        ));
        (Some(forward), format!("http://127.0.0.1:{local}"))
    } else {
        (None, settings.smoke_url.clone())
    };
    let options = smoke::SmokeOptions {
        base_url: url,
        ready_deadline: deadline,
        request_timeout: Duration::from_secs(10),
        // Through the public Ingress `/db-check` is not routed.
        database_check: settings.smoke_url.is_empty(),
        // The transfer's notification proves the worker and the broker, where they run.
        notification_deadline: runs_worker(&values).then_some(deadline),
    };
    // The suite runs on a thread of its own, so that a Ctrl-C ends the step at once
    // instead of after the suite's retries.
    let (done, report) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(smoke::run_blocking(&options));
    });
    let report = loop {
        match report.recv_timeout(Duration::from_millis(100)) {
            Ok(result) => break result.map_err(|e| e.to_string())?,
            Err(_) if interrupt.happened() => return Err("interrupted".to_owned()),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err("the smoke suite stopped without a report".to_owned());
            }
        }
    };
    reporter.line(report.to_table().trim_end());
    if report.passed {
        return Ok(());
    }
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect();
    let forward_errors = forward
        .as_ref()
        .map(|f| f.errors())
        .filter(|e| !e.is_empty());
    Err(match forward_errors {
        Some(errors) => format!(
            "failed checks: {} (port-forward: {errors})",
            failed.join(", ")
        ),
        None => format!("failed checks: {}", failed.join(", ")),
    })
}

/// The rendered values (`Null` when they cannot be read: the chart's defaults then apply).
fn read_values(values: &Path) -> serde_yaml::Value {
    std::fs::read_to_string(values)
        .ok()
        .and_then(|text| serde_yaml::from_str(&text).ok())
        .unwrap_or_default()
}

/// Whether the release runs `api worker` (the chart's `worker.enabled`, true unless the
/// values say otherwise).
fn runs_worker(values: &serde_yaml::Value) -> bool {
    values["worker"]["enabled"].as_bool().unwrap_or(true)
}

/// The api Service's port from rendered values (80 unless set).
fn service_port(values: &serde_yaml::Value) -> u16 {
    values["service"]["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(80)
}
