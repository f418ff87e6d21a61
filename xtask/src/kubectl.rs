//! Every kubectl command line xtask runs, in one place. Calls about a deploy target name
//! its context and namespace explicitly.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

pub struct Kubectl {
    program: PathBuf,
}

/// A namespace in a named context.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    pub context: &'a str,
    pub namespace: &'a str,
}

impl Kubectl {
    pub fn new(program: PathBuf) -> Self {
        Self { program }
    }

    /// `kubectl config current-context`.
    pub fn current_context(&self) -> anyhow::Result<String> {
        let output = Command::new(&self.program)
            .args(["config", "current-context"])
            .output()
            .with_context(|| format!("running {}", self.program.display()))?;
        if !output.status.success() {
            bail!(
                "kubectl has no current context ({}); set one with `kubectl config use-context <name>`",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// `kubectl get <what> -o json` in the scope, e.g. `["deployments", "-l", "..."]`.
    pub fn get_json(&self, scope: &Scope, what: &[&str]) -> anyhow::Result<Value> {
        let mut args = vec!["get"];
        args.extend_from_slice(what);
        args.extend_from_slice(&["--output", "json"]);
        let stdout = self.run(scope, &args)?;
        serde_json::from_str(&stdout).context("kubectl returned unreadable JSON")
    }

    /// The last `tail` lines of a container's log (`previous` for the crashed instance).
    pub fn logs(
        &self,
        scope: &Scope,
        pod: &str,
        container: &str,
        tail: u32,
        previous: bool,
    ) -> anyhow::Result<String> {
        let tail = tail.to_string();
        let mut args = vec!["logs", pod, "--container", container, "--tail", &tail];
        if previous {
            args.push("--previous");
        }
        self.run(scope, &args)
    }

    /// Starts `kubectl port-forward <target> <local>:<remote>` and waits until it forwards.
    pub fn port_forward(
        &self,
        scope: &Scope,
        target: &str,
        local: u16,
        remote: u16,
    ) -> anyhow::Result<PortForward> {
        let ports = format!("{local}:{remote}");
        let mut child = Command::new(&self.program)
            .args([
                "--context",
                scope.context,
                "--namespace",
                scope.namespace,
                "port-forward",
                target,
                &ports,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("running {} port-forward", self.program.display()))?;
        let stdout = child.stdout.take().context("port-forward has no stdout")?;
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("Forwarding from") {
                    let _ = ready_tx.send(());
                }
            }
        });
        if ready_rx.recv_timeout(Duration::from_secs(20)).is_err() {
            let _ = child.kill();
            let output = child.wait_with_output().ok();
            let stderr = output
                .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
                .unwrap_or_default();
            bail!("kubectl port-forward {target} did not start within 20s: {stderr}");
        }
        Ok(PortForward { child })
    }

    fn run(&self, scope: &Scope, args: &[&str]) -> anyhow::Result<String> {
        let output = Command::new(&self.program)
            .args(["--context", scope.context, "--namespace", scope.namespace])
            .args(args)
            .output()
            .with_context(|| format!("running {}", self.program.display()))?;
        if !output.status.success() {
            bail!(
                "kubectl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// The label selector of a release's objects, or of one component of it (`api`,
/// `migrate`), as the chart labels them.
pub fn release_selector(release: &str, component: Option<&str>) -> String {
    match component {
        Some(component) => {
            format!("app.kubernetes.io/instance={release},app.kubernetes.io/component={component}")
        }
        None => format!("app.kubernetes.io/instance={release}"),
    }
}

/// A running port-forward, stopped when dropped.
pub struct PortForward {
    child: Child,
}

impl Drop for PortForward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
