//! The rollout step: the rollout of the release's Deployments (the api and the worker)
//! and the migration Job, judged from what the cluster reports about the *new* revision
//! only (old ReplicaSets' pods may crash-loop until they are replaced; that is what the
//! new revision fixes).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::diagnosis::{self, JobState};
use super::report::Reporter;
use crate::interrupt::Interrupt;
use crate::kubectl::{CallError, Kubectl, Scope, release_selector};

/// Counts from a Deployment's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RolloutState {
    pub desired: u64,
    pub updated: u64,
    pub ready: u64,
    pub available: u64,
    /// All pods, old and new.
    pub total: u64,
    /// The controller has seen the newest spec.
    pub observed: bool,
    /// Kubernetes gave up (`progressDeadlineSeconds` passed) on the newest spec. A
    /// condition left from an earlier spec counts only once the controller has seen the
    /// new one, as `kubectl rollout status` has it.
    pub deadline_exceeded: bool,
}

impl RolloutState {
    /// Every desired pod runs the new spec and is available, and no old pod is left.
    pub fn complete(&self) -> bool {
        self.observed
            && self.updated == self.desired
            && self.available == self.desired
            && self.ready == self.desired
            && self.total == self.desired
    }

    pub fn summary(&self) -> String {
        let counts = format!(
            "{}/{} ready, {}/{} updated",
            self.ready, self.desired, self.updated, self.desired
        );
        match self.total.saturating_sub(self.updated) {
            0 => counts,
            1 => format!("{counts}, 1 old pod left"),
            old => format!("{counts}, {old} old pods left"),
        }
    }
}

/// The release's Deployments, the api first.
fn deployments(reading: &Reading) -> Vec<&Value> {
    let mut all: Vec<&Value> = reading.deployments["items"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    all.sort_by_key(|d| d["metadata"]["labels"]["app.kubernetes.io/component"] != "api");
    all
}

fn state_of(deployment: &Value) -> RolloutState {
    let status = &deployment["status"];
    let count = |key: &str| status[key].as_u64().unwrap_or(0);
    let generation = deployment["metadata"]["generation"].as_u64().unwrap_or(0);
    let observed = status["observedGeneration"].as_u64().unwrap_or(0) >= generation;
    RolloutState {
        desired: deployment["spec"]["replicas"].as_u64().unwrap_or(1),
        updated: count("updatedReplicas"),
        ready: count("readyReplicas"),
        available: count("availableReplicas"),
        total: count("replicas"),
        observed,
        deadline_exceeded: observed
            && status["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded"),
    }
}

/// What the cluster reports, read in one poll.
pub struct Reading {
    pub deployments: Value,
    pub replicasets: Value,
    pub jobs: Value,
    pub pods: Value,
}

/// The verdict of one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Done(String),
    Waiting(String),
    Failed(String),
}

/// The pods of each Deployment's newest ReplicaSet: the one whose revision is the
/// Deployment's. Until the controller has made it, there are none.
pub fn new_pods(reading: &Reading) -> Value {
    let revision = |object: &Value| {
        object["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
            .as_str()
            .and_then(|r| r.parse::<u64>().ok())
    };
    let sets = reading.replicasets["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut hashes = Vec::new();
    for deployment in deployments(reading) {
        // A ReplicaSet names its Deployment as its owner.
        let owned: Vec<&Value> = sets
            .iter()
            .filter(|rs| {
                let owners = rs["metadata"]["ownerReferences"].as_array();
                owners.is_none_or(|owners| {
                    owners
                        .iter()
                        .any(|o| o["name"] == deployment["metadata"]["name"])
                })
            })
            .collect();
        let newest = match revision(deployment) {
            Some(wanted) => owned.into_iter().find(|rs| revision(rs) == Some(wanted)),
            None => owned.into_iter().max_by_key(|rs| revision(rs)),
        };
        hashes.extend(newest.and_then(|rs| rs["metadata"]["labels"]["pod-template-hash"].as_str()));
    }
    let items: Vec<&Value> = reading.pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["metadata"]["labels"]["pod-template-hash"]
                .as_str()
                .is_some_and(|hash| hashes.contains(&hash))
        })
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect();
    json!({ "items": items })
}

/// The pods of the Job `name`.
pub fn job_pods(reading: &Reading, name: &str) -> Value {
    let items: Vec<&Value> = reading.pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            let labels = &p["metadata"]["labels"];
            labels["batch.kubernetes.io/job-name"] == name || labels["job-name"] == name
        })
        .collect();
    json!({ "items": items })
}

