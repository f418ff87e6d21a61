//! The api image itself, for real: the image `cargo xtask test` built with podman (or
//! docker) from the static binary is inspected, then run against the real PostgreSQL:
//! `api migrate`, `api serve`, and the smoke suite from a second container.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::real_api::FreshDatabase;

struct Image {
    engine: String,
    reference: String,
}

fn image() -> Image {
    let missing = "API_TEST_IMAGE and API_TEST_ENGINE are set by `cargo xtask test`, which builds the image first";
    Image {
        engine: std::env::var("API_TEST_ENGINE").expect(missing),
        reference: std::env::var("API_TEST_IMAGE").expect(missing),
    }
}

impl Image {
    fn engine(&self, args: &[&str]) -> Output {
        Command::new(&self.engine).args(args).output().unwrap()
    }

    /// `run` with the flags this kind of machine needs: the host network (to reach the
    /// test PostgreSQL on loopback), runc where it is installed (crun fails on some cgroup
    /// setups), and rlimits below the sandbox's hard limits (runc may not raise them).
    fn run_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec!["run".into(), "--network".into(), "host".into()];
        if self.engine.ends_with("podman") && Command::new("runc").arg("--version").output().is_ok()
        {
            args.extend(
                [
                    "--runtime",
                    "runc",
                    "--ulimit",
                    "nofile=1024:1024",
                    "--ulimit",
                    "nproc=4096:4096",
                ]
                .map(String::from),
            );
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    }

    fn run(&self, extra: &[&str]) -> Output {
        Command::new(&self.engine)
            .args(self.run_args(extra))
            .output()
            .unwrap()
    }

    fn inspect(&self, format: &str) -> String {
        let output = self.engine(&["image", "inspect", "--format", format, &self.reference]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_image_is_small_non_root_and_holds_only_the_binary_and_certificates() {
    let image = image();
    assert_eq!(image.inspect("{{.Config.User}}"), "10001:10001");
    assert_eq!(
        image.inspect("{{json .Config.Entrypoint}}"),
        r#"["/usr/local/bin/api"]"#
    );
    assert_eq!(image.inspect("{{json .Config.Cmd}}"), r#"["serve"]"#);
    assert!(
        image
            .inspect("{{json .Config.ExposedPorts}}")
            .contains("8000/tcp")
    );
    let size: u64 = image.inspect("{{.Size}}").parse().unwrap();
    assert!(
        size < 25 * 1024 * 1024,
        "the image is {size} bytes; the target is under 25 MB"
    );
    let labels = image.inspect("{{json .Config.Labels}}");
    for label in [
        "org.opencontainers.image.revision",
        "org.opencontainers.image.version",
        "org.opencontainers.image.created",
        "org.opencontainers.image.title",
    ] {
        assert!(labels.contains(label), "{label} missing: {labels}");
    }

    // Everything in the filesystem, listed from an exported container.
    let created = image.engine(&["create", &image.reference]);
    assert!(created.status.success(), "{}", text(&created));
    let id = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    let export = std::env::temp_dir().join(format!("api-image-{}.tar", std::process::id()));
    let exported = image.engine(&["export", "--output", export.to_str().unwrap(), &id]);
    image.engine(&["rm", &id]);
    assert!(exported.status.success(), "{}", text(&exported));
    let listing = Command::new("tar")
        .arg("-tf")
        .arg(&export)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&export);
    let files: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter(|entry| !entry.ends_with('/'))
        .map(str::to_owned)
        .collect();
    let unexpected: Vec<&String> = files
        .iter()
        .filter(|f| {
            !["usr/local/bin/api", "etc/ssl/certs/ca-certificates.crt"].contains(&f.as_str())
        })
        // Engines add these mount points at run time; they are empty.
        .filter(|f| {
            !matches!(
                f.as_str(),
                "etc/hosts"
                    | "etc/resolv.conf"
                    | "etc/hostname"
                    | "run/.containerenv"
                    | ".dockerenv"
            )
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpected files in the image: {unexpected:?}"
    );
    assert!(files.iter().any(|f| f == "usr/local/bin/api"), "{files:?}");
}

#[test]
fn the_image_migrates_serves_passes_the_smoke_suite_and_drains_on_stop() {
    let image = image();
    let database = FreshDatabase::create();
    let db_env = format!("DATABASE_URL={}", database.url);

    let migrate = image.run(&["--rm", "--env", &db_env, &image.reference, "migrate"]);
    assert!(migrate.status.success(), "{}", text(&migrate));
    assert!(
        text(&migrate).contains("applied migration"),
        "{}",
        text(&migrate)
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let name = format!("api-image-test-{}", std::process::id());
    let port_env = format!("PORT={port}");
    let started = image.run(&[
        "--detach",
        "--name",
        &name,
        "--env",
        &db_env,
        "--env",
        &port_env,
        "--env",
        "HOST=127.0.0.1",
        &image.reference,
    ]);
    assert!(started.status.success(), "{}", text(&started));
    let url = format!("http://127.0.0.1:{port}");

    let smoke = image.run(&[
        "--rm",
        &image.reference,
        "smoke",
        "--url",
        &url,
        "--ready-timeout",
        "30s",
        // The container runs `api serve` alone; the worker's notification is not awaited.
        "--without-worker",
    ]);
    // The web app is in the binary: the image has no other files.
    let app = http_get(&format!("127.0.0.1:{port}"), "/app/");
    let stopping = Instant::now();
    let stop = image.engine(&["stop", "--time", "10", &name]);
    let stop_took = stopping.elapsed();
    let exit_code = image.engine(&["inspect", "--format", "{{.State.ExitCode}}", &name]);
    let logs = image.engine(&["logs", &name]);
    image.engine(&["rm", "--force", &name]);

    assert!(
        smoke.status.success(),
        "smoke from a container failed:\n{}\napi log:\n{}",
        text(&smoke),
        text(&logs)
    );
    assert!(
        text(&smoke).contains("6 passed, 0 failed"),
        "{}",
        text(&smoke)
    );
    let built = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist/index.html"),
    )
    .expect("cargo xtask test builds the web app before the image");
    assert!(app.starts_with("HTTP/1.1 200"), "{app}");
    assert!(
        app.ends_with(&built),
        "the image serves this build's web app:\n{app}"
    );
    assert!(stop.status.success(), "{}", text(&stop));
    assert!(
        stop_took < Duration::from_secs(8),
        "SIGTERM should drain and exit, not wait for the kill: {stop_took:?}"
    );
    assert_eq!(
        String::from_utf8_lossy(&exit_code.stdout).trim(),
        "0",
        "{}",
        text(&logs)
    );
    assert!(
        text(&logs).contains("server stopped; database pool closed"),
        "{}",
        text(&logs)
    );
}

/// One plain HTTP/1.1 GET, the whole answer as text (headers, then body).
fn http_get(address: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}
