//! The deployer's own speed, compilation excluded: rendering every overlay (in this
//! process, as `cargo xtask render` does) and a whole `cargo xtask deploy dev --dry-run`
//! (the built xtask binary, the real helm and kubectl) against the Kubernetes API test
//! server, a loopback stand-in for a cluster's API (no pods run, nothing is applied).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::tools::Tools;
use crate::{overlay, project, render};

/// A digest of the right form: prod and staging render only by digest.
const PLACEHOLDER_DIGEST: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// How long rendering all overlays took, and how many there were.
pub fn render_all(tools: &Tools, dir: &Path) -> anyhow::Result<(Duration, usize)> {
    let envs = overlay::environments(&overlay::overlays_dir())?;
    let started = Instant::now();
    for env in &envs {
        render::render(
            tools,
            env,
            Some("bench".to_owned()),
            PLACEHOLDER_DIGEST,
            Some(dir.join("render").join(env)),
        )
        .with_context(|| format!("rendering {env}"))?;
    }
    Ok((started.elapsed(), envs.len()))
}

/// How long `deploy dev --dry-run` took against a fresh API test server.
pub fn dry_run(tools: &Tools, dir: &Path) -> anyhow::Result<Duration> {
    let env = "dev";
    let settings = overlay::load(&overlay::overlays_dir(), env)?.settings;
    let server = kube_test_server::TestServer::start(kube_test_server::Scenario::new())
        .context("starting the Kubernetes API test server")?;
    let kubeconfig = dir.join("kubeconfig");
    server
        .write_kubeconfig(&kubeconfig, &[&settings.kube_context])
        .with_context(|| format!("writing {}", kubeconfig.display()))?;
    // The image check asks a container engine; this one says the image exists, so the
    // figure is the deployer's and helm's, not an engine's.
    let engine = dir.join("engine-says-yes");
    std::fs::write(&engine, "#!/bin/sh\nexit 0\n")
        .with_context(|| format!("writing {}", engine.display()))?;
    make_executable(&engine)?;
    let xtask = std::env::current_exe().context("finding the xtask binary")?;
    let path = std::env::join_paths(
        [tools.helm.parent(), tools.kubectl.parent()]
            .into_iter()
            .flatten()
            .map(Path::to_path_buf)
            .chain(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            )),
    )?;
    let started = Instant::now();
    super::stdout_of(
        Command::new(xtask)
            .args(["deploy", env, "--dry-run", "--tag", "bench", "--engine"])
            .arg(&engine)
            .current_dir(project::root())
            .env("KUBECONFIG", &kubeconfig)
            .env("PATH", path),
        &format!("deploy {env} --dry-run against the API test server"),
        None,
    )?;
    Ok(started.elapsed())
}

fn make_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", path.display()))
}