/// Done, waiting, or failed for good: from the migration Job, the Deployment's status
/// and the new revision's pods (and the Job's).
pub fn judge(reading: &Reading) -> Progress {
    let job = diagnosis::newest_job(&reading.jobs);
    if let JobState::Failed { name, reason } = &job {
        return Progress::Failed(format!("the migration Job {name} failed ({reason})"));
    }
    let states: Vec<(String, RolloutState)> = deployments(reading)
        .into_iter()
        .map(|d| {
            let component = d["metadata"]["labels"]["app.kubernetes.io/component"]
                .as_str()
                .unwrap_or("api");
            (component.to_owned(), state_of(d))
        })
        .collect();
    if states.is_empty() {
        return Progress::Waiting("waiting for the api Deployment to appear".to_owned());
    }
    // The api's counts as they always read; the other Deployments' named after them.
    let summary = states
        .iter()
        .map(|(component, state)| match component.as_str() {
            "api" => state.summary(),
            other => format!("{other} {}", state.summary()),
        })
        .collect::<Vec<_>>()
        .join(", ");
    if states.iter().any(|(_, state)| state.deadline_exceeded) {
        return Progress::Failed(format!(
            "Kubernetes reports ProgressDeadlineExceeded ({summary})"
        ));
    }
    let mut current = diagnosis::pod_problems(&new_pods(reading));
    if let JobState::Running { name } = &job {
        current.extend(diagnosis::pod_problems(&job_pods(reading, name)));
    }
    if let Some(fatal) = diagnosis::fatal_reason(&current) {
        return Progress::Failed(fatal);
    }
    let migration = match &job {
        JobState::Running { name } => format!(", migration {name} running"),
        JobState::Succeeded { name } => format!(", migration {name} done"),
        _ => String::new(),
    };
    if states.iter().all(|(_, state)| state.complete()) && !matches!(job, JobState::Running { .. })
    {
        return Progress::Done(format!("{summary}{migration}"));
    }
    Progress::Waiting(format!("{summary}{migration}"))
}

/// How a watch ended.
#[derive(Debug)]
pub enum Watched {
    Done,
    Failed(String),
    /// The cluster refuses to show the rollout (RBAC, an unknown context): no verdict.
    CannotSee(String),
    Interrupted,
}

/// Polls until the rollout is done, fails for good, or `timeout` passes. Read errors
/// that may pass are retried; a permanent one ends the watch at once.
pub fn watch(
    kubectl: &Kubectl,
    scope: &Scope,
    release: &str,
    timeout: Duration,
    poll: Duration,
    interrupt: &Interrupt,
    reporter: &mut Reporter,
) -> (Watched, Option<Reading>) {
    let started = Instant::now();
    let mut last = None;
    loop {
        if interrupt.happened() {
            return (Watched::Interrupted, last);
        }
        let elapsed = started.elapsed().as_secs();
        match read(kubectl, scope, release) {
            Ok(reading) => {
                match judge(&reading) {
                    Progress::Done(summary) => {
                        reporter.line(&format!("rollout complete: {summary} in {elapsed}s"));
                        return (Watched::Done, Some(reading));
                    }
                    Progress::Failed(reason) => return (Watched::Failed(reason), Some(reading)),
                    Progress::Waiting(summary) => {
                        reporter.progress(format!("{summary} ({elapsed}s)"))
                    }
                }
                last = Some(reading);
            }
            Err(err) if err.permanent => return (Watched::CannotSee(err.message), last),
            Err(err) => reporter.progress(format!(
                "cannot read the rollout, retrying: {err} ({elapsed}s)"
            )),
        }
        if started.elapsed() >= timeout {
            return (
                Watched::Failed(format!(
                    "the rollout did not complete within {}",
                    super::args::show(timeout)
                )),
                last,
            );
        }
        std::thread::sleep(poll);
    }
}

