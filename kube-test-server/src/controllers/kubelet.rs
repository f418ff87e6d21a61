//! A kubelet for every pod: its status (phase, conditions, init and main container
//! states, restart counts, last exit) follows the pod's script as time passes, with
//! the events the kubelet and the scheduler write and the logs its containers leave.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Memory, PodRun, kind, name, namespace, set_status, uid};
use crate::events::{self, Reporter};
use crate::scenario::{Outcome, Scenario};
use crate::status::ApiError;
use crate::store::Store;

pub fn reconcile(store: &Store, scenario: &Scenario, memory: &mut Memory) {
    let pods = store.list(kind("pods"), None);
    memory
        .pods
        .retain(|id, _| pods.iter().any(|p| uid(p) == *id));
    for pod in pods {
        let run = memory.pods.entry(uid(&pod)).or_insert_with(|| PodRun {
            started: Instant::now(),
            script: scenario.script_for(&owner_kind(store, &pod), &pod),
            said: Vec::new(),
        });
        let (status, said) = status(
            &pod,
            &run.script.outcome,
            run.script.after,
            run.started.elapsed(),
            scenario.restart_period,
        );
        let period = run.started.elapsed().as_millis() / scenario.restart_period.as_millis().max(1);
        for (warning, reporter, reason, message) in said {
            // Repeats (back-off, failed probes, scheduling) count up once a period; one-off
            // events are written once.
            let key = match reason {
                "BackOff" | "Unhealthy" | "FailedScheduling" => {
                    format!("{reason}:{message}#{period}")
                }
                _ => format!("{reason}:{message}"),
            };
            if run.said.contains(&key) {
                continue;
            }
            run.said.push(key);
            events::record(store, reporter, &pod, "Pod", warning, reason, &message);
        }
        set_status(store, "pods", &pod, status);
    }
}

/// The kind of workload a pod belongs to: its ReplicaSet's owner, or its own owner.
fn owner_kind(store: &Store, pod: &Value) -> String {
    let owner = &pod["metadata"]["ownerReferences"][0];
    match owner["kind"].as_str() {
        Some("ReplicaSet") => store
            .get(
                kind("replicasets"),
                &namespace(pod),
                owner["name"].as_str().unwrap_or_default(),
            )
            .and_then(|rs| {
                rs["metadata"]["ownerReferences"][0]["kind"]
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "ReplicaSet".to_owned()),
        Some(other) => other.to_owned(),
        None => String::new(),
    }
}

type Said = Vec<(bool, Reporter, &'static str, String)>;

fn containers<'a>(pod: &'a Value, list: &str) -> Vec<&'a Value> {
    pod["spec"][list]
        .as_array()
        .map(|c| c.iter().collect())
        .unwrap_or_default()
}

fn container_status(
    container: &Value,
    state: Value,
    ready: bool,
    restarts: u64,
    last: Value,
) -> Value {
    let image = container["image"].clone();
    let mut status = json!({"name": container["name"], "image": image, "imageID": "", "ready": ready,
        "restartCount": restarts, "started": state.get("running").is_some(), "state": state, "lastState": last});
    if status["lastState"].is_null() {
        status["lastState"] = json!({});
    }
    status
}

fn waiting(reason: &str, message: Option<String>) -> Value {
    match message {
        Some(message) => json!({"waiting": {"reason": reason, "message": message}}),
        None => json!({"waiting": {"reason": reason}}),
    }
}

