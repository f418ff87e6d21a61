//! Every helm command line xtask runs, in one place. Cluster-facing calls always name
//! the kube context explicitly, so a context switched mid-deploy cannot redirect them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::Context;
use serde::Deserialize;

pub struct Helm {
    program: PathBuf,
}

/// What a chart is installed as.
pub struct Release<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub chart: &'a Path,
    pub values: &'a Path,
}

/// Where a release lives in a cluster.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub release: &'a str,
    pub namespace: &'a str,
    pub context: &'a str,
}

/// Helm's major version, where flags differ (`--atomic` became `--rollback-on-failure`,
/// `--wait` took a strategy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelmMajor {
    V3,
    V4,
}

/// One entry of `helm history`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Revision {
    pub revision: u32,
    pub status: String,
    #[serde(default)]
    pub chart: String,
    #[serde(default)]
    pub app_version: String,
    #[serde(default)]
    pub description: String,
}

/// Why a cluster call failed, when the reason matters for the next step.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("the cluster is unreachable: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Failed(String),
}

impl Revision {
    #[cfg(test)]
    pub fn new(revision: u32, status: &str) -> Self {
        Self {
            revision,
            status: status.to_owned(),
            chart: String::new(),
            app_version: String::new(),
            description: String::new(),
        }
    }
}

impl Helm {
    pub fn new(program: PathBuf) -> Self {
        Self { program }
    }

    /// `helm template`: the manifests the release would apply.
    pub fn template(&self, release: &Release) -> anyhow::Result<String> {
        self.output(&[
            "template",
            release.name,
            &arg(release.chart),
            "--namespace",
            release.namespace,
            "--values",
            &arg(release.values),
        ])
    }

    /// `helm lint --strict` with the release's values.
    pub fn lint(&self, release: &Release) -> anyhow::Result<String> {
        self.output(&[
            "lint",
            &arg(release.chart),
            "--strict",
            "--namespace",
            release.namespace,
            "--values",
            &arg(release.values),
        ])
    }

    pub fn major_version(&self) -> anyhow::Result<HelmMajor> {
        let version = self.output(&["version", "--template", "{{.Version}}"])?;
        parse_major(&version)
            .with_context(|| format!("unsupported helm version {version:?}; use helm 3 or 4"))
    }

    /// The release's revisions, oldest first; empty when it was never installed.
    pub fn history(&self, target: &Target) -> Result<Vec<Revision>, ClusterError> {
        let result = self.run(&[
            "history",
            target.release,
            "--namespace",
            target.namespace,
            "--kube-context",
            target.context,
            "--output",
            "json",
            "--max",
            "20",
        ]);
        match result {
            Ok(stdout) => serde_json::from_str(&stdout)
                .map_err(|err| ClusterError::Failed(format!("unreadable helm history: {err}"))),
            Err(ClusterError::Failed(message)) if message.contains("release: not found") => {
                Ok(vec![])
            }
            Err(err) => Err(err),
        }
    }

