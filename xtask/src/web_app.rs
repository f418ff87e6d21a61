//! The web app in `web/`: its npm packages (from the committed lockfile), its build (type
//! check, then Vite into `web/dist`, which the api embeds) and its component tests. Every
//! npm command goes through [`npm`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, bail};

use crate::project;

/// The Node.js releases every package in the lockfile accepts (Vite 8, Vitest 4 and jsdom
/// name these in their `engines`; `.npmrc` makes npm hold to them).
const NODE_SUPPORTED: &str = "20.19+, 22.13+ or 24+";

pub fn folder() -> PathBuf {
    project::root().join("web")
}

/// What `npm run build` reads: when none of it is newer than `web/dist`, the build is
/// current and is left alone (a new build rewrites every file, and the api, which embeds
/// them, would be compiled again for nothing).
const BUILD_INPUTS: [&str; 7] = [
    "src",
    "public",
    "index.html",
    "vite.config.ts",
    "tsconfig.json",
    "package.json",
    "package-lock.json",
];

/// `web/dist`: packages installed when the lockfile changed, then type checked and built
/// when a source changed since the last build.
pub fn build() -> anyhow::Result<()> {
    ensure_packages()?;
    let web = folder();
    let inputs = BUILD_INPUTS
        .iter()
        .filter_map(|input| newest_in(&web.join(input)))
        .max();
    if made_since(inputs, modified(&web.join("dist/index.html"))) {
        project::step("the web app: web/dist is up to date");
        return Ok(());
    }
    project::step("the web app: type check and build (web/dist)");
    npm(&["run", "build"], "building the web app")
}

/// Whether what was made from some sources (a build, an install) at `made` is at least as
/// new as the newest of them, changed at `sources`; never when either time is unknown.
pub fn made_since(sources: Option<SystemTime>, made: Option<SystemTime>) -> bool {
    matches!((sources, made), (Some(sources), Some(made)) if made >= sources)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of `path` or anything below it.
fn newest_in(path: &Path) -> Option<SystemTime> {
    let children = std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| newest_in(&entry.path()));
    modified(path).into_iter().chain(children).max()
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
    let lockfile = modified(&web.join("package-lock.json"));
    let installed = modified(&web.join("node_modules/.package-lock.json"));
    if made_since(lockfile, installed) {
        return Ok(());
    }
    project::step("the web app's packages (npm ci, from web/package-lock.json)");
    npm(
        &["ci", "--no-audit", "--no-fund"],
        "installing the web app's packages",
    )
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
    format!("the web app needs Node.js {NODE_SUPPORTED} with npm: install them and run this again")
}

/// Why `node --version`'s answer is not good enough, if it is not.
pub fn node_version_problem(version: &str) -> Option<String> {
    let text = version.trim();
    let parts: Vec<u32> = text
        .trim_start_matches('v')
        .split('.')
        .map_while(|part| part.parse().ok())
        .collect();
    let supported = |major: u32, minor: u32| match major {
        20 => minor >= 19,
        22 => minor >= 13,
        major => major >= 24,
    };
    match parts.as_slice() {
        [major, minor, ..] if supported(*major, *minor) => None,
        [_, _, ..] => Some(format!(
            "the web app needs Node.js {NODE_SUPPORTED}; this is {text}: install a supported release and run this again"
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

    /// One rule for the packages (against the lockfile) and the build (against its sources).
    #[test]
    fn what_was_made_is_kept_only_while_no_source_is_newer() {
        let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let later = then + Duration::from_secs(5);
        assert!(made_since(Some(then), Some(later)));
        assert!(
            !made_since(Some(later), Some(then)),
            "a source changed since"
        );
        assert!(!made_since(Some(then), None), "never installed or built");
    }

    #[test]
    fn node_must_be_a_release_every_package_accepts() {
        for good in ["v20.19.0\n", "v20.20.2", "v22.13.0", "v24.0.0", "v26.1.0"] {
            assert_eq!(node_version_problem(good), None, "{good}");
        }
        for bad in ["v18.19.1", "v20.11.0", "v21.7.3", "v22.12.0", "v23.11.0"] {
            let problem = node_version_problem(bad).unwrap();
            assert!(
                problem.contains("20.19+, 22.13+ or 24+") && problem.contains(bad),
                "{problem}"
            );
        }
        assert!(node_version_problem("garbage").unwrap().contains("install"));
    }
}
