//! `cargo xtask cluster up|down|load`: a local kind cluster for the dev overlay. Its kube
//! context (`kind-<name>`) is the one overlays/dev/deploy.yaml deploys to, and `load`
//! side-loads the built image so `cargo xtask deploy dev` needs no registry.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

use crate::{overlay, project};

/// The kind config, next to the overlay it serves.
const CONFIG: &str = "overlays/dev/kind-cluster.yaml";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
    /// The kind cluster's name (its kube context is kind-<name>).
    #[arg(long, global = true, default_value = "api-dev")]
    pub name: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Create the cluster unless it exists (1 control plane, 2 workers, ports 80/443).
    Up,
    /// Delete the cluster.
    Down,
    /// Side-load an image into the cluster's nodes.
    Load {
        /// Image reference [default: the dev overlay's repository, tagged with the git revision].
        #[arg(long)]
        image: Option<String>,
        /// docker or podman: where the image is [default: podman or docker, whichever is installed].
        #[arg(long)]
        engine: Option<String>,
    },
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    match &args.action {
        Action::Up => up(&args.name),
        Action::Down => down(&args.name),
        Action::Load { image, engine } => load(&args.name, image.as_deref(), engine.as_deref()),
    }
}

fn kind(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("kind").args(args).output().map_err(|err| {
        anyhow::anyhow!("cannot run kind ({err}); install it: https://kind.sigs.k8s.io/docs/user/quick-start/#installation")
    })?;
    if !output.status.success() {
        bail!(
            "kind {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn exists(name: &str) -> anyhow::Result<bool> {
    Ok(kind(&["get", "clusters"])?
        .lines()
        .any(|line| line.trim() == name))
}

fn up(name: &str) -> anyhow::Result<()> {
    let context = format!("kind-{name}");
    let dev = overlay::load(&overlay::overlays_dir(), "dev")?;
    if dev.settings.kube_context != context {
        eprintln!(
            "xtask: note: overlays/dev/deploy.yaml deploys to '{}', not '{context}'",
            dev.settings.kube_context
        );
    }
    if exists(name)? {
        eprintln!("xtask: kind cluster {name} exists already (context {context})");
    } else {
        let config = project::root().join(CONFIG);
        project::step(&format!("kind create cluster --name {name}"));
        let status = Command::new("kind")
            .args([
                "create", "cluster", "--name", name, "--wait", "120s", "--config",
            ])
            .arg(&config)
            .status()
            .context("running kind")?;
        if !status.success() {
            bail!("kind create cluster failed (see above)");
        }
    }
    eprintln!(
        "xtask: ready: kubectl config use-context {context}; then cargo xtask build --repository {repo}, \
         cargo xtask cluster load, cargo xtask deploy dev",
        repo = dev.settings.image.repository
    );
    Ok(())
}

fn down(name: &str) -> anyhow::Result<()> {
    if !exists(name)? {
        eprintln!("xtask: no kind cluster named {name}; nothing to delete");
        return Ok(());
    }
    kind(&["delete", "cluster", "--name", name])?;
    eprintln!("xtask: deleted kind cluster {name}");
    Ok(())
}

fn load(name: &str, image: Option<&str>, engine: Option<&str>) -> anyhow::Result<()> {
    if !exists(name)? {
        bail!("no kind cluster named {name}; create it with `cargo xtask cluster up`");
    }
    let image = match image {
        Some(image) => image.to_owned(),
        None => {
            let dev = overlay::load(&overlay::overlays_dir(), "dev")?;
            let revision = crate::git::revision().context("no git revision; pass --image")?;
            format!(
                "{}:{}",
                dev.settings.image.repository,
                crate::git::short(&revision)
            )
        }
    };
    let engine = crate::container_engine::Engine::find(engine)
        .context("neither podman nor docker is installed")?;
    if engine.is_docker() {
        kind(&["load", "docker-image", &image, "--name", name])?;
    } else {
        // kind reads images from docker; from podman it takes an archive.
        let archive: PathBuf = project::image_context().join("kind-load.tar");
        if let Some(dir) = archive.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let _ = std::fs::remove_file(&archive);
        engine.save(&image, &archive)?;
        let archive_arg = archive.to_string_lossy().into_owned();
        kind(&["load", "image-archive", &archive_arg, "--name", name])?;
    }
    eprintln!("xtask: loaded {image} into kind cluster {name}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_yaml::Value;

    #[test]
    fn the_kind_config_matches_the_dev_overlay() {
        let config: Value =
            serde_yaml::from_str(include_str!("../../overlays/dev/kind-cluster.yaml")).unwrap();
        let roles: Vec<&str> = config["nodes"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|n| n["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["control-plane", "worker", "worker"]);
        let ports: Vec<u64> = config["nodes"][0]["extraPortMappings"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|m| m["hostPort"].as_u64().unwrap())
            .collect();
        assert_eq!(ports, [80, 443]);
        let dev =
            crate::overlay::parse_settings(include_str!("../../overlays/dev/deploy.yaml")).unwrap();
        assert_eq!(
            dev.kube_context,
            format!("kind-{}", config["name"].as_str().unwrap())
        );
    }
}
