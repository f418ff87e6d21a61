//! `cargo xtask build`: the api image, built with docker or podman from a static binary
//! compiled on the host (no base image to pull, so it works air-gapped) with the web app
//! built into it, tagged with the git revision, labelled with OCI annotations, optionally
//! pushed.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

use crate::container_engine::Engine;
use crate::{git, project, timestamp};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Push the image after building it, and print its digest.
    #[arg(long)]
    pub push: bool,
    /// With --push, also write the pushed digest (sha256:...) to this file, for later
    /// pipeline steps to deploy by.
    #[arg(long, requires = "push")]
    pub digest_file: Option<PathBuf>,
    /// Image tag [default: the git revision of HEAD, 12 characters, `-dirty` on a dirty tree].
    #[arg(long)]
    pub tag: Option<String>,
    /// Registry (and path) to name the image under, e.g. registry.example.com/platform.
    #[arg(long)]
    pub registry: Option<String>,
    /// The full image repository, e.g. localhost:5001/api (wins over --registry).
    #[arg(long)]
    pub repository: Option<String>,
    /// docker or podman [default: whichever is installed, podman first].
    #[arg(long)]
    pub engine: Option<String>,
    /// Allow pushing an image built from uncommitted changes.
    #[arg(long)]
    pub allow_dirty: bool,
    /// Package this already built static api binary instead of compiling one (e.g. from
    /// an earlier CI stage).
    #[arg(long)]
    pub binary: Option<PathBuf>,
}

/// A built (and maybe pushed) image.
#[derive(Debug, Clone)]
pub struct Built {
    pub repository: String,
    pub tag: String,
    pub digest: Option<String>,
}

