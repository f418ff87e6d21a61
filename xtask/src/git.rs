//! Every git command line xtask runs, in one place, all in the repository root.

use std::process::Command;

use anyhow::{Context, bail};

use crate::project;

fn git(args: &[&str]) -> anyhow::Result<std::process::Output> {
    Command::new("git")
        .args(args)
        .current_dir(project::root())
        .output()
        .with_context(|| format!("running git {}", args.join(" ")))
}

/// The full revision of HEAD, with `-dirty` when the tree has uncommitted changes.
pub fn revision() -> anyhow::Result<String> {
    let output = git(&["rev-parse", "HEAD"])?;
    if !output.status.success() {
        bail!(
            "git rev-parse HEAD failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let revision = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Ok(if is_dirty() {
        format!("{revision}-dirty")
    } else {
        revision
    })
}

/// Whether the tree has uncommitted changes. When git cannot tell, the answer is yes:
/// a protected deploy must not go ahead on a tree nobody could check.
pub fn is_dirty() -> bool {
    git(&["status", "--porcelain"])
        .map(|out| !out.status.success() || !out.stdout.is_empty())
        .unwrap_or(true)
}

/// `user.email` from git's configuration, when set.
pub fn user_email() -> Option<String> {
    let output = git(&["config", "user.email"])
        .ok()
        .filter(|o| o.status.success())?;
    let email = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (!email.is_empty()).then_some(email)
}

/// The `origin` remote's URL, when it is a network address (not a local path).
pub fn origin_url() -> Option<String> {
    let output = git(&["remote", "get-url", "origin"]).ok()?;
    let url = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && !url.is_empty() && !url.starts_with('/')).then_some(url)
}

/// The first 12 characters of a revision, keeping a `-dirty` mark.
pub fn short(revision: &str) -> String {
    let (clean, dirty) = match revision.strip_suffix("-dirty") {
        Some(clean) => (clean, "-dirty"),
        None => (revision, ""),
    };
    format!("{}{dirty}", &clean[..clean.len().min(12)])
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_revisions_keep_the_dirty_mark() {
        assert_eq!(super::short("0123456789abcdef"), "0123456789ab");
        assert_eq!(super::short("0123456789abcdef-dirty"), "0123456789ab-dirty");
        assert_eq!(super::short("abc"), "abc");
    }
}