/// The pod's status `elapsed` after it started, and what the kubelet and scheduler say.
fn status(
    pod: &Value,
    outcome: &Outcome,
    after: Duration,
    elapsed: Duration,
    period: Duration,
) -> (Value, Said) {
    let started = pod["metadata"]["creationTimestamp"].clone();
    let running = json!({"running": {"startedAt": started}});
    let pod_ref = format!("{}_{}({})", name(pod), namespace(pod), uid(pod));
    if *outcome == Outcome::Unschedulable {
        return unschedulable(&started);
    }
    let mut said: Said = vec![(
        false,
        Reporter::Scheduler,
        "Scheduled",
        format!(
            "Successfully assigned {}/{} to test-node",
            namespace(pod),
            name(pod)
        ),
    )];
    let inits = containers(pod, "initContainers");
    let mains = containers(pod, "containers");
    let periods = (elapsed.as_millis() / period.as_millis().max(1)) as u64;

    let mut init_statuses = Vec::new();
    let mut initialized = true;
    for (i, c) in inits.iter().enumerate() {
        let image = c["image"].as_str().unwrap_or_default();
        if *outcome == Outcome::InitImagePullBackOff && i == 0 {
            let (reason, message) = if periods == 0 {
                (
                    "ErrImagePull",
                    format!(
                        "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
                    ),
                )
            } else {
                (
                    "ImagePullBackOff",
                    format!("Back-off pulling image \"{image}\""),
                )
            };
            said.push((
                false,
                Reporter::Kubelet,
                "Pulling",
                format!("Pulling image \"{image}\""),
            ));
            said.push((
                true,
                Reporter::Kubelet,
                "Failed",
                format!("Failed to pull image \"{image}\": {image}: not found"),
            ));
            said.push((
                true,
                Reporter::Kubelet,
                "Failed",
                format!("Error: {reason}"),
            ));
            init_statuses.push(container_status(
                c,
                waiting(reason, Some(message)),
                false,
                0,
                Value::Null,
            ));
            initialized = false;
        } else if let (Outcome::InitFails { exit_code }, 0) = (outcome, i) {
            let state = if elapsed < after {
                running.clone()
            } else {
                json!({"terminated": {"exitCode": exit_code, "reason": "Error", "startedAt": started, "finishedAt": started}})
            };
            init_statuses.push(container_status(c, state, false, 0, Value::Null));
            initialized = false;
        } else if *outcome == Outcome::StuckInInit && i == 0 {
            init_statuses.push(container_status(c, running.clone(), false, 0, Value::Null));
            initialized = false;
        } else if !initialized {
            init_statuses.push(container_status(
                c,
                waiting("PodInitializing", None),
                false,
                0,
                Value::Null,
            ));
        } else {
            let done = json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": started}});
            said.push((
                false,
                Reporter::Kubelet,
                "Started",
                format!(
                    "Started container {}",
                    c["name"].as_str().unwrap_or_default()
                ),
            ));
            init_statuses.push(container_status(c, done, true, 0, Value::Null));
        }
    }

    let mut phase = "Running";
    let mut ready = false;
    let mut main_statuses = Vec::new();
    for c in &mains {
        let cname = c["name"].as_str().unwrap_or_default();
        if !initialized {
            let init_failed = init_statuses.iter().any(|s| {
                s["state"]["terminated"]["exitCode"]
                    .as_i64()
                    .is_some_and(|c| c != 0)
            });
            phase = if init_failed { "Failed" } else { "Pending" };
            main_statuses.push(container_status(
                c,
                waiting("PodInitializing", None),
                false,
                0,
                Value::Null,
            ));
            continue;
        }
        said.push((
            false,
            Reporter::Kubelet,
            "Pulled",
            format!(
                "Container image \"{}\" already present on machine",
                c["image"].as_str().unwrap_or_default()
            ),
        ));
        said.push((
            false,
            Reporter::Kubelet,
            "Created",
            format!("Created container: {cname}"),
        ));
        said.push((
            false,
            Reporter::Kubelet,
            "Started",
            format!("Started container {cname}"),
        ));
        let status = match outcome {
            Outcome::Ready
            | Outcome::InitImagePullBackOff
            | Outcome::StuckInInit
            | Outcome::InitFails { .. }
            | Outcome::Unschedulable => {
                ready = elapsed >= after;
                container_status(c, running.clone(), ready, 0, Value::Null)
            }
            Outcome::NeverReady => {
                if periods > 0 {
                    said.push((
                        true,
                        Reporter::Kubelet,
                        "Unhealthy",
                        "Readiness probe failed: HTTP probe failed with statuscode: 503".to_owned(),
                    ));
                }
                container_status(c, running.clone(), false, 0, Value::Null)
            }
            Outcome::CrashLoop { reason, exit_code } => {
                if periods == 0 {
                    container_status(c, running.clone(), false, 0, Value::Null)
                } else {
                    let backoff = (10u64 << (periods - 1).min(5)).min(300);
                    said.push((
                        true,
                        Reporter::Kubelet,
                        "BackOff",
                        format!("Back-off restarting failed container {cname} in pod {pod_ref}"),
                    ));
                    let last = json!({"terminated": {"exitCode": exit_code, "reason": reason, "startedAt": started, "finishedAt": started}});
                    let state = waiting(
                        "CrashLoopBackOff",
                        Some(format!(
                            "back-off {backoff}s restarting failed container={cname} pod={pod_ref}"
                        )),
                    );
                    container_status(c, state, false, periods, last)
                }
            }
            Outcome::Succeed | Outcome::Fail { .. } if elapsed < after => {
                container_status(c, running.clone(), false, 0, Value::Null)
            }
            Outcome::Succeed => {
                phase = "Succeeded";
                let done = json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": started}});
                container_status(c, done, false, 0, Value::Null)
            }
            Outcome::Fail { exit_code } => {
                phase = "Failed";
                let done = json!({"terminated": {"exitCode": exit_code, "reason": "Error", "startedAt": started, "finishedAt": started}});
                container_status(c, done, false, 0, Value::Null)
            }
        };
        main_statuses.push(status);
    }
    let unready: Vec<&str> = main_statuses
        .iter()
        .filter(|s| s["ready"] != true)
        .filter_map(|s| s["name"].as_str())
        .collect();
    ready = ready && unready.is_empty() && phase == "Running";
    let condition = |kind: &str, ok: bool, reason: &str, message: String| {
        let mut c = json!({"type": kind, "status": if ok { "True" } else { "False" }, "lastTransitionTime": started, "lastProbeTime": null});
        if !ok {
            c["reason"] = json!(reason);
            c["message"] = json!(message);
        }
        c
    };
    let pending_inits: Vec<&str> = init_statuses
        .iter()
        .filter(|s| s["ready"] != true)
        .filter_map(|s| s["name"].as_str())
        .collect();
    let not_ready_reason = if matches!(phase, "Succeeded" | "Failed") {
        "PodCompleted"
    } else {
        "ContainersNotReady"
    };
    let status = json!({
        "phase": phase,
        "conditions": [
            condition("PodReadyToStartContainers", true, "", String::new()),
            condition("Initialized", initialized, "ContainersNotInitialized", format!("containers with incomplete status: [{}]", pending_inits.join(" "))),
            condition("Ready", ready, not_ready_reason, format!("containers with unready status: [{}]", unready.join(" "))),
            condition("ContainersReady", ready, not_ready_reason, format!("containers with unready status: [{}]", unready.join(" "))),
            condition("PodScheduled", true, "", String::new()),
        ],
        "hostIP": "10.0.0.10", "podIP": "10.244.0.10", "startTime": started, "qosClass": "Burstable",
        "initContainerStatuses": init_statuses, "containerStatuses": main_statuses,
    });
    (status, said)
}

