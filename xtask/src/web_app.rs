//! The web app in `web/`: its npm packages (from the committed lockfile), its build (type
//! check, then Vite into `web/dist`, which the api embeds) and its component tests. Every
//! npm command goes through [`npm`].

use std::path::PathBuf;
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, bail};

use crate::project;

/// Vite 8 needs this Node.js or later.
const NODE_MINIMUM: (u32, u32) = (20, 19);

pub fn folder() -> PathBuf {
    project::root().join("web")
}

/// `web/dist`: packages installed when the lockfile changed, then type checked and built.
pub fn build() -> anyhow::Result<()> {
    ensure_packages()?;
    project::step("the web app: type check and build (web/dist)");
    npm(&["run", "build"], "building the web app")
}

/// Vitest's component tests.
pub fn component_tests() -> anyhow::Result<()> {
    ensure_packages()?;
    npm(&["test"], "the web app's component tests")
}

/// `npm ci` when `node_modules` is missing or older than the lockfile.
fn ensure_packages() -> anyhow::Result<()> {
    check_node()?;
    let web = folder();
    let modified = |path: PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let lockfile = modified(web.join("package-lock.json"));
    let installed = modified(web.join("node_modules/.package-lock.json"));
    if packages_current(lockfile, installed) {
        return Ok(());
    }
    project::step("the web app's packages (npm ci, from web/package-lock.json)");
    npm(
        &["ci", "--no-audit", "--no-fund"],
        "installing the web app's packages",
    )
}

/// Whether the installed packages are as new as the lockfile.
pub fn packages_current(lockfile: Option<SystemTime>, installed: Option<SystemTime>) -> bool {
    match (lockfile, installed) {
        (Some(lockfile), Some(installed)) => installed >= lockfile,
        _ => false,
    }
}

fn check_node() -> anyhow::Result<()> {
    let output = Command::new("node").arg("--version").output();
    let version = match output {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).into_owned()
        }
        _ => bail!("{}", node_missing()),
    };
    if let Some(problem) = node_version_problem(&version) {
        bail!("{problem}");
    }
    Ok(())
}

fn node_missing() -> String {
    let (major, minor) = NODE_MINIMUM;
    format!(
        "the web app needs Node.js {major}.{minor} or later with npm: install them and run this again"
    )
}

/// Why `node --version`'s answer is not good enough, if it is not.
pub fn node_version_problem(version: &str) -> Option<String> {
    let text = version.trim();
    let parts: Vec<u32> = text
        .trim_start_matches('v')
        .split('.')
        .map_while(|part| part.parse().ok())
        .collect();
    let (major, minor) = NODE_MINIMUM;
    match parts.as_slice() {
        [found_major, found_minor, ..] if (*found_major, *found_minor) >= NODE_MINIMUM => None,
        [_, _, ..] => Some(format!(
            "the web app needs Node.js {major}.{minor} or later; this is {text}: upgrade Node.js and run this again"
        )),
        _ => Some(node_missing()),
    }
}

/// The one wrapper for npm, run in `web/` with its output shown.
fn npm(args: &[&str], what: &str) -> anyhow::Result<()> {
    let status = Command::new("npm")
        .args(args)
        .current_dir(folder())
        .status()
        .with_context(|| format!("{what}: running npm ({})", node_missing()))?;
    if !status.success() {
        bail!(
            "{what} failed: `npm {}` in web/ ({status}; see above)",
            args.join(" ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn packages_are_installed_again_when_the_lockfile_is_newer() {
        let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let later = then + Duration::from_secs(5);
        assert!(packages_current(Some(then), Some(later)));
        assert!(!packages_current(Some(later), Some(then)));
        assert!(!packages_current(Some(then), None), "nothing installed yet");
    }

    #[test]
    fn node_must_be_new_enough_for_vite() {
        assert_eq!(node_version_problem("v20.19.0\n"), None);
        assert_eq!(node_version_problem("v22.1.0"), None);
        let old = node_version_problem("v18.19.1").unwrap();
        assert!(
            old.contains("20.19 or later") && old.contains("v18.19.1"),
            "{old}"
        );
        assert!(node_version_problem("v20.11.0").is_some());
        assert!(node_version_problem("garbage").unwrap().contains("install"));
    }
}
