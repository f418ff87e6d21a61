//! The upgrade step: `helm upgrade --install`, bounded by the overlay's deploy timeout
//! and stoppable with Ctrl-C; then whether helm stored a new revision, from the history
//! before and after (a failure before Helm stores one changed nothing).

use std::time::{Duration, Instant};

use crate::helm::{ClusterError, Ended, Helm, Release, Revision, Target, UpgradeOptions};
use crate::interrupt::Interrupt;

/// How long helm gets to wind down after it is asked to stop.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// How the upgrade went.
#[derive(Debug)]
pub enum Upgraded {
    Applied,
    Failed(String),
    /// Stopped at the deploy timeout; what helm had said.
    TimedOut(String),
    /// Stopped on Ctrl-C; what helm had said.
    Interrupted(String),
}

/// The revision the upgrade stored: the newest in `after` when it is newer than every one
/// in `before`.
pub fn stored_revision(before: &[Revision], after: &[Revision]) -> Option<u32> {
    let newest_before = before.iter().map(|r| r.revision).max().unwrap_or(0);
    after
        .iter()
        .map(|r| r.revision)
        .max()
        .filter(|newest| *newest > newest_before)
}

pub fn run(
    helm: &Helm,
    release: &Release,
    target: &Target,
    options: &UpgradeOptions,
    deadline: Duration,
    interrupt: &Interrupt,
) -> Upgraded {
    let running = match helm.start_upgrade(release, target.context, options) {
        Ok(running) => running,
        Err(err) => return Upgraded::Failed(err.to_string()),
    };
    match running.finish(Instant::now() + deadline, interrupt, STOP_GRACE) {
        Ended::Finished(Ok(_)) => Upgraded::Applied,
        Ended::Finished(Err(
            ClusterError::Unreachable(message) | ClusterError::Failed(message),
        )) => Upgraded::Failed(message),
        Ended::TimedOut(said) => Upgraded::TimedOut(said),
        Ended::Interrupted(said) => Upgraded::Interrupted(said),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(revisions: &[u32]) -> Vec<Revision> {
        revisions
            .iter()
            .map(|r| Revision::new(*r, "deployed"))
            .collect()
    }

    #[test]
    fn only_a_newer_revision_counts_as_stored() {
        assert_eq!(stored_revision(&history(&[1, 2]), &history(&[1, 2])), None);
        assert_eq!(
            stored_revision(&history(&[1, 2]), &history(&[1, 2, 3])),
            Some(3)
        );
        assert_eq!(stored_revision(&[], &history(&[1])), Some(1));
        assert_eq!(stored_revision(&[], &[]), None);
    }
}
