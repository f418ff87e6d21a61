//! The diagnosis step: why a rollout failed, read from the cluster before anything is
//! rolled back (a rollback deletes the failing pods, and their evidence with them). The
//! reading of pods, events and Jobs is pure; `run` fetches, prints and reads the logs.

use serde_json::Value;

use super::report::Reporter;
use crate::kubectl::{Kubectl, Scope};

/// A container that is not running well, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerProblem {
    pub pod: String,
    pub container: String,
    pub init: bool,
    /// e.g. CrashLoopBackOff, ImagePullBackOff, OOMKilled, Error, "not ready".
    pub reason: String,
    pub message: String,
    pub restarts: u64,
    /// Whether an earlier instance crashed (its log is the interesting one).
    pub crashed_before: bool,
    /// Whether it ever ran, so that it has a log to read.
    pub started: bool,
}

/// One pod that is not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodProblem {
    pub pod: String,
    pub phase: String,
    pub containers: Vec<ContainerProblem>,
}

/// Not-ready pods of `pods` (a `kubectl get pods -o json` list), most telling first.
pub fn pod_problems(pods: &Value) -> Vec<PodProblem> {
    items(pods)
        .filter_map(|pod| {
            let name = pod["metadata"]["name"].as_str()?.to_owned();
            let phase = pod["status"]["phase"]
                .as_str()
                .unwrap_or("Unknown")
                .to_owned();
            if phase == "Succeeded" {
                return None;
            }
            let ready = pod["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            if ready {
                return None;
            }
            let mut containers = Vec::new();
            for (key, init) in [
                ("initContainerStatuses", true),
                ("containerStatuses", false),
            ] {
                for status in pod["status"][key].as_array().into_iter().flatten() {
                    if let Some(problem) = container_problem(&name, status, init) {
                        containers.push(problem);
                    }
                }
            }
            Some(PodProblem {
                pod: name,
                phase,
                containers,
            })
        })
        .collect()
}

/// Waiting reasons of a container that has not run yet (so has no log).
const NOT_STARTED: &[&str] = &[
    "PodInitializing",
    "ContainerCreating",
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

fn container_problem(pod: &str, status: &Value, init: bool) -> Option<ContainerProblem> {
    let container = status["name"].as_str()?.to_owned();
    let restarts = status["restartCount"].as_u64().unwrap_or(0);
    let last_terminated = &status["lastState"]["terminated"];
    let crashed_before = !last_terminated.is_null();
    let state = &status["state"];
    let mut started = true;
    let (reason, message) = if let Some(waiting) = state.get("waiting") {
        let reason = str_of(waiting, "reason", "Waiting");
        started = crashed_before || !NOT_STARTED.contains(&reason.as_str());
        (reason, str_of(waiting, "message", ""))
    } else if let Some(terminated) = state.get("terminated") {
        if init && terminated["exitCode"] == 0 {
            return None;
        }
        let code = terminated["exitCode"].as_i64().unwrap_or(-1);
        (
            str_of(terminated, "reason", "Terminated"),
            format!("exit code {code}"),
        )
    } else if status["ready"] == true {
        return None;
    } else if init {
        // An init container still running holds up every container after it.
        (
            "running".to_owned(),
            "has not finished; the containers after it wait for it".to_owned(),
        )
    } else {
        (
            "not ready".to_owned(),
            "running but failing its readiness probe".to_owned(),
        )
    };
    // OOMKilled shows in the last state while the current one says CrashLoopBackOff.
    let (reason, message) = match last_terminated["reason"].as_str() {
        Some(last) if last != reason && last != "Completed" => {
            (format!("{reason} (last exit: {last})"), message)
        }
        _ => (reason, message),
    };
    Some(ContainerProblem {
        pod: pod.to_owned(),
        container,
        init,
        reason,
        message,
        restarts,
        crashed_before,
        started,
    })
}

/// A problem no amount of waiting fixes, worth failing the rollout on at once.
pub fn fatal_reason(problems: &[PodProblem]) -> Option<String> {
    // `ErrImagePull` alone is one failed attempt (the kubelet retries it, then backs
    // off); these do not get better by themselves.
    const FATAL: &[&str] = &[
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    ];
    problems.iter().flat_map(|p| &p.containers).find_map(|c| {
        let fatal = FATAL.iter().any(|f| c.reason.starts_with(f))
            || (c.reason.starts_with("CrashLoopBackOff") && c.restarts >= 3);
        fatal.then(|| format!("{} in pod {} ({})", c.reason, c.pod, c.container))
    })
}

/// Warning events about `objects` (names), newest last, at most `limit` per object.
pub fn warning_events(events: &Value, object: &str, limit: usize) -> Vec<String> {
    let mut found: Vec<(String, String)> = items(events)
        .filter(|e| e["type"] == "Warning" && e["involvedObject"]["name"] == object)
        .map(|e| {
            let when = e["lastTimestamp"]
                .as_str()
                .or(e["eventTime"].as_str())
                .unwrap_or("")
                .to_owned();
            // core/v1 events count repeats in `count`; events written through
            // events.k8s.io (the scheduler's) in `series.count`.
            let count = e["count"]
                .as_u64()
                .or(e["series"]["count"].as_u64())
                .unwrap_or(1);
            let times = if count > 1 {
                format!(" (x{count})")
            } else {
                String::new()
            };
            (
                when,
                format!(
                    "{}: {}{times}",
                    str_of(e, "reason", "Warning"),
                    str_of(e, "message", "").trim()
                ),
            )
        })
        .collect();
    found.sort();
    let skip = found.len().saturating_sub(limit);
    found.into_iter().skip(skip).map(|(_, line)| line).collect()
}

/// The state of the newest migration Job in `jobs` (a `kubectl get jobs -o json` list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Absent,
    Running { name: String },
    Succeeded { name: String },
    Failed { name: String, reason: String },
}