impl Built {
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let built = build(args)?;
    match &built.digest {
        Some(digest) => eprintln!("xtask: pushed {}@{digest}", built.repository),
        None => eprintln!("xtask: built {}", built.reference()),
    }
    if let Some(path) = &args.digest_file {
        let digest = built
            .digest
            .as_deref()
            .context("the registry reported no digest for the pushed image")?;
        std::fs::write(path, format!("{digest}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    #[allow(clippy::print_stdout)] // the reference is this command's output, for scripts
    {
        match &built.digest {
            Some(digest) => println!("{}@{digest}", built.repository),
            None => println!("{}", built.reference()),
        }
    }
    Ok(())
}

pub fn build(args: &Args) -> anyhow::Result<Built> {
    let engine = Engine::find(args.engine.as_deref())
        .context("neither podman nor docker is installed; install one (Debian: apt-get install podman) or pass --engine")?;
    let revision = git::revision().unwrap_or_else(|_| "unknown".to_owned());
    let dirty = revision.ends_with("-dirty");
    if let Some(refusal) = dirty_push_refusal(dirty, args.push, args.allow_dirty) {
        bail!(refusal);
    }
    let tag = args.tag.clone().unwrap_or_else(|| git::short(&revision));
    let repository = repository(args.repository.as_deref(), args.registry.as_deref());

    // The Dockerfile packages target/image/ of the build context (the repository),
    // wherever cargo's own target folder is.
    let context = project::image_context();
    std::fs::create_dir_all(&context).with_context(|| format!("creating {}", context.display()))?;
    let binary = match &args.binary {
        Some(binary) => binary.clone(),
        None => {
            // The api embeds web/dist: build it first, or the image has no app.
            crate::web_app::build()?;
            compile_static_binary()?
        }
    };
    std::fs::copy(&binary, context.join("api"))
        .with_context(|| format!("copying {}", binary.display()))?;
    let ca_bundle = ca_bundle().context(
        "no CA bundle found (/etc/ssl/certs/ca-certificates.crt); install ca-certificates",
    )?;
    std::fs::copy(&ca_bundle, context.join("ca-certificates.crt"))
        .with_context(|| format!("copying {}", ca_bundle.display()))?;

    let reference = format!("{repository}:{tag}");
    project::step(&format!("{} build {reference}", engine.name()));
    let labels = oci_labels(
        &revision,
        env!("CARGO_PKG_VERSION"),
        &timestamp::now(),
        git::origin_url().as_deref(),
    );
    engine.build(&build_args(&reference, &labels), &project::root())?;

    let digest = if args.push {
        project::step(&format!("{} push {reference}", engine.name()));
        engine.push(&reference)?;
        Some(engine.pushed_digest(&reference)?)
    } else {
        None
    };
    Ok(Built {
        repository,
        tag,
        digest,
    })
}

/// Pushing a dirty tree's image would publish a tag that names no commit.
pub fn dirty_push_refusal(dirty: bool, push: bool, allow_dirty: bool) -> Option<String> {
    (dirty && push && !allow_dirty).then(|| {
        "the git tree has uncommitted changes: commit them, or pass --allow-dirty to push anyway (the tag will end in -dirty)"
            .to_owned()
    })
}

pub fn repository(repository: Option<&str>, registry: Option<&str>) -> String {
    match (repository, registry) {
        (Some(repository), _) => repository.to_owned(),
        (None, Some(registry)) => format!("{}/api", registry.trim_end_matches('/')),
        (None, None) => "api".to_owned(),
    }
}

/// OCI annotations as `key=value` labels.
pub fn oci_labels(
    revision: &str,
    version: &str,
    created: &str,
    source: Option<&str>,
) -> Vec<String> {
    let mut labels = vec![
        format!("org.opencontainers.image.revision={revision}"),
        format!("org.opencontainers.image.version={version}"),
        format!("org.opencontainers.image.created={created}"),
    ];
    if let Some(source) = source {
        labels.push(format!("org.opencontainers.image.source={source}"));
    }
    labels
}

/// The engine's build arguments (the context folder follows).
pub fn build_args(reference: &str, labels: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "build",
        "--file",
        "Dockerfile",
        "--target",
        "runtime",
        "--build-arg",
        "BINARY_SOURCE=prebuilt",
    ]
    .map(str::to_owned)
    .to_vec();
    for label in labels {
        let (key, value) = label.split_once('=').unwrap_or((label, ""));
        let arg_name = match key {
            "org.opencontainers.image.revision" => Some("REVISION"),
            "org.opencontainers.image.version" => Some("VERSION"),
            "org.opencontainers.image.created" => Some("CREATED"),
            _ => None,
        };
        if let Some(arg_name) = arg_name {
            args.extend(["--build-arg".to_owned(), format!("{arg_name}={value}")]);
        }
        args.extend(["--label".to_owned(), label.clone()]);
    }
    args.extend(["--tag".to_owned(), reference.to_owned()]);
    args
}

/// `cargo build --release` of the api as a static glibc binary (the musl target is not
/// always installable; a static-pie glibc build runs FROM scratch).
fn compile_static_binary() -> anyhow::Result<PathBuf> {
    let host = host_triple()?;
    if !host.ends_with("-linux-gnu") {
        bail!(
            "static api binaries are built on Linux (glibc) hosts; this host is {host}: build in the Dockerfile's `compiled` stage instead (`docker build .`)"
        );
    }
    project::step(&format!(
        "cargo build --release --package api --target {host} (static)"
    ));
    let status = Command::new("cargo")
        .args([
            "build",
            "--release",
            "--locked",
            "--package",
            "api",
            "--target",
            &host,
        ])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .current_dir(project::root())
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("building the static api binary failed (see above)");
    }
    Ok(project::target_dir()
        .join(&host)
        .join("release")
        .join("api"))
}

fn host_triple() -> anyhow::Result<String> {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
        .context("rustc -vV printed no host triple")
}

fn ca_bundle() -> Option<PathBuf> {
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|path| path.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirty_trees_are_not_pushed_unless_allowed() {
        assert!(
            dirty_push_refusal(true, true, false)
                .unwrap()
                .contains("--allow-dirty")
        );
        assert_eq!(dirty_push_refusal(true, true, true), None);
        assert_eq!(dirty_push_refusal(true, false, false), None);
        assert_eq!(dirty_push_refusal(false, true, false), None);
    }

    #[test]
    fn repositories() {
        assert_eq!(
            repository(Some("localhost:5001/api"), Some("ignored")),
            "localhost:5001/api"
        );
        assert_eq!(
            repository(None, Some("registry.example.com/platform/")),
            "registry.example.com/platform/api"
        );
        assert_eq!(repository(None, None), "api");
    }

    #[test]
    fn build_arguments_carry_the_labels_and_the_prebuilt_switch() {
        let labels = oci_labels(
            "abc",
            "0.1.0",
            "2026-11-22T00:00:00Z",
            Some("https://git.example.com/api.git"),
        );
        let args = build_args("r/api:abc", &labels).join(" ");
        assert!(
            args.starts_with(
                "build --file Dockerfile --target runtime --build-arg BINARY_SOURCE=prebuilt"
            ),
            "{args}"
        );
        assert!(
            args.contains("--build-arg REVISION=abc --label org.opencontainers.image.revision=abc"),
            "{args}"
        );
        assert!(
            args.contains(
                "--label org.opencontainers.image.source=https://git.example.com/api.git"
            ),
            "{args}"
        );
        assert!(args.ends_with("--tag r/api:abc"), "{args}");
    }
}
