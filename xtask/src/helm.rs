//! Every helm command line xtask runs, in one place.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

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

    fn output(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = Command::new(&self.program)
            .args(args)
            .output()
            .with_context(|| format!("running {}", self.program.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            bail!(
                "helm {} failed:\n{}{}",
                args.first().copied().unwrap_or_default(),
                stdout.trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(stdout)
    }
}

fn arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
