//! What a failed deploy undoes: nothing when helm stored no revision; else a rollback to
//! the newest revision known good, or for a first install what the overlay says. The
//! decision is a pure function of the release history and the verdicts.

use std::collections::BTreeMap;

use super::verdict::Verdict;
use crate::helm::Revision;
use crate::overlay::FailedInstall;

/// What to do about a failed deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// Helm stored no new revision: nothing changed, nothing to undo.
    Nothing,
    RollBack {
        to: u32,
    },
    /// A failed first install, with `onFailedInstall: uninstall`.
    Uninstall,
    /// A failed first install, with `onFailedInstall: keep`.
    Keep,
    /// Earlier revisions exist but none is known good: left as it is, for a person.
    NoGoodRevision,
}

/// A revision a deploy may return to: live in Helm's eyes (`deployed` or `superseded`)
/// and, when xtask deployed it, verified healthy by xtask. Revisions made without xtask
/// carry no verdict and count on Helm's status alone.
pub fn is_good(revision: &Revision, verdicts: &BTreeMap<u32, Verdict>) -> bool {
    matches!(revision.status.as_str(), "deployed" | "superseded")
        && verdicts
            .get(&revision.revision)
            .is_none_or(|v| *v == Verdict::Verified)
}

/// The newest good revision below `below`.
pub fn good_revision(
    history: &[Revision],
    verdicts: &BTreeMap<u32, Verdict>,
    below: u32,
) -> Option<u32> {
    history
        .iter()
        .filter(|r| r.revision < below && is_good(r, verdicts))
        .map(|r| r.revision)
        .max()
}

/// `stored`: the revision this deploy made, or `None` when helm stored nothing;
/// `history`: the release's revisions now.
pub fn decide(
    history: &[Revision],
    verdicts: &BTreeMap<u32, Verdict>,
    stored: Option<u32>,
    policy: FailedInstall,
) -> Recovery {
    let Some(failed) = stored else {
        return Recovery::Nothing;
    };
    if let Some(good) = good_revision(history, verdicts, failed) {
        return Recovery::RollBack { to: good };
    }
    let first_install = !history.iter().any(|r| r.revision < failed);
    match (first_install, policy) {
        (true, FailedInstall::Uninstall) => Recovery::Uninstall,
        (true, FailedInstall::Keep) => Recovery::Keep,
        (false, _) => Recovery::NoGoodRevision,
    }
}

/// What to tell a person about a recovery that was not a clean rollback.
pub fn advice(
    recovery: &Recovery,
    env: &str,
    release: &str,
    namespace: &str,
    context: &str,
) -> String {
    match recovery {
        Recovery::Nothing => "none: nothing was applied".to_owned(),
        Recovery::Keep => format!(
            "left the failed first install in place for inspection; remove it with `helm uninstall {release} -n {namespace} --kube-context {context}`"
        ),
        Recovery::NoGoodRevision => format!(
            "nothing rolled back: no earlier revision is known good; pick one with `helm history {release} -n {namespace} --kube-context {context}` and run `cargo xtask rollback {env} --revision N`"
        ),
        Recovery::RollBack { to } => format!("rolled back to revision {to}"),
        Recovery::Uninstall => "uninstalled the failed first install".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(entries: &[(u32, &str)]) -> Vec<Revision> {
        entries.iter().map(|(r, s)| Revision::new(*r, s)).collect()
    }

    #[test]
    fn nothing_stored_means_nothing_undone() {
        let h = history(&[(1, "deployed")]);
        assert_eq!(
            decide(&h, &BTreeMap::new(), None, FailedInstall::Uninstall),
            Recovery::Nothing
        );
    }

    #[test]
    fn the_target_is_the_newest_verified_or_untracked_live_revision() {
        let h = history(&[
            (1, "superseded"),
            (2, "superseded"),
            (3, "deployed"),
            (4, "failed"),
        ]);
        let mut verdicts = BTreeMap::from([
            (1, Verdict::Verified),
            (2, Verdict::Pending),
            (3, Verdict::Failed),
        ]);
        assert_eq!(
            decide(&h, &verdicts, Some(4), FailedInstall::Keep),
            Recovery::RollBack { to: 1 }
        );
        verdicts.remove(&3);
        assert_eq!(
            decide(&h, &verdicts, Some(4), FailedInstall::Keep),
            Recovery::RollBack { to: 3 },
            "made by hand: Helm's word"
        );
        assert_eq!(
            decide(&h, &verdicts, Some(2), FailedInstall::Keep),
            Recovery::RollBack { to: 1 }
        );
    }

    #[test]
    fn first_installs_follow_the_overlay_and_later_ones_wait_for_a_person() {
        let first = history(&[(1, "deployed")]);
        let verdicts = BTreeMap::from([(1, Verdict::Pending)]);
        assert_eq!(
            decide(&first, &verdicts, Some(1), FailedInstall::Uninstall),
            Recovery::Uninstall
        );
        assert_eq!(
            decide(&first, &verdicts, Some(1), FailedInstall::Keep),
            Recovery::Keep
        );
        let later = history(&[(1, "superseded"), (2, "deployed")]);
        let verdicts = BTreeMap::from([(1, Verdict::Failed), (2, Verdict::Pending)]);
        assert_eq!(
            decide(&later, &verdicts, Some(2), FailedInstall::Uninstall),
            Recovery::NoGoodRevision
        );
    }
}
