//! The Job controller: one pod at a time until one succeeds, or more than
//! `backoffLimit` have failed, with the conditions and counts `kubectl` shows.

use serde_json::{Value, json};

use super::{condition, create_pod, kind, name, owned, set_status};
use crate::events::{self, Reporter};
use crate::store::{Store, random_suffix};

pub fn reconcile(store: &Store) {
    for job in store.list(kind("jobs"), None) {
        let previous = &job["status"];
        let finished = previous["conditions"].as_array().is_some_and(|c| {
            c.iter().any(|c| {
                (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True"
            })
        });
        if finished {
            continue;
        }
        let pods = owned(store, "pods", &job);
        let phase = |p: &Value, phase: &str| p["status"]["phase"] == phase;
        let succeeded = pods.iter().filter(|p| phase(p, "Succeeded")).count();
        let failed = pods.iter().filter(|p| phase(p, "Failed")).count();
        let active = pods.len() - succeeded - failed;
        let completions = job["spec"]["completions"].as_u64().unwrap_or(1);
        let backoff_limit = job["spec"]["backoffLimit"].as_u64().unwrap_or(6);
        let now = crate::now();
        let start = previous
            .get("startTime")
            .cloned()
            .unwrap_or_else(|| json!(now));
        let mut status = json!({"startTime": start, "active": active, "succeeded": succeeded, "failed": failed,
            "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}});
        if succeeded as u64 >= completions {
            status["conditions"] = json!([
                condition(
                    previous,
                    "SuccessCriteriaMet",
                    true,
                    "CompletionsReached",
                    "Reached expected number of succeeded pods"
                ),
                condition(
                    previous,
                    "Complete",
                    true,
                    "CompletionsReached",
                    "Reached expected number of succeeded pods"
                ),
            ]);
            status["completionTime"] = json!(now);
            events::record(
                store,
                Reporter::Controller("job-controller"),
                &job,
                "Job",
                false,
                "Completed",
                "Job completed",
            );
        } else if failed as u64 > backoff_limit {
            let message = "Job has reached the specified backoff limit";
            status["conditions"] = json!([
                condition(
                    previous,
                    "FailureTarget",
                    true,
                    "BackoffLimitExceeded",
                    message
                ),
                condition(previous, "Failed", true, "BackoffLimitExceeded", message),
            ]);
            events::record(
                store,
                Reporter::Controller("job-controller"),
                &job,
                "Job",
                true,
                "BackoffLimitExceeded",
                message,
            );
        } else if active == 0 {
            let pod_name = format!("{}-{}", name(&job), random_suffix());
            create_pod(store, &job, &job["spec"]["template"], &pod_name, &[]);
            events::record(
                store,
                Reporter::Controller("job-controller"),
                &job,
                "Job",
                false,
                "SuccessfulCreate",
                &format!("Created pod: {pod_name}"),
            );
            status["active"] = json!(1);
        }
        if let Some(map) = status.as_object_mut() {
            map.retain(|k, v| k == "ready" || k == "terminating" || v != &json!(0));
        }
        set_status(store, "jobs", &job, status);
    }
}
