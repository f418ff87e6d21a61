//! Stand-in `helm`, `kubectl`, `docker`, `podman` and `kind` executables put first on PATH. They record
//! every call and answer from rules the test writes: a glob over the arguments, and a
//! sequence of responses (the last one repeats) with their exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

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

/// Listens on the port-forward's local port, then relays every connection to
/// `$STANDIN_FORWARD_TO` (the real api the test started).
const PROXY: &str = r#"
import socket, sys, threading
local = int(sys.argv[1]); host, port = sys.argv[2].rsplit(":", 1)
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", local)); server.listen(64)
print(f"Forwarding from 127.0.0.1:{local} -> 8000", flush=True)
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

const PORT_FORWARD: &str = r#"ports="${@: -1}"; exec python3 "$STANDIN_DIR/proxy.py" "${ports%%:*}" "$STANDIN_FORWARD_TO""#;

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The stand-in program, written once per test process: writing an executable while
/// another test thread forks can make running it fail with "text file busy", so every
/// test links to this one file instead of writing its own.
fn standin_program() -> &'static PathBuf {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("standin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("standin");
        std::fs::write(&path, STANDIN).unwrap();
        make_executable(&path);
        path
    })
}

/// The real tools, installed once (the scratch repositories link to them).
fn real_tools() -> &'static PathBuf {
    static TOOLS: OnceLock<PathBuf> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let root = workspace();
        let output = Command::new("bash")
            .arg(root.join("scripts/install-tools.sh"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "install-tools: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        root.join(".tools")
    })
}

/// A scratch copy of the repository (chart, scripts, the test's overlays) in a clean git
/// tree, with stand-ins first on PATH.
pub struct Cluster {
    pub root: PathBuf,
    bin: PathBuf,
    forward_to: Option<String>,
    rule_count: usize,
}

impl Cluster {
    pub fn new(name: &str) -> Self {
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
        for tool in ["helm", "kubectl", "docker", "podman", "kind"] {
            std::os::unix::fs::symlink(standin_program(), bin.join(tool)).unwrap();
            std::fs::write(bin.join(format!("{tool}.rules")), "").unwrap();
        }
        std::fs::write(bin.join("proxy.py"), PROXY).unwrap();
        std::fs::write(bin.join("port-forward.sh"), PORT_FORWARD).unwrap();
        std::fs::write(bin.join("calls.log"), "").unwrap();
        // `helm template` needs no cluster: the real helm answers it.
        std::fs::write(
            bin.join("real-helm.sh"),
            format!("exec '{}' \"$@\"\n", tools.join("bin/helm").display()),
        )
        .unwrap();
        let cluster = Self {
            root,
            bin,
            forward_to: None,
            rule_count: 0,
        };
        cluster.append_rule("helm", "template *", "real-helm.sh");
        cluster.overlay("test", false);
        cluster.overlay("guarded", true);
        cluster
    }

    /// Writes overlays/<env> for release `api` in namespace `api-<env>`, context `kind-test`.
    pub fn overlay(&self, env: &str, protected: bool) {
        let dir = self.root.join("overlays").join(env);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("deploy.yaml"),
            format!(
                "release: api\nnamespace: api-{env}\nkubeContext: kind-test\nimage:\n  repository: localhost:5001/api\n\
                 timeouts:\n  deploy: 1m\n  rollout: 20s\n  smoke: 10s\nprotected: {protected}\nonFailedInstall: uninstall\n"
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
        std::fs::write(self.root.join(".gitignore"), "/target\n/.tools\n/standin\n").unwrap();
        git(&["add", "-A"]);
        git(&["commit", "-qm", "scratch"]);
    }

    /// Answers calls of `tool` whose arguments match `pattern` with `responses` in turn:
    /// `(body, exit code)`; the last one repeats.
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
        self.append_rule(tool, pattern, &entries.join(","));
        self
    }

    /// `kubectl port-forward` relays to the real api at `address`.
    pub fn forward_to(&mut self, address: &str) -> &mut Self {
        self.forward_to = Some(address.to_owned());
        self.append_rule("kubectl", "*port-forward*", "port-forward.sh");
        self
    }

    /// Puts the real helm first on PATH instead of the stand-in.
    pub fn real_helm(&mut self) -> &mut Self {
        let helm = self.bin.join("helm");
        std::fs::remove_file(&helm).unwrap();
        std::os::unix::fs::symlink(real_tools().join("bin/helm"), helm).unwrap();
        self
    }

    fn append_rule(&self, tool: &str, pattern: &str, responses: &str) {
        use std::io::Write;
        let mut rules = std::fs::OpenOptions::new()
            .append(true)
            .open(self.bin.join(format!("{tool}.rules")))
            .unwrap();
        writeln!(rules, "{pattern}\t{responses}").unwrap();
    }

    /// Every recorded call, in order, as `tool args...`.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.bin.join("calls.log"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Runs `cargo xtask` (the built binary) against the scratch repository.
    pub fn xtask(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The `cargo xtask` command, not started yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .args(args)
            .env("PATH", path)
            .env("XTASK_ROOT", &self.root)
            .env("STANDIN_DIR", &self.bin)
            .env_remove("CARGO_TARGET_DIR")
            .stdin(std::process::Stdio::null());
        if let Some(forward) = &self.forward_to {
            command.env("STANDIN_FORWARD_TO", forward);
        }
        command
    }

    pub fn last_record(&self, env: &str) -> serde_json::Value {
        let text =
            std::fs::read_to_string(self.root.join("target/deploy").join(env).join("last.json"))
                .unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

impl Drop for Cluster {
    /// Keeps the scratch repository of a failed test for inspection; removes it otherwise.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
