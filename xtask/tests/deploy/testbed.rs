//! The test bed of the deploy tests: a scratch copy of the repository (chart, scripts,
//! the test's overlays) in a clean git tree, a Kubernetes API test server of its own,
//! and a PATH on which the real, pinned helm and kubectl are reached through recorders
//! that log every call. `kubectl port-forward` is the one call the server cannot serve
//! (it speaks SPDY over WebSockets): when a test names an address with `forward_to`, a
//! stand-in relays the forwarded port there instead. docker, podman and kind are
//! stand-ins answering from rules the test writes: a glob over the arguments and a
//! sequence of responses (the last one repeats) with their exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kube_test_server::{Scenario, TestServer};
use serde_json::Value;

const STANDIN: &str = r#"#!/usr/bin/env bash
tool="$(basename "$0")"
dir="$STANDIN_DIR"
printf '%s %s\n' "$tool" "$*" >> "$dir/calls.log"
args="$*"
n=0
while IFS=$'\t' read -r pattern responses; do
  n=$((n+1))
  if [[ "$args" == $pattern ]]; then
    IFS=',' read -ra list <<< "$responses"
    counter="$dir/.count-$tool-$n"
    k=$(cat "$counter" 2>/dev/null || echo 0)
    echo $((k+1)) > "$counter"
    idx=$(( k < ${#list[@]} ? k : ${#list[@]} - 1 ))
    entry="${list[$idx]}"
    file="${entry%%:*}"; code="${entry##*:}"
    [ "$file" = "$entry" ] && code=0
    if [[ "$file" == *.sh ]]; then exec bash "$dir/$file" "$@"; fi
    [ "$file" != "-" ] && cat "$dir/$file"
    exit "$code"
  fi
done < "$dir/$tool.rules"
echo "stand-in $tool: no rule for: $args" >&2
exit 99
"#;

/// Logs the call, then runs the real tool; `kubectl port-forward` relays to
/// `$STANDIN_FORWARD_TO` when the test set one.
const RECORDER: &str = r#"#!/usr/bin/env bash
tool="$(basename "$0")"
printf '%s %s\n' "$tool" "$*" >> "$STANDIN_DIR/calls.log"
if [ "$tool" = kubectl ] && [ -n "${STANDIN_FORWARD_TO:-}" ] && [[ " $* " == *" port-forward "* ]]; then
  ports="${@: -1}"
  exec python3 "$STANDIN_DIR/proxy.py" "${ports%%:*}" "$STANDIN_FORWARD_TO"
fi
exec "$REAL_TOOLS/$tool" "$@"
"#;

/// Listens on the port-forward's local port, then relays every connection to the
/// address given (the real api the test started).
const PROXY: &str = r#"
import socket, sys, threading
local = int(sys.argv[1]); host, port = sys.argv[2].rsplit(":", 1)
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", local)); server.listen(64)
print(f"Forwarding from 127.0.0.1:{local} -> 8000", flush=True)
print(f"Forwarding from [::1]:{local} -> 8000", flush=True)
def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data: break
            b.sendall(data)
    except OSError: pass
    finally:
        for s in (a, b):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
def handle(client):
    upstream = socket.create_connection((host, int(port)))
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    pipe(upstream, client)
while True:
    client, _ = server.accept()
    threading.Thread(target=handle, args=(client,), daemon=True).start()
"#;

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A program written once per test process: writing an executable while another test
/// thread forks can make running it fail with "text file busy", so every test links
/// to these files instead of writing its own.
fn program(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("standin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (file, body) in [("standin", STANDIN), ("recorder", RECORDER)] {
            let path = dir.join(file);
            std::fs::write(&path, body).unwrap();
            make_executable(&path);
        }
        dir
    });
    dir.join(name)
}

/// The real tools at the pinned versions, installed once (the scratch repositories
/// link to them).
pub fn real_tools() -> &'static Path {
    kube_test_server::tools::pinned().unwrap_or_else(|why| panic!("{why}"))
}

pub struct TestBed {
    pub root: PathBuf,
    pub server: TestServer,
    bin: PathBuf,
    forward_to: Option<String>,
    rule_count: usize,
}

impl TestBed {
    /// A test bed whose kubeconfig's current context is `kind-test`, the overlays'.
    pub fn new(name: &str, scenario: Scenario) -> Self {
        Self::with_contexts(name, scenario, &["kind-test"])
    }