/// A pod no node fits: `Pending`, not scheduled, and the scheduler's warning (written
/// through events.k8s.io, so repeats count up in `series`).
fn unschedulable(started: &Value) -> (Value, Said) {
    let message = "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";
    let status = json!({
        "phase": "Pending", "qosClass": "Burstable",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
            "lastTransitionTime": started, "lastProbeTime": null}],
    });
    (
        status,
        vec![(
            true,
            Reporter::Scheduler,
            "FailedScheduling",
            message.to_owned(),
        )],
    )
}

/// What `kubectl logs` gets for one container, or the kubelet's refusal.
pub fn container_log(
    memory: &Memory,
    pod: &Value,
    container: Option<&str>,
    previous: bool,
) -> Result<String, ApiError> {
    let pod_name = name(pod);
    let names: Vec<&str> = ["initContainers", "containers"]
        .iter()
        .flat_map(|l| containers(pod, l))
        .filter_map(|c| c["name"].as_str())
        .collect();
    let main: Vec<&str> = containers(pod, "containers")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let container = match container {
        Some(c) => c,
        None if main.len() == 1 => main[0],
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                main.join(" ")
            )));
        }
    };
    if !names.contains(&container) {
        return Err(ApiError::bad_request(format!(
            "container {container} is not valid for pod {pod_name}"
        )));
    }
    let status = ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|l| pod["status"][l].as_array())
        .flatten()
        .find(|s| s["name"] == container)
        .cloned()
        .unwrap_or(Value::Null);
    if previous {
        if status["restartCount"].as_u64().unwrap_or(0) == 0 {
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
            )));
        }
    } else if let Some(reason) = status["state"]["waiting"]["reason"].as_str() {
        let why = match reason {
            "ImagePullBackOff" | "ErrImagePull" => "trying and failing to pull image",
            "PodInitializing" | "ContainerCreating" => reason,
            _ => "",
        };
        if !why.is_empty() || status["restartCount"].as_u64().unwrap_or(0) == 0 {
            let why = if why.is_empty() { reason } else { why };
            return Err(ApiError::bad_request(format!(
                "container \"{container}\" in pod \"{pod_name}\" is waiting to start: {why}"
            )));
        }
    }
    let script = memory.pods.get(&uid(pod)).map(|run| &run.script);
    Ok(script
        .and_then(|s| s.logs.iter().find(|(c, _)| c == container))
        .map(|(_, text)| text.clone())
        .unwrap_or_default())
}
