//! Every kubectl command line xtask runs, in one place. Calls about a deploy target name
//! their context and namespace explicitly, and every call that reaches the cluster has a
//! request timeout, so a hung connection cannot stall a deploy.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

/// How long one request to the API server may take.
const REQUEST_TIMEOUT: &str = "--request-timeout=30s";

#[derive(Debug, Clone)]
pub struct Kubectl {
    program: PathBuf,
}

/// A namespace in a named context.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    pub context: &'a str,
    pub namespace: &'a str,
}

/// A kubectl call that failed, and whether trying again could help: `Forbidden`, an
/// unknown context or resource type will answer the same way every time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CallError {
    pub message: String,
    pub permanent: bool,
}

impl CallError {
    fn new(args: &[&str], stderr: &str) -> Self {
        let stderr = stderr.trim();
        Self {
            message: format!("kubectl {} failed: {stderr}", args.join(" ")),
            permanent: is_permanent(stderr),
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.message.contains("(NotFound)")
    }

    pub fn is_already_exists(&self) -> bool {
        self.message.contains("(AlreadyExists)")
    }

    /// A write based on an object someone else has changed since.
    pub fn is_conflict(&self) -> bool {
        self.message.contains("(Conflict)")
    }
}

/// Answers that do not change when asked again.
pub fn is_permanent(stderr: &str) -> bool {
    const PERMANENT: &[&str] = &[
        "(Forbidden)",
        "(Unauthorized)",
        "is forbidden:",
        "context was not found",
        "does not exist in the kubeconfig",
        "the server doesn't have a resource type",
        "You must be logged in",
    ];
    PERMANENT.iter().any(|p| stderr.contains(p))
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
    pub fn get_json(&self, scope: &Scope, what: &[&str]) -> Result<Value, CallError> {
        let mut args = vec!["get"];
        args.extend_from_slice(what);
        args.extend_from_slice(&["--output", "json"]);
        let stdout = self.run(scope, &args, None)?;
        serde_json::from_str(&stdout).map_err(|err| CallError {
            message: format!("kubectl returned unreadable JSON: {err}"),
            permanent: false,
        })
    }

    /// One object, or `None` when it does not exist.
    pub fn get_optional(
        &self,
        scope: &Scope,
        kind: &str,
        name: &str,
    ) -> Result<Option<Value>, CallError> {
        match self.get_json(scope, &[kind, name]) {
            Ok(object) => Ok(Some(object)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Whether the scope's namespace exists.
    pub fn namespace_exists(&self, scope: &Scope) -> Result<bool, CallError> {
        self.get_optional(scope, "namespace", scope.namespace)
            .map(|n| n.is_some())
    }

    pub fn create_namespace(&self, scope: &Scope) -> Result<(), CallError> {
        self.run(scope, &["create", "namespace", scope.namespace], None)
            .map(drop)
    }

    /// `kubectl create -f -` of `object`; the stored object comes back.
    pub fn create(&self, scope: &Scope, object: &Value) -> Result<Value, CallError> {
        self.send(scope, "create", object)
    }

    /// `kubectl replace -f -`: fails with a conflict when `object`'s `resourceVersion` is
    /// no longer the current one.
    pub fn replace(&self, scope: &Scope, object: &Value) -> Result<Value, CallError> {
        self.send(scope, "replace", object)
    }

    fn send(&self, scope: &Scope, verb: &str, object: &Value) -> Result<Value, CallError> {
        let stdout = self.run(
            scope,
            &[verb, "--filename", "-", "--output", "json"],
            Some(&object.to_string()),
        )?;
        serde_json::from_str(&stdout).map_err(|err| CallError {
            message: format!("kubectl returned unreadable JSON: {err}"),
            permanent: false,
        })
    }

    pub fn delete(&self, scope: &Scope, kind: &str, name: &str) -> Result<(), CallError> {
        self.run(
            scope,
            &["delete", kind, name, "--ignore-not-found", "--wait=false"],
            None,
        )
        .map(drop)
    }

    /// Sets `label` (`key=value`) on an object, replacing an earlier value.
    pub fn label(
        &self,
        scope: &Scope,
        kind: &str,
        name: &str,
        label: &str,
    ) -> Result<(), CallError> {
        self.run(scope, &["label", kind, name, label, "--overwrite"], None)
            .map(drop)
    }

    /// The last `tail` lines of a container's log (`previous` for the crashed instance).
    pub fn logs(
        &self,
        scope: &Scope,
        pod: &str,
        container: &str,
        tail: u32,
        previous: bool,
    ) -> Result<String, CallError> {
        let tail = tail.to_string();
        let mut args = vec!["logs", pod, "--container", container, "--tail", &tail];
        if previous {
            args.push("--previous");
        }
        self.run(scope, &args, None)
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
        let stderr = child.stderr.take().context("port-forward has no stderr")?;
        // kubectl writes a line per failed connection to stderr: read it all the time, or
        // a full pipe would block the forward; keep the last lines for messages.
        let errors = Arc::new(Mutex::new(VecDeque::new()));
        let kept = errors.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                kept.push_back(line);
                if kept.len() > 20 {
                    kept.pop_front();
                }
            }
        });
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("Forwarding from") {
                    let _ = ready_tx.send(());
                }
            }
        });
        let forward = PortForward { child, errors };
        if ready_rx.recv_timeout(Duration::from_secs(20)).is_err() {
            bail!(
                "kubectl port-forward {target} did not start within 20s: {}",
                forward.errors()
            );
        }
        Ok(forward)
    }

    fn run(&self, scope: &Scope, args: &[&str], stdin: Option<&str>) -> Result<String, CallError> {
        let mut command = Command::new(&self.program);
        command
            .args([
                "--context",
                scope.context,
                "--namespace",
                scope.namespace,
                REQUEST_TIMEOUT,
            ])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let spawned = command.spawn().and_then(|mut child| {
            if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
                pipe.write_all(text.as_bytes())?;
            }
            child.wait_with_output()
        });
        let output = spawned.map_err(|err| CallError {
            message: format!("running {}: {err}", self.program.display()),
            permanent: true,
        })?;
        if !output.status.success() {
            return Err(CallError::new(
                args,
                &String::from_utf8_lossy(&output.stderr),
            ));
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
    errors: Arc<Mutex<VecDeque<String>>>,
}

impl PortForward {
    /// What kubectl said on stderr lately (per-connection errors, why it stopped).
    pub fn errors(&self) -> String {
        let kept = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().cloned().collect::<Vec<_>>().join("; ")
    }
}

impl Drop for PortForward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanent_answers_are_told_from_blips() {
        assert!(is_permanent(
            "Error from server (Forbidden): pods is forbidden: User \"ci\" cannot list resource \"pods\""
        ));
        assert!(is_permanent(
            "error: context \"prod\" does not exist in the kubeconfig"
        ));
        assert!(is_permanent(
            "error: the server doesn't have a resource type \"leases\""
        ));
        assert!(!is_permanent(
            "Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout"
        ));
        assert!(!is_permanent(
            "Error from server (ServiceUnavailable): the server is currently unable to handle the request"
        ));
        let missing = CallError::new(
            &["get", "lease", "x"],
            "Error from server (NotFound): leases.coordination.k8s.io \"x\" not found",
        );
        assert!(missing.is_not_found() && !missing.permanent);
    }
}
