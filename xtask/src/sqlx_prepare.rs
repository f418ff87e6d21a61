//! The api's SQL is checked at compile time against the migrated schema (`sqlx::query!`).
//! Builds read the checked form from `api/.sqlx` (`SQLX_OFFLINE=true` in `.cargo/config.toml`),
//! so they need no database. `cargo xtask sqlx-prepare` re-derives it from a fresh
//! database migrated by the api's own migrations; `--check` (run by `cargo xtask test`)
//! fails when the committed form is out of date with the queries or the migrations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::postgres::Database;
use crate::project;
use crate::scratch_database::ScratchDatabase;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only check that api/.sqlx is current; change nothing.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let database = Database::provide("sqlx")?;
    eprintln!("    using {}", database.describe());
    if args.check {
        check(&database)
    } else {
        let fresh = derive(&database)?;
        let committed = committed_dir();
        if committed.exists() {
            std::fs::remove_dir_all(&committed)
                .with_context(|| format!("removing {}", committed.display()))?;
        }
        copy_dir(&fresh, &committed)?;
        eprintln!(
            "xtask: wrote {} ({} queries); commit it",
            committed.display(),
            read_dir(&committed)?.len()
        );
        Ok(())
    }
}

/// Fails when `api/.sqlx` differs from what the queries and migrations give now.
pub fn check(database: &Database) -> anyhow::Result<()> {
    let fresh = read_dir(&derive(database)?)?;
    let committed = read_dir(&committed_dir())?;
    let problems = differences(&committed, &fresh);
    if !problems.is_empty() {
        bail!(
            "api/.sqlx is out of date with the SQL in api/src ({}); run `cargo xtask \
             sqlx-prepare` and commit api/.sqlx",
            problems.join("; ")
        );
    }
    Ok(())
}

fn committed_dir() -> PathBuf {
    project::root().join("api/.sqlx")
}

/// Query files that differ between the committed and the fresh set, described.
fn differences(
    committed: &BTreeMap<String, String>,
    fresh: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, text) in fresh {
        match committed.get(name) {
            None => problems.push(format!("{name} is missing")),
            Some(old) if old != text => problems.push(format!("{name} changed")),
            Some(_) => {}
        }
    }
    problems.extend(
        committed
            .keys()
            .filter(|name| !fresh.contains_key(*name))
            .map(|name| format!("{name} belongs to no query any more")),
    );
    problems
}

/// Migrates a fresh database, then checks the api crate against it with the macros
/// writing what they checked into a folder of their own; returns that folder.
fn derive(database: &Database) -> anyhow::Result<PathBuf> {
    let name = format!("xtask_sqlx_{}", std::process::id());
    let scratch = ScratchDatabase::create(database.url(), &name, true)?;
    let out = project::target_dir().join("sqlx-prepare");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("removing {}", out.display()))?;
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    // A changed source file makes cargo check the crate again, so every macro re-runs.
    let lib = project::root().join("api/src/lib.rs");
    let text = std::fs::read(&lib).with_context(|| format!("reading {}", lib.display()))?;
    std::fs::write(&lib, text).with_context(|| format!("touching {}", lib.display()))?;
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["check", "--quiet", "--package", "api", "--lib"])
        .current_dir(project::root())
        .env("SQLX_OFFLINE", "false")
        .env("DATABASE_URL", scratch.url())
        .env("SQLX_OFFLINE_DIR", &out)
        .status()
        .context("running cargo check")?;
    let dropped = scratch.remove();
    if !status.success() {
        bail!(
            "cargo check against the migrated schema failed (see above): a query does not fit it"
        );
    }
    dropped?;
    Ok(out)
}

fn read_dir(dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    if !dir.exists() {
        return Ok(files);
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "json") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            files.insert(name, text);
        }
    }
    Ok(files)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for (name, text) in read_dir(from)? {
        std::fs::write(to.join(&name), text).with_context(|| format!("writing {name}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_missing_changed_and_stale_queries() {
        let set = |items: &[(&str, &str)]| -> BTreeMap<String, String> {
            items
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let committed = set(&[("a.json", "1"), ("b.json", "2"), ("old.json", "x")]);
        let fresh = set(&[("a.json", "1"), ("b.json", "3"), ("new.json", "y")]);
        assert_eq!(
            differences(&committed, &fresh),
            [
                "b.json changed",
                "new.json is missing",
                "old.json belongs to no query any more"
            ]
        );
        assert!(differences(&fresh, &fresh).is_empty());
    }
}