/// One poll: the release's Deployments, their ReplicaSets, the migration Jobs, the
/// release's pods.
pub fn read(kubectl: &Kubectl, scope: &Scope, release: &str) -> Result<Reading, CallError> {
    let release_objects = release_selector(release, None);
    Ok(Reading {
        deployments: kubectl.get_json(scope, &["deployments", "-l", &release_objects])?,
        replicasets: kubectl.get_json(scope, &["replicasets", "-l", &release_objects])?,
        jobs: kubectl.get_json(
            scope,
            &["jobs", "-l", &release_selector(release, Some("migrate"))],
        )?,
        pods: kubectl.get_json(scope, &["pods", "-l", &release_selector(release, None)])?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn state_of_first(deployments: &Value) -> Option<RolloutState> {
        Some(state_of(deployments["items"].as_array()?.first()?))
    }

    fn deployment(replicas: u64, updated: u64, ready: u64, total: u64) -> Value {
        json!({"items": [{"metadata": {"generation": 4}, "spec": {"replicas": replicas},
            "status": {"observedGeneration": 4, "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": ready, "replicas": total}}]})
    }

    #[test]
    fn complete_only_when_every_new_pod_is_available_and_old_ones_are_gone() {
        assert!(state_of_first(&deployment(3, 3, 3, 3)).unwrap().complete());
        assert!(
            !state_of_first(&deployment(3, 3, 3, 4)).unwrap().complete(),
            "an old pod remains"
        );
        assert!(!state_of_first(&deployment(3, 2, 3, 3)).unwrap().complete());
        assert_eq!(
            state_of_first(&deployment(3, 2, 1, 4)).unwrap().summary(),
            "1/3 ready, 2/3 updated, 2 old pods left"
        );
        assert_eq!(state_of_first(&json!({"items": []})), None);
    }

    #[test]
    fn an_unobserved_spec_or_a_passed_deadline_is_seen() {
        let stale = json!({"items": [{"metadata": {"generation": 5}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 4, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1, "replicas": 1}}]});
        assert!(!state_of_first(&stale).unwrap().complete());
        let stuck = json!({"items": [{"metadata": {"generation": 1}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}}]});
        assert!(state_of_first(&stuck).unwrap().deadline_exceeded);
        let left_over = json!({"items": [{"metadata": {"generation": 2}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}}]});
        assert!(
            !state_of_first(&left_over).unwrap().deadline_exceeded,
            "a condition about the old spec"
        );
    }

    fn pod(name: &str, hash: &str, restarts: u64) -> Value {
        json!({"metadata": {"name": name, "labels": {"pod-template-hash": hash}}, "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "api", "restartCount": restarts, "ready": false,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"reason": "Error"}}}]}})
    }

    fn reading(old_restarts: u64, new_restarts: u64) -> Reading {
        Reading {
            deployments: json!({"items": [{"metadata": {"generation": 2, "annotations": {"deployment.kubernetes.io/revision": "2"}},
                "spec": {"replicas": 1}, "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1}}]}),
            replicasets: json!({"items": [
                {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"}, "labels": {"pod-template-hash": "old"}}},
                {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "2"}, "labels": {"pod-template-hash": "new"}}}]}),
            jobs: json!({"items": [{"metadata": {"name": "api-migrate-2"}, "status": {"succeeded": 1}}]}),
            pods: json!({"items": [pod("api-old-1", "old", old_restarts), pod("api-new-1", "new", new_restarts)]}),
        }
    }

    #[test]
    fn the_worker_is_judged_beside_the_api() {
        let mut both = reading(0, 0);
        both.deployments = json!({"items": [
            {"metadata": {"name": "api-worker", "generation": 1, "labels": {"app.kubernetes.io/component": "worker"},
                "annotations": {"deployment.kubernetes.io/revision": "1"}},
             "spec": {"replicas": 1}, "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1}},
            {"metadata": {"name": "api", "generation": 1, "labels": {"app.kubernetes.io/component": "api"},
                "annotations": {"deployment.kubernetes.io/revision": "1"}},
             "spec": {"replicas": 1}, "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}}]});
        both.replicasets = json!({"items": [
            {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"}, "labels": {"pod-template-hash": "a1"}, "ownerReferences": [{"name": "api"}]}},
            {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"}, "labels": {"pod-template-hash": "w1"}, "ownerReferences": [{"name": "api-worker"}]}}]});
        both.pods = json!({"items": [pod("api-a1-x", "a1", 0), pod("api-worker-w1-x", "w1", 0)]});
        match judge(&both) {
            Progress::Waiting(summary) => assert_eq!(
                summary,
                "1/1 ready, 1/1 updated, worker 0/1 ready, 1/1 updated, migration api-migrate-2 done"
            ),
            other => panic!("the worker is not ready yet: {other:?}"),
        }
        both.pods = json!({"items": [pod("api-a1-x", "a1", 0), pod("api-worker-w1-x", "w1", 3)]});
        assert!(
            matches!(judge(&both), Progress::Failed(reason) if reason.contains("api-worker-w1-x")),
            "a crash-looping worker fails the rollout"
        );
    }

    #[test]
    fn only_the_new_revisions_pods_are_judged() {
        assert!(
            matches!(judge(&reading(9, 0)), Progress::Waiting(_)),
            "the old pod's crash loop is not the new revision's"
        );
        assert!(
            matches!(judge(&reading(0, 3)), Progress::Failed(reason) if reason.contains("api-new-1"))
        );
    }
}