pub fn newest_job(jobs: &Value) -> JobState {
    let newest = items(jobs).max_by_key(|job| {
        let name = job["metadata"]["name"].as_str().unwrap_or_default();
        // Names end in the release revision: compare it as a number.
        name.rsplit('-')
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    });
    let Some(job) = newest else {
        return JobState::Absent;
    };
    let name = job["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let conditions = job["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if let Some(failed) = conditions
        .iter()
        .find(|c| c["type"] == "Failed" && c["status"] == "True")
    {
        let reason = format!(
            "{}: {}",
            str_of(failed, "reason", "Failed"),
            str_of(failed, "message", "")
        );
        return JobState::Failed { name, reason };
    }
    if conditions
        .iter()
        .any(|c| c["type"] == "Complete" && c["status"] == "True")
        || job["status"]["succeeded"].as_u64() >= Some(1)
    {
        return JobState::Succeeded { name };
    }
    JobState::Running { name }
}

/// The container whose log explains a failed Job: in its newest failed pod, the init
/// container that failed (say, waiting for the database), else the main one.
pub fn failed_job_container(job_pods: &Value) -> Option<(String, String)> {
    let pod = items(job_pods)
        .filter(|p| p["status"]["phase"] == "Failed")
        .max_by_key(|p| {
            p["metadata"]["creationTimestamp"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })?;
    let name = pod["metadata"]["name"].as_str()?.to_owned();
    let failed = |key: &str| {
        pod["status"][key]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| {
                c["state"]["terminated"]["exitCode"]
                    .as_i64()
                    .is_some_and(|code| code != 0)
            })
    };
    let container = failed("initContainerStatuses")
        .or_else(|| failed("containerStatuses"))
        .and_then(|c| c["name"].as_str())
        .or_else(|| pod["spec"]["containers"][0]["name"].as_str())?
        .to_owned();
    Some((name, container))
}

/// Step: prints why pods are not ready (phase, reasons, warning events, log tails of the
/// containers that ran) and, when the migration Job failed, the log of the container
/// that failed it. Best effort: a read error is said, not fatal.
pub fn run(
    kubectl: &Kubectl,
    scope: &Scope,
    pods: &Value,
    job: &JobState,
    job_pods: &Value,
    reporter: &mut Reporter,
) {
    let events = kubectl.get_json(scope, &["events"]);
    let events = match events {
        Ok(events) => events,
        Err(err) => {
            reporter.line(&format!("could not read events for a diagnosis: {err}"));
            Value::Null
        }
    };
    let problems = pod_problems(pods);
    if problems.is_empty() {
        reporter.line("no pod of the new revision reports a problem");
    }
    for pod in &problems {
        reporter.line(&format!("pod {} ({})", pod.pod, pod.phase));
        for c in &pod.containers {
            let kind = if c.init {
                "init container"
            } else {
                "container"
            };
            let message = if c.message.is_empty() {
                String::new()
            } else {
                format!(": {}", c.message)
            };
            reporter.line(&format!(
                "  {kind} {}: {}{message}, {} restarts",
                c.container, c.reason, c.restarts
            ));
        }
        for event in warning_events(&events, &pod.pod, 5) {
            reporter.line(&format!("  event {event}"));
        }
        for c in pod.containers.iter().filter(|c| c.started) {
            print_log(
                kubectl,
                scope,
                &pod.pod,
                &c.container,
                20,
                c.crashed_before,
                reporter,
            );
        }
    }
    if let JobState::Failed { name, reason } = job {
        reporter.line(&format!("migration Job {name} failed: {reason}"));
        match failed_job_container(job_pods) {
            Some((pod, container)) => {
                print_log(kubectl, scope, &pod, &container, 30, false, reporter)
            }
            None => reporter.line("  (no failed pod of the Job is left to read a log from)"),
        }
    }
}

fn print_log(
    kubectl: &Kubectl,
    scope: &Scope,
    pod: &str,
    container: &str,
    tail: u32,
    previous: bool,
    reporter: &mut Reporter,
) {
    match kubectl.logs(scope, pod, container, tail, previous) {
        Ok(log) if !log.trim().is_empty() => {
            reporter.line(&format!("  last log lines of {container} in {pod}:"));
            for line in log.lines() {
                reporter.line(&format!("    | {line}"));
            }
        }
        Ok(_) => {}
        Err(err) => reporter.line(&format!("  (no log: {err})")),
    }
}

fn items(list: &Value) -> impl Iterator<Item = &Value> {
    list["items"].as_array().into_iter().flatten()
}

fn str_of(value: &Value, key: &str, default: &str) -> String {
    value[key].as_str().unwrap_or(default).to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn crashing_pod() -> Value {
        json!({"items": [
            {"metadata": {"name": "api-7d9-abc"}, "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": "False"}],
                "initContainerStatuses": [{"name": "wait-for-database", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
                "containerStatuses": [{"name": "api", "restartCount": 4, "ready": false,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}},
            {"metadata": {"name": "api-old-xyz"}, "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "api", "restartCount": 0, "ready": true, "state": {"running": {}}}]}}
        ]})
    }

    #[test]
    fn crash_loops_report_the_last_exit_reason() {
        let problems = pod_problems(&crashing_pod());
        assert_eq!(problems.len(), 1, "ready pods are not problems");
        let c = &problems[0].containers[0];
        assert_eq!(c.container, "api");
        assert_eq!(c.reason, "CrashLoopBackOff (last exit: OOMKilled)");
        assert!(c.crashed_before && c.restarts == 4);
        assert!(
            fatal_reason(&problems)
                .unwrap()
                .contains("CrashLoopBackOff")
        );
    }

    #[test]
    fn image_pulls_and_probe_failures() {
        let pods = json!({"items": [
            {"metadata": {"name": "p1"}, "status": {"phase": "Pending", "containerStatuses": [
                {"name": "api", "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"r/api:nope\""}}}]}},
            {"metadata": {"name": "p2"}, "status": {"phase": "Running", "containerStatuses": [
                {"name": "api", "restartCount": 0, "ready": false, "state": {"running": {}}}]}}
        ]});
        let problems = pod_problems(&pods);
        assert_eq!(problems[0].containers[0].reason, "ImagePullBackOff");
        assert_eq!(problems[1].containers[0].reason, "not ready");
        assert_eq!(
            fatal_reason(&problems).unwrap(),
            "ImagePullBackOff in pod p1 (api)"
        );
        assert_eq!(
            fatal_reason(&problems[1..]),
            None,
            "a slow readiness is worth waiting for"
        );
    }

    #[test]
    fn one_failed_pull_is_waited_for_and_errors_that_stay_are_not() {
        let waiting = |reason: &str| {
            json!({"items": [{"metadata": {"name": "p"}, "status": {"phase": "Pending", "containerStatuses": [
                {"name": "api", "restartCount": 0, "state": {"waiting": {"reason": reason}}}]}}]})
        };
        assert_eq!(
            fatal_reason(&pod_problems(&waiting("ErrImagePull"))),
            None,
            "the kubelet retries it"
        );
        for reason in [
            "ImagePullBackOff",
            "CreateContainerError",
            "RunContainerError",
            "ErrImageNeverPull",
        ] {
            assert!(
                fatal_reason(&pod_problems(&waiting(reason))).is_some(),
                "{reason}"
            );
        }
        let problems = pod_problems(&waiting("PodInitializing"));
        assert!(!problems[0].containers[0].started, "no log to ask for");
    }

    #[test]
    fn scheduler_events_count_their_repeats_in_series() {
        let events = json!({"items": [{"type": "Warning", "reason": "FailedScheduling", "message": "0/1 nodes are available",
            "eventTime": "2026-11-22T10:00:00.000000Z", "series": {"count": 4}, "involvedObject": {"name": "p"}}]});
        assert_eq!(
            warning_events(&events, "p", 5),
            ["FailedScheduling: 0/1 nodes are available (x4)"]
        );
    }

    #[test]
    fn a_jobs_log_comes_from_the_container_that_failed_it() {
        let pods = json!({"items": [{"metadata": {"name": "api-migrate-2-x", "creationTimestamp": "2026-11-22T10:00:00Z"},
            "spec": {"containers": [{"name": "migrate"}]}, "status": {"phase": "Failed",
            "initContainerStatuses": [{"name": "wait-for-database", "state": {"terminated": {"exitCode": 1}}}],
            "containerStatuses": [{"name": "migrate", "state": {"waiting": {"reason": "PodInitializing"}}}]}}]});
        assert_eq!(
            failed_job_container(&pods),
            Some(("api-migrate-2-x".to_owned(), "wait-for-database".to_owned()))
        );
    }

    #[test]
    fn warning_events_are_filtered_and_ordered() {
        let events = json!({"items": [
            {"type": "Warning", "reason": "Unhealthy", "message": "Readiness probe failed: HTTP probe failed with statuscode: 503", "count": 7, "lastTimestamp": "2026-11-22T10:00:05Z", "involvedObject": {"name": "p2"}},
            {"type": "Normal", "reason": "Pulled", "message": "ok", "lastTimestamp": "2026-11-22T10:00:01Z", "involvedObject": {"name": "p2"}},
            {"type": "Warning", "reason": "BackOff", "message": "Back-off restarting", "lastTimestamp": "2026-11-22T10:00:02Z", "involvedObject": {"name": "p2"}},
            {"type": "Warning", "reason": "Other", "message": "x", "lastTimestamp": "2026-11-22T10:00:03Z", "involvedObject": {"name": "p9"}}
        ]});
        assert_eq!(
            warning_events(&events, "p2", 5),
            [
                "BackOff: Back-off restarting",
                "Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503 (x7)"
            ]
        );
        assert_eq!(warning_events(&events, "p2", 1).len(), 1);
    }

    #[test]
    fn the_newest_job_decides() {
        let jobs = json!({"items": [
            {"metadata": {"name": "api-migrate-9"}, "status": {"succeeded": 1}},
            {"metadata": {"name": "api-migrate-10"}, "status": {"failed": 3, "conditions": [
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}}
        ]});
        assert_eq!(
            newest_job(&jobs),
            JobState::Failed {
                name: "api-migrate-10".into(),
                reason: "BackoffLimitExceeded: Job has reached the specified backoff limit".into()
            }
        );
        assert_eq!(newest_job(&json!({"items": []})), JobState::Absent);
        assert_eq!(
            newest_job(
                &json!({"items": [{"metadata": {"name": "api-migrate-2"}, "status": {"active": 1}}]})
            ),
            JobState::Running {
                name: "api-migrate-2".into()
            }
        );
    }
}
