//! The record step: a JSON record of what happened, under target/deploy/<env>/.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub step: &'static str,
    pub outcome: String,
    pub duration_ms: u128,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeployRecord {
    pub env: String,
    pub release: String,
    pub namespace: String,
    pub kube_context: String,
    /// The helm revision this deploy made, when it got that far.
    pub revision: Option<u32>,
    pub image: String,
    pub image_digest: String,
    pub git_revision: String,
    pub who: String,
    pub started_at: String,
    pub finished_at: String,
    pub dry_run: bool,
    /// succeeded, dry_run_ok, preflight_refused, build_failed, deploy_failed, smoke_failed,
    /// interrupted.
    pub outcome: String,
    /// What was done about a failure: a rollback to revision N, an uninstall, nothing.
    pub recovery: Option<String>,
    pub reasons: Vec<String>,
    pub steps: Vec<StepRecord>,
}

/// Writes the record as `<timestamp>-<outcome>.json` and `last.json` in `dir`.
pub fn write(dir: &Path, record: &DeployRecord) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_string_pretty(record)?;
    let stamp: String = record
        .started_at
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let path = dir.join(format!("deploy-{stamp}-{}.json", record.outcome));
    std::fs::write(&path, &json).with_context(|| format!("writing {}", path.display()))?;
    std::fs::write(dir.join("last.json"), &json)
        .with_context(|| format!("writing {}", dir.display()))?;
    Ok(path)
}

/// Who deploys: the git user, else the login name; and on which host.
pub fn who() -> String {
    crate::git::user_email()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".to_owned())
}
