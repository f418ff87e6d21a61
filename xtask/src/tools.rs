//! The external tools (helm, kubectl, the manifest validator, the security scanner), found or installed by
//! `scripts/install-tools.sh`, so a person running the script and xtask get the same ones.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

#[derive(Debug, Clone)]
pub struct Tools {
    pub helm: PathBuf,
    pub kubectl: PathBuf,
    pub kubernetes_validate: PathBuf,
    /// checkov, the security scanner `lint` runs over the rendered manifests.
    pub scanner: PathBuf,
    /// podman or docker, when one is installed.
    pub engine: Option<PathBuf>,
    /// wrk, the HTTP load generator, when installed.
    pub wrk: Option<PathBuf>,
    /// redis-server, for a throwaway Redis, when installed.
    pub redis_server: Option<PathBuf>,
    /// rabbitmq-server, for a throwaway RabbitMQ, when installed.
    pub rabbitmq_server: Option<PathBuf>,
    /// chromium, for the web app's browser tests, when installed.
    pub chromium: Option<PathBuf>,
}

impl Tools {
    /// Runs the installer (a no-op when everything is in place) and reads the paths.
    pub fn ensure() -> anyhow::Result<Self> {
        Self::install(&[])
    }

    /// The same, and Chromium for the web app's browser tests (installed when missing).
    pub fn ensure_with_browser() -> anyhow::Result<Self> {
        Self::install(&["--with-browser"])
    }

    fn install(options: &[&str]) -> anyhow::Result<Self> {
        let script = crate::project::root().join("scripts/install-tools.sh");
        let output = Command::new("bash")
            .arg(&script)
            .args(options)
            .arg("--print-paths")
            .stderr(std::process::Stdio::inherit())
            .output()
            .with_context(|| format!("running {}", script.display()))?;
        if !output.status.success() {
            bail!("{} failed (see above)", script.display());
        }
        parse_paths(&String::from_utf8_lossy(&output.stdout))
    }
}

fn parse_paths(text: &str) -> anyhow::Result<Tools> {
    let find = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
            .map(PathBuf::from)
            .with_context(|| format!("install-tools.sh did not report a path for {name}"))
    };
    Ok(Tools {
        helm: find("helm")?,
        kubectl: find("kubectl")?,
        kubernetes_validate: find("kubernetes-validate")?,
        scanner: find("scanner")?,
        engine: find("engine")
            .ok()
            .filter(|path| !path.as_os_str().is_empty()),
        wrk: find("wrk").ok().filter(|path| !path.as_os_str().is_empty()),
        redis_server: find("redis-server")
            .ok()
            .filter(|path| !path.as_os_str().is_empty()),
        rabbitmq_server: find("rabbitmq-server")
            .ok()
            .filter(|path| !path.as_os_str().is_empty()),
        chromium: find("chromium")
            .ok()
            .filter(|path| !path.as_os_str().is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_installer_report() {
        let tools = parse_paths(
            "helm=/a/helm\nkubectl=/usr/bin/kubectl\nkubernetes-validate=/v/bin/kv\nscanner=/s/bin/checkov\nengine=\n",
        )
        .unwrap();
        assert_eq!(tools.helm, PathBuf::from("/a/helm"));
        assert_eq!(tools.kubectl, PathBuf::from("/usr/bin/kubectl"));
        assert_eq!(tools.kubernetes_validate, PathBuf::from("/v/bin/kv"));
        assert_eq!(tools.scanner, PathBuf::from("/s/bin/checkov"));
        assert_eq!(
            tools.engine, None,
            "an empty engine means none is installed"
        );
        assert!(
            parse_paths("helm=/a/helm\n")
                .unwrap_err()
                .to_string()
                .contains("kubectl")
        );
    }
}
