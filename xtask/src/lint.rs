//! `cargo xtask lint`: the chart checked with every overlay: `helm lint --strict`, the
//! rendered manifests validated against the Kubernetes schemas (strict: unknown fields
//! are errors) and scanned for security findings, and the chart README's parameter
//! table current.

use std::process::Command;

use anyhow::{Context, bail};

use crate::helm::{Helm, Release};
use crate::tools::Tools;
use crate::{chart_docs, overlay, project, render, security_scan};

/// A well-formed digest for rendering overlays that deploy only by digest; no such image
/// exists, and none is needed to check the chart.
const LINT_DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

pub fn run() -> anyhow::Result<()> {
    let tools = Tools::ensure()?;
    let helm = Helm::new(tools.helm.clone());
    let chart = project::chart_dir();
    let mut failures = Vec::new();
    for env in overlay::environments(&overlay::overlays_dir())? {
        match lint_env(&tools, &helm, &chart, &env) {
            Ok(accepted) => eprintln!(
                "xtask: {env}: helm lint, schema validation, security scan: ok ({accepted} accepted findings, see xtask/src/security_scan.rs)"
            ),
            Err(err) => {
                eprintln!("xtask: {env}: FAILED: {err:#}");
                failures.push(env);
            }
        }
    }
    for accepted in security_scan::ACCEPTED {
        eprintln!(
            "xtask: accepted {} on {} in {}: {}",
            accepted.check,
            accepted.kinds.join(", "),
            accepted.envs.join(", "),
            accepted.reason
        );
    }
    if chart_docs::update_readme(&chart, true)? {
        eprintln!("xtask: chart README: FAILED: out of date; run `cargo xtask chart-docs`");
        failures.push("chart README".to_owned());
    }
    if !failures.is_empty() {
        bail!("lint failed for: {}", failures.join(", "));
    }
    Ok(())
}

/// Lints one overlay; returns how many security findings were accepted.
fn lint_env(
    tools: &Tools,
    helm: &Helm,
    chart: &std::path::Path,
    env: &str,
) -> anyhow::Result<usize> {
    let out_dir = project::target_dir().join("lint").join(env);
    let overlay = overlay::load(&overlay::overlays_dir(), env)?;
    // Checked as deployed: by digest where the overlay deploys only by digest.
    let digest = if overlay.settings.image.require_digest {
        LINT_DIGEST
    } else {
        ""
    };
    let rendered = render::render(tools, env, Some("lint".to_owned()), digest, Some(out_dir))?;
    helm.lint(&Release {
        name: &overlay.settings.release,
        namespace: &overlay.settings.namespace,
        chart,
        values: &rendered.values,
    })?;
    let output = Command::new(&tools.kubernetes_validate)
        .args(["--strict", "--quiet"])
        .arg(&rendered.manifests)
        .output()
        .context("running kubernetes-validate")?;
    if !output.status.success() {
        bail!(
            "manifests do not match the Kubernetes schemas:\n{}{}",
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    security_scan::check(&tools.scanner, env, &rendered.manifests)
}
