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

    /// Starts `helm upgrade --install` without helm's own waiting or rollback: xtask
    /// watches the rollout itself so it can read why pods fail before anything is rolled
    /// back. helm runs in its own process group, so a Ctrl-C at the terminal reaches only
    /// xtask, which then stops helm itself (see [`Running::finish`]).
    pub fn start_upgrade(
        &self,
        release: &Release,
        context: &str,
        options: &UpgradeOptions,
    ) -> Result<Running, ClusterError> {
        let mut args = upgrade_args(release, context);
        if options.create_namespace {
            args.push("--create-namespace".to_owned());
        }
        if options.major == HelmMajor::V4 {
            // Helm 4 applies server-side: take back fields another manager (kubectl
            // scale, edit, set) changed, rather than fail on them.
            args.push("--force-conflicts".to_owned());
        }
        for (key, value) in &options.labels {
            args.extend(["--labels".to_owned(), format!("{key}={value}")]);
        }
        args.extend(["--timeout", &options.timeout, "--history-max", "10"].map(str::to_owned));
        Running::start(&self.program, &args)
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

    /// `helm rollback` to `revision`, waiting for its pods like a deploy would, and
    /// (helm 4) taking back fields another field manager changed meanwhile.
    pub fn rollback(
        &self,
        target: &Target,
        revision: u32,
        timeout: &str,
        major: HelmMajor,
    ) -> Result<String, ClusterError> {
        let revision = revision.to_string();
        let mut args = vec![
            "rollback",
            target.release,
            &revision,
            "--namespace",
            target.namespace,
            "--kube-context",
            target.context,
        ];
        match major {
            HelmMajor::V3 => args.push("--wait"),
            HelmMajor::V4 => args.extend(["--wait=watcher", "--force-conflicts"]),
        }
        args.extend(["--timeout", timeout]);
        self.run_detached(&args)
    }

    /// The command a person runs to do the same rollback by hand.
    pub fn rollback_by_hand(target: &Target, revision: u32, major: HelmMajor) -> String {
        let force = if major == HelmMajor::V4 {
            " --force-conflicts"
        } else {
            ""
        };
        format!(
            "helm rollback {} {revision} -n {} --kube-context {}{force}",
            target.release, target.namespace, target.context
        )
    }

    /// `helm uninstall`, waiting until the objects are gone (so a deploy right after
    /// cannot race the garbage collector); a release that is not there is no error.
    pub fn uninstall(
        &self,
        target: &Target,
        timeout: &str,
        major: HelmMajor,
    ) -> Result<String, ClusterError> {
        let wait = match major {
            HelmMajor::V3 => "--wait",
            HelmMajor::V4 => "--wait=watcher",
        };
        self.run_detached(&[
            "uninstall",
            target.release,
            "--namespace",
            target.namespace,
            "--kube-context",
            target.context,
            "--ignore-not-found",
            wait,
            "--timeout",
            timeout,
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
        outcome(output.status.success(), &output.stdout, &output.stderr)
    }
}

/// What helm's exit status and output mean.
fn outcome(success: bool, stdout: &[u8], stderr: &[u8]) -> Result<String, ClusterError> {
    let stdout = String::from_utf8_lossy(stdout).into_owned();
    if success {
        return Ok(stdout);
    }
    let message = format!(
        "{}{}",
        stdout.trim(),
        String::from_utf8_lossy(stderr).trim()
    );
    if message.contains("cluster unreachable") || message.contains("connection refused") {
        Err(ClusterError::Unreachable(message))
    } else {
        Err(ClusterError::Failed(message))
    }
}

/// What an upgrade is asked to do besides applying the chart.
#[derive(Debug, Clone)]
pub struct UpgradeOptions {
    pub major: HelmMajor,
    pub create_namespace: bool,
    /// Release labels stored with the new revision.
    pub labels: Vec<(String, String)>,
    /// helm's `--timeout` (it bounds hooks only; xtask bounds the whole call).
    pub timeout: String,
}

/// A helm command running in its own process group.
pub struct Running {
    child: std::process::Child,
    output: std::sync::mpsc::Receiver<(bool, Vec<u8>)>,
}

/// How a running helm ended.
#[derive(Debug)]
pub enum Ended {
    Finished(Result<String, ClusterError>),
    /// Stopped by xtask at the deadline; what helm said.
    TimedOut(String),
    /// Stopped by xtask on Ctrl-C; what helm said.
    Interrupted(String),
}

impl Running {
    fn start(program: &Path, args: &[String]) -> Result<Self, ClusterError> {
        use std::io::Read;
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;
        let mut child = Command::new(program)
            .args(args)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| ClusterError::Failed(format!("running {}: {err}", program.display())))?;
        let (sender, output) = std::sync::mpsc::channel();
        for (is_stdout, pipe) in [
            (
                true,
                child
                    .stdout
                    .take()
                    .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            ),
            (
                false,
                child
                    .stderr
                    .take()
                    .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            ),
        ] {
            let sender = sender.clone();
            if let Some(mut pipe) = pipe {
                std::thread::spawn(move || {
                    let mut bytes = Vec::new();
                    let _ = pipe.read_to_end(&mut bytes);
                    let _ = sender.send((is_stdout, bytes));
                });
            }
        }
        Ok(Self { child, output })
    }

    /// Waits for helm until `deadline`, or until `interrupt` fires; then asks helm to stop
    /// (SIGINT: it records the release as failed rather than leaving it pending) and, if
    /// it does not within `grace`, kills it.
    pub fn finish(
        mut self,
        deadline: std::time::Instant,
        interrupt: &crate::interrupt::Interrupt,
        grace: std::time::Duration,
    ) -> Ended {
        use std::time::{Duration, Instant};
        let stop_reason = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    let (stdout, stderr) = self.collect();
                    return Ended::Finished(outcome(status.success(), &stdout, &stderr));
                }
                Ok(None) => {}
                Err(err) => {
                    return Ended::Finished(Err(ClusterError::Failed(format!(
                        "waiting for helm: {err}"
                    ))));
                }
            }
            if interrupt.happened() {
                break true;
            }
            if Instant::now() >= deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let stopped = Instant::now();
        while stopped.elapsed() < grace {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (stdout, stderr) = self.collect();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&stdout).trim(),
            String::from_utf8_lossy(&stderr).trim()
        );
        if stop_reason {
            Ended::Interrupted(said)
        } else {
            Ended::TimedOut(said)
        }
    }

    fn collect(&self) -> (Vec<u8>, Vec<u8>) {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        for (is_stdout, bytes) in self.output.iter().take(2) {
            if is_stdout {
                stdout = bytes
            } else {
                stderr = bytes
            }
        }
        (stdout, stderr)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_major("v4.1.4"), Some(HelmMajor::V4));
        assert_eq!(parse_major("v3.17.0"), Some(HelmMajor::V3));
        assert_eq!(parse_major("v2.16.0"), None);
    }
}