    /// A test bed whose kubeconfig has `contexts`, all pointing at the test server;
    /// the first is the current one.
    pub fn with_contexts(name: &str, scenario: Scenario, contexts: &[&str]) -> Self {
        let tools = real_tools();
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("deploy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let copy = Command::new("cp")
            .args(["-R"])
            .arg(workspace().join("charts"))
            .arg(workspace().join("scripts"))
            .arg(workspace().join("overlays"))
            .arg(&root)
            .status()
            .unwrap();
        assert!(copy.success());
        std::os::unix::fs::symlink(tools, root.join(".tools")).unwrap();
        let bin = root.join("standin");
        std::fs::create_dir_all(&bin).unwrap();
        for tool in ["helm", "kubectl"] {
            std::os::unix::fs::symlink(program("recorder"), bin.join(tool)).unwrap();
        }
        for tool in ["docker", "podman", "kind"] {
            std::os::unix::fs::symlink(program("standin"), bin.join(tool)).unwrap();
            std::fs::write(bin.join(format!("{tool}.rules")), "").unwrap();
        }
        std::fs::write(bin.join("proxy.py"), PROXY).unwrap();
        std::fs::write(bin.join("calls.log"), "").unwrap();
        let server = TestServer::start(scenario).unwrap();
        server
            .write_kubeconfig(&root.join("kubeconfig"), contexts)
            .unwrap();
        let bed = Self {
            root,
            server,
            bin,
            forward_to: None,
            rule_count: 0,
        };
        // `test` is like dev (creates its namespace, uninstalls a failed first install);
        // `guarded` is like prod (protected, its namespace made beforehand by an admin).
        bed.overlay(
            "test",
            "protected: false\ncreateNamespace: true\nonFailedInstall: uninstall\n",
        );
        bed.overlay("guarded", "protected: true\nonFailedInstall: keep\n");
        bed.server
            .create(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "api-guarded"}}))
            .unwrap();
        bed
    }

    /// Writes overlays/<env> for release `api` in namespace `api-<env>`, context
    /// `kind-test`, with `settings` (YAML lines) after the common ones.
    pub fn overlay(&self, env: &str, settings: &str) {
        let dir = self.root.join("overlays").join(env);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("deploy.yaml"),
            format!(
                "release: api\nnamespace: api-{env}\nkubeContext: kind-test\nimage:\n  repository: localhost:5001/api\n\
                 timeouts:\n  deploy: 1m\n  rollout: 20s\n  smoke: 10s\n{settings}"
            ),
        )
        .unwrap();
        let template =
            std::fs::read_to_string(workspace().join("overlays/dev/values.yaml.j2")).unwrap();
        std::fs::write(dir.join("values.yaml.j2"), template).unwrap();
    }

    /// Commits everything, so the tree is clean.
    pub fn commit(&self) {
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .args([
                    "-c",
                    "user.email=test@example.com",
                    "-c",
                    "user.name=test",
                    "-c",
                    "init.defaultBranch=main",
                ])
                .args(args)
                .current_dir(&self.root)
                .output()
                .unwrap();
            assert!(
                status.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&status.stderr)
            );
        };
        git(&["init", "-q"]);
        std::fs::write(
            self.root.join(".gitignore"),
            "/target\n/.tools\n/standin\n/kubeconfig\n/.helm\n",
        )
        .unwrap();
        git(&["add", "-A"]);
        git(&["commit", "-qm", "scratch"]);
    }

    /// Answers calls of the stand-in `tool` (docker, podman, kind) whose arguments
    /// match `pattern` with `responses` in turn: `(body, exit code)`; the last repeats.
    pub fn rule(&mut self, tool: &str, pattern: &str, responses: &[(&str, i32)]) -> &mut Self {
        let entries: Vec<String> = responses
            .iter()
            .map(|(body, code)| {
                self.rule_count += 1;
                let file = format!("response-{}", self.rule_count);
                std::fs::write(self.bin.join(&file), body).unwrap();
                format!("{file}:{code}")
            })
            .collect();
        use std::io::Write;
        let mut rules = std::fs::OpenOptions::new()
            .append(true)
            .open(self.bin.join(format!("{tool}.rules")))
            .unwrap();
        writeln!(rules, "{pattern}\t{}", entries.join(",")).unwrap();
        self
    }

    /// Answers calls of the stand-in `tool` matching `pattern` by running `script` (bash).
    pub fn rule_script(&mut self, tool: &str, pattern: &str, script: &str) -> &mut Self {
        self.rule_count += 1;
        let file = format!("response-{}.sh", self.rule_count);
        std::fs::write(self.bin.join(&file), script).unwrap();
        use std::io::Write;
        let mut rules = std::fs::OpenOptions::new()
            .append(true)
            .open(self.bin.join(format!("{tool}.rules")))
            .unwrap();
        writeln!(rules, "{pattern}\t{file}").unwrap();
        self
    }

    /// The image the deploy checks exists: `docker image inspect` answers for any image.
    pub fn image_exists(&mut self) -> &mut Self {
        self.rule("docker", "image inspect *", &[("[{}]", 0)])
    }

    /// `kubectl port-forward` relays to the real api at `address`.
    pub fn forward_to(&mut self, address: &str) -> &mut Self {
        self.forward_to = Some(address.to_owned());
        self
    }

    /// Every recorded call, in order, as `tool args...`.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.bin.join("calls.log"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits until a call recorded after the first `from` contains `needle`.
    pub fn wait_for_call(&self, from: usize, needle: &str) {
        let started = Instant::now();
        while !self.calls()[from..].iter().any(|c| c.contains(needle)) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no call with {needle:?}: {:?}",
                self.calls()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs the real kubectl with the test bed's kubeconfig (a test's own set-up, not
    /// recorded), asserts it succeeded, and returns what it printed.
    pub fn kubectl(&self, args: &[&str]) -> String {
        let output = self.tool("kubectl", args);
        assert!(
            output.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `kubectl scale` of the api Deployment to `replicas`, by hand as an operator would
    /// (kubectl then owns `.spec.replicas`).
    pub fn scale_api(&self, replicas: u32) {
        let replicas = replicas.to_string();
        self.kubectl(&[
            "--namespace",
            "api-test",
            "scale",
            "deployment/api",
            "--replicas",
            &replicas,
        ]);
    }

    /// Runs `cargo xtask` (the built binary) against the scratch repository.
    pub fn xtask(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The `cargo xtask` command, not started yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .args(args)
            .env_remove("CARGO_TARGET_DIR")
            .stdin(std::process::Stdio::null());
        self.environment(&mut command);
        command
    }

    /// The real `helm` or `kubectl`, with the test bed's kubeconfig (for a test's own
    /// set-up, such as `kubectl scale`); not recorded.
    pub fn tool(&self, tool: &str, args: &[&str]) -> Output {
        let mut command = Command::new(real_tools().join("bin").join(tool));
        command.args(args);
        self.environment(&mut command);
        command.output().unwrap()
    }

    /// Sets the test bed's environment on `command` (PATH, kubeconfig, helm's folders).
    pub fn environment(&self, command: &mut Command) {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let helm = self.root.join(".helm");
        command
            .env("PATH", path)
            .env("XTASK_ROOT", &self.root)
            .env("STANDIN_DIR", &self.bin)
            .env("REAL_TOOLS", real_tools().join("bin"))
            .env("KUBECONFIG", self.root.join("kubeconfig"))
            .env("HELM_CONFIG_HOME", helm.join("config"))
            .env("HELM_CACHE_HOME", helm.join("cache"))
            .env("HELM_DATA_HOME", helm.join("data"));
        match &self.forward_to {
            Some(forward) => command.env("STANDIN_FORWARD_TO", forward),
            None => command.env_remove("STANDIN_FORWARD_TO"),
        };
    }

    pub fn last_record(&self, env: &str) -> Value {
        let text =
            std::fs::read_to_string(self.root.join("target/deploy").join(env).join("last.json"))
                .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// `(revision, status, description)` of each revision Helm stored for `api` in
    /// `api-<env>`, oldest first.
    pub fn revisions(&self, env: &str) -> Vec<(u64, String, String)> {
        self.server
            .helm_releases(&format!("api-{env}"), "api")
            .iter()
            .map(|r| {
                (
                    r["version"].as_u64().unwrap_or(0),
                    r["info"]["status"].as_str().unwrap_or_default().to_owned(),
                    r["info"]["description"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    }

    /// The image of the api Deployment's container, as the server holds it.
    pub fn deployed_image(&self, env: &str) -> String {
        self.server
            .get("apps/v1", "Deployment", &format!("api-{env}"), "api")
            .and_then(|d| {
                d["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    }

    /// Waits until `ready` holds for the server's objects (say, a rollout done).
    pub fn wait_for(&self, what: &str, ready: impl Fn(&TestServer) -> bool) {
        let started = Instant::now();
        while !ready(&self.server) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestBed {
    /// Keeps the scratch repository of a failed test for inspection, with the server's
    /// request log; removes it otherwise.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.root.join("requests.log");
            let _ = std::fs::write(&log, self.server.request_log());
            eprintln!(
                "kept {} (request log: {})",
                self.root.display(),
                log.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
