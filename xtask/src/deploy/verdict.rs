//! xtask's verdict on each revision, kept in Helm's own release record (a label on the
//! release Secret, which Helm carries along), so a later deploy rolls back only to a
//! revision somebody saw healthy: never to a kept failed install, an interrupted deploy
//! or a rollback that failed, all of which Helm itself calls `deployed` when it did not
//! wait.

use std::collections::BTreeMap;

use crate::kubectl::{CallError, Kubectl, Scope};

/// The release label xtask keeps its verdict in.
pub const LABEL: &str = "xtask.deploy/verdict";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Applied; nobody has seen it healthy (yet).
    Pending,
    /// Rolled out and passed the smoke tests (or a rollback to it completed).
    Verified,
    Failed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Verified, Self::Failed]
            .into_iter()
            .find(|v| v.as_str() == text)
    }
}

/// Each revision's verdict, read from the release Secrets; revisions made without xtask
/// have none.
pub fn read(
    kubectl: &Kubectl,
    scope: &Scope,
    release: &str,
) -> Result<BTreeMap<u32, Verdict>, CallError> {
    let secrets = kubectl.get_json(
        scope,
        &["secrets", "-l", &format!("owner=helm,name={release}")],
    )?;
    Ok(secrets["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|secret| {
            let labels = &secret["metadata"]["labels"];
            let revision = labels["version"].as_str()?.parse().ok()?;
            Some((revision, Verdict::parse(labels[LABEL].as_str()?)?))
        })
        .collect())
}

/// Records `verdict` on `revision`.
pub fn write(
    kubectl: &Kubectl,
    scope: &Scope,
    release: &str,
    revision: u32,
    verdict: Verdict,
) -> Result<(), CallError> {
    let secret = format!("sh.helm.release.v1.{release}.v{revision}");
    kubectl.label(
        scope,
        "secret",
        &secret,
        &format!("{LABEL}={}", verdict.as_str()),
    )
}