    /// `helm upgrade --install` without helm's own waiting or rollback: xtask watches the
    /// rollout itself so it can read why pods fail before anything is rolled back.
    /// Runs in its own process group, so a Ctrl-C reaching xtask does not cut helm off
    /// halfway through writing the release (which would leave it `pending-upgrade`).
    pub fn upgrade_install(
        &self,
        release: &Release,
        context: &str,
        timeout: &str,
    ) -> Result<String, ClusterError> {
        let mut args = upgrade_args(release, context);
        args.extend(
            [
                "--create-namespace",
                "--timeout",
                timeout,
                "--history-max",
                "10",
            ]
            .map(str::to_owned),
        );
        self.run_detached(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// A dry run of the upgrade against the cluster (`--dry-run=server`).
    pub fn upgrade_dry_run(
        &self,
        release: &Release,
        context: &str,
    ) -> Result<String, ClusterError> {
        let mut args = upgrade_args(release, context);
        args.push("--dry-run=server".to_owned());
        self.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// A dry run that needs no cluster (`helm install --dry-run=client`).
    pub fn install_dry_run_offline(&self, release: &Release) -> anyhow::Result<String> {
        self.output(&[
            "install",
            release.name,
            &arg(release.chart),
            "--namespace",
            release.namespace,
            "--values",
            &arg(release.values),
            "--dry-run=client",
        ])
    }

    /// `helm rollback` to `revision`, waiting for the old pods like a deploy would.
    pub fn rollback(
        &self,
        target: &Target,
        revision: u32,
        timeout: &str,
        major: HelmMajor,
    ) -> Result<String, ClusterError> {
        let revision = revision.to_string();
        let wait = match major {
            HelmMajor::V3 => "--wait",
            HelmMajor::V4 => "--wait=watcher",
        };
        self.run_detached(&[
            "rollback",
            target.release,
            &revision,
            "--namespace",
            target.namespace,
            "--kube-context",
            target.context,
            wait,
            "--timeout",
            timeout,
        ])
    }

    pub fn uninstall(&self, target: &Target) -> Result<String, ClusterError> {
        self.run_detached(&[
            "uninstall",
            target.release,
            "--namespace",
            target.namespace,
            "--kube-context",
            target.context,
        ])
    }

    fn output(&self, args: &[&str]) -> anyhow::Result<String> {
        self.run(args).map_err(|err| {
            anyhow::anyhow!(
                "helm {} failed: {err}",
                args.first().copied().unwrap_or_default()
            )
        })
    }

    fn run(&self, args: &[&str]) -> Result<String, ClusterError> {
        let output = Command::new(&self.program).args(args).output();
        self.finish(output)
    }

    fn run_detached(&self, args: &[&str]) -> Result<String, ClusterError> {
        use std::os::unix::process::CommandExt;
        let output = Command::new(&self.program)
            .args(args)
            .process_group(0)
            .output();
        self.finish(output)
    }

    fn finish(&self, output: std::io::Result<Output>) -> Result<String, ClusterError> {
        let output = output.map_err(|err| {
            ClusterError::Failed(format!("running {}: {err}", self.program.display()))
        })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            return Ok(stdout);
        }
        let message = format!(
            "{}{}",
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        if message.contains("cluster unreachable") || message.contains("connection refused") {
            Err(ClusterError::Unreachable(message))
        } else {
            Err(ClusterError::Failed(message))
        }
    }
}

/// `upgrade --install` of `release` in `context`, the part every upgrade shares.
fn upgrade_args(release: &Release, context: &str) -> Vec<String> {
    [
        "upgrade",
        "--install",
        release.name,
        &arg(release.chart),
        "--namespace",
        release.namespace,
        "--kube-context",
        context,
        "--values",
        &arg(release.values),
    ]
    .map(str::to_owned)
    .to_vec()
}

fn parse_major(version: &str) -> Option<HelmMajor> {
    match version.trim().trim_start_matches('v').split('.').next()? {
        "3" => Some(HelmMajor::V3),
        "4" => Some(HelmMajor::V4),
        _ => None,
    }
}

fn arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The revision to roll back to: the newest one that was live (`deployed` or
/// `superseded`) before `current`.
pub fn previous_good_revision(history: &[Revision], current: u32) -> Option<u32> {
    history
        .iter()
        .filter(|r| r.revision < current && matches!(r.status.as_str(), "deployed" | "superseded"))
        .map(|r| r.revision)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(revision: u32, status: &str) -> Revision {
        Revision::new(revision, status)
    }

    #[test]
    fn versions() {
        assert_eq!(parse_major("v4.1.4"), Some(HelmMajor::V4));
        assert_eq!(parse_major("v3.17.0"), Some(HelmMajor::V3));
        assert_eq!(parse_major("v2.16.0"), None);
    }

    #[test]
    fn rollback_targets_the_last_live_revision() {
        let history = [
            rev(1, "superseded"),
            rev(2, "failed"),
            rev(3, "deployed"),
            rev(4, "pending-upgrade"),
        ];
        assert_eq!(previous_good_revision(&history, 4), Some(3));
        assert_eq!(previous_good_revision(&history, 3), Some(1));
        assert_eq!(previous_good_revision(&[rev(1, "failed")], 1), None);
    }
}
