//! Every docker/podman command line xtask runs, in one place: finding the engine,
//! checking that an image exists, building, pushing, reading a pushed digest, saving an
//! archive.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context, bail};

/// Whether an image exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageCheck {
    Exists(String),
    Missing(String),
    /// No engine, no registry access, ...: said as a warning, never as missing.
    Unknown(String),
}

#[derive(Debug, Clone)]
pub struct Engine {
    program: String,
}

impl Engine {
    /// The engine named, else podman or docker from PATH, whichever answers first.
    pub fn find(named: Option<&str>) -> Option<Self> {
        if let Some(name) = named {
            return Some(Self {
                program: name.to_owned(),
            });
        }
        ["podman", "docker"]
            .into_iter()
            .find(|tool| {
                Command::new(tool)
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            .map(|tool| Self {
                program: tool.to_owned(),
            })
    }

    /// The program, as named or found (`podman`, `/usr/bin/docker`).
    pub fn name(&self) -> &str {
        &self.program
    }

    pub fn is_docker(&self) -> bool {
        self.program.ends_with("docker")
    }

    fn output(&self, args: &[&str]) -> anyhow::Result<Output> {
        Command::new(&self.program)
            .args(args)
            .output()
            .with_context(|| {
                format!(
                    "running {} {}",
                    self.program,
                    args.first().copied().unwrap_or_default()
                )
            })
    }

    /// Whether `reference` exists locally or in its registry.
    pub fn image_check(&self, reference: &str) -> ImageCheck {
        if self
            .output(&["image", "inspect", reference])
            .is_ok_and(|o| o.status.success())
        {
            return ImageCheck::Exists(format!("{reference} (local)"));
        }
        match self.output(&["manifest", "inspect", reference]) {
            Ok(output) if output.status.success() => {
                ImageCheck::Exists(format!("{reference} (registry)"))
            }
            Ok(output) => classify(reference, &String::from_utf8_lossy(&output.stderr)),
            Err(err) => ImageCheck::Unknown(format!("{err:#}")),
        }
    }

    /// The size of a local image, in bytes, as the engine reports it.
    pub fn image_size(&self, reference: &str) -> anyhow::Result<u64> {
        let output = self.output(&["image", "inspect", "--format", "{{.Size}}", reference])?;
        if !output.status.success() {
            bail!(
                "{} image inspect {reference}: {}",
                self.program,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let text = String::from_utf8_lossy(&output.stdout);
        text.trim()
            .parse()
            .with_context(|| format!("{} reported the size {:?}", self.program, text.trim()))
    }

    /// `build <args> <context>`, its output shown on stderr.
    pub fn build(&self, args: &[String], context: &Path) -> anyhow::Result<()> {
        let mut command = Command::new(&self.program);
        command.args(args).arg(context);
        run_visible(&mut command, &format!("{} build", self.program))
    }

    pub fn push(&self, reference: &str) -> anyhow::Result<()> {
        run_visible(
            Command::new(&self.program).args(["push", reference]),
            &format!("{} push", self.program),
        )
    }

    /// The registry digest of a pushed image.
    pub fn pushed_digest(&self, reference: &str) -> anyhow::Result<String> {
        let output = self.output(&[
            "image",
            "inspect",
            "--format",
            "{{index .RepoDigests 0}}",
            reference,
        ])?;
        let text = String::from_utf8_lossy(&output.stdout);
        text.trim()
            .rsplit_once('@')
            .map(|(_, digest)| digest.to_owned())
            .filter(|digest| digest.starts_with("sha256:"))
            .with_context(|| format!("{} reported no digest for {reference}", self.program))
    }

    /// `save --output <archive> <reference>`.
    pub fn save(&self, reference: &str, archive: &Path) -> anyhow::Result<()> {
        let archive = archive.to_string_lossy();
        let saved = self.output(&["save", "--output", &archive, reference])?;
        if !saved.status.success() {
            bail!(
                "{} save {reference} failed: {}; build it first with `cargo xtask build`",
                self.program,
                String::from_utf8_lossy(&saved.stderr).trim()
            );
        }
        Ok(())
    }
}

/// Registry answers meaning "no such image", as opposed to "could not ask".
fn classify(reference: &str, stderr: &str) -> ImageCheck {
    let lower = stderr.to_ascii_lowercase();
    let missing = [
        "manifest unknown",
        "no such manifest",
        "not found",
        "name unknown",
    ];
    if missing.iter().any(|m| lower.contains(m)) {
        ImageCheck::Missing(format!("{reference}: {}", stderr.trim()))
    } else {
        ImageCheck::Unknown(format!("{reference}: {}", stderr.trim()))
    }
}

/// Runs an engine command with its output on our stderr: stdout carries only what the
/// xtask command prints for scripts.
fn run_visible(command: &mut Command, what: &str) -> anyhow::Result<()> {
    use std::os::fd::AsFd;
    let stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .context("duplicating stderr")?;
    let status = command
        .stdout(std::process::Stdio::from(stderr))
        .status()
        .with_context(|| format!("running {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status}); see above");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_answers_are_told_apart() {
        assert!(matches!(
            classify("r/a:1", "manifest unknown: manifest unknown"),
            ImageCheck::Missing(_)
        ));
        assert!(matches!(
            classify("r/a:1", "Error: r/a:1: not found"),
            ImageCheck::Missing(_)
        ));
        assert!(matches!(
            classify("r/a:1", "dial tcp: lookup r: no such host"),
            ImageCheck::Unknown(_)
        ));
    }
}
