//! The deployment controller: one ReplicaSet per pod template, a rolling update that
//! honours `maxSurge` and `maxUnavailable` (old pods stay until new ones are
//! available), and the status `kubectl rollout status` reads.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{
    Memory, condition, controller_reference, kind, name, namespace, owned, scale, set_status,
    template_hash, uid,
};
use crate::events::{self, Reporter};
use crate::scenario::Scenario;
use crate::store::Store;

const REVISION: &str = "deployment.kubernetes.io/revision";

pub fn reconcile(store: &Store, scenario: &Scenario, memory: &mut Memory) {
    for deployment in store.list(kind("deployments"), None) {
        let generation = deployment["metadata"]["generation"].as_i64().unwrap_or(1);
        let seen = *memory
            .generations
            .entry((uid(&deployment), generation))
            .or_insert_with(Instant::now);
        if seen.elapsed() < scenario.deployment_delay {
            continue;
        }
        roll(store, &deployment, memory);
    }
}

fn revision(rs: &Value) -> i64 {
    rs["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// `25%` or `1` of `desired`, rounded up for surge and down for unavailability.
fn resolve(value: &Value, desired: i64, round_up: bool) -> i64 {
    match value {
        Value::String(s) if s.ends_with('%') => {
            let percent: i64 = s.trim_end_matches('%').parse().unwrap_or(25);
            let scaled = desired * percent;
            if round_up {
                (scaled + 99) / 100
            } else {
                scaled / 100
            }
        }
        other => other.as_i64().unwrap_or(0),
    }
}

fn roll(store: &Store, deployment: &Value, memory: &mut Memory) {
    let template = &deployment["spec"]["template"];
    let hash = template_hash(template);
    let mut sets = owned(store, "replicasets", deployment);
    let newest = sets.iter().map(revision).max().unwrap_or(0);
    let new_name = format!("{}-{hash}", name(deployment));
    let created = !sets.iter().any(|rs| name(rs) == new_name);
    if created {
        let mut labels = template["metadata"]["labels"].clone();
        labels["pod-template-hash"] = json!(hash);
        let mut selector = deployment["spec"]["selector"].clone();
        selector["matchLabels"]["pod-template-hash"] = json!(hash);
        let mut pod_template = template.clone();
        pod_template["metadata"]["labels"] = labels.clone();
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": new_name, "labels": labels, "ownerReferences": controller_reference(deployment),
                "annotations": {REVISION: (newest + 1).to_string()}},
            "spec": {"replicas": 0, "selector": selector, "template": pod_template}});
        if let Ok(rs) = store.create(kind("replicasets"), &namespace(deployment), rs) {
            sets.push(rs);
        }
    } else if let Some(rs) = sets
        .iter()
        .find(|rs| name(rs) == new_name && revision(rs) < newest)
    {
        // A rollback to an older template makes its ReplicaSet the newest revision again.
        let mut rs = rs.clone();
        rs["metadata"]["annotations"][REVISION] = json!((newest + 1).to_string());
        if let Some(meta) = rs["metadata"].as_object_mut() {
            meta.remove("resourceVersion");
        }
        let _ = store.replace(kind("replicasets"), &namespace(deployment), &new_name, rs);
        sets = owned(store, "replicasets", deployment);
    }
    let Some(new) = sets.iter().find(|rs| name(rs) == new_name).cloned() else {
        return;
    };
    // The Deployment carries its newest ReplicaSet's revision, as the controller writes it.
    let revision_text = json!(revision(&new).to_string());
    if deployment["metadata"]["annotations"][REVISION] != revision_text {
        let mut annotated = deployment.clone();
        annotated["metadata"]["annotations"][REVISION] = revision_text;
        if let Some(meta) = annotated["metadata"].as_object_mut() {
            meta.remove("resourceVersion");
        }
        let _ = store.replace(
            kind("deployments"),
            &namespace(deployment),
            &name(deployment),
            annotated,
        );
        return;
    }
    let old: Vec<Value> = sets
        .iter()
        .filter(|rs| name(rs) != new_name)
        .cloned()
        .collect();

    let desired = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    let strategy = &deployment["spec"]["strategy"];
    let (mut surge, mut unavailable) = if strategy["type"] == "Recreate" {
        (0, desired)
    } else {
        let rolling = &strategy["rollingUpdate"];
        (
            resolve(&rolling["maxSurge"], desired, true),
            resolve(&rolling["maxUnavailable"], desired, false),
        )
    };
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    if strategy["type"] == "Recreate" {
        surge = 0;
    }
    let replicas = |rs: &Value| rs["spec"]["replicas"].as_i64().unwrap_or(0);
    let available = |rs: &Value| rs["status"]["availableReplicas"].as_i64().unwrap_or(0);
    let old_pods: i64 = old
        .iter()
        .map(|rs| {
            rs["status"]["replicas"]
                .as_i64()
                .unwrap_or(0)
                .max(replicas(rs))
        })
        .sum();

    // Scale up the new ReplicaSet within the surge.
    let total: i64 = old.iter().map(replicas).sum::<i64>() + replicas(&new);
    let mut new_replicas = replicas(&new);
    if strategy["type"] == "Recreate" {
        if old_pods == 0 {
            new_replicas = desired;
        }
    } else if new_replicas < desired {
        let room = desired + surge - total;
        if room > 0 {
            new_replicas += room.min(desired - new_replicas);
        }
    }
    new_replicas = new_replicas.min(desired);
    if new_replicas != replicas(&new) {
        scaled_event(store, deployment, &new, replicas(&new), new_replicas);
        scale(store, "replicasets", &new, new_replicas);
    }

    // Scale old ReplicaSets down: unhealthy pods first, then available ones, never
    // below `desired - maxUnavailable` available pods.
    let min_available = desired - unavailable;
    let all_pods = old.iter().map(replicas).sum::<i64>() + new_replicas;
    let new_unavailable = new_replicas - available(&new);
    let mut cleanup = all_pods - min_available - new_unavailable;
    let all_available: i64 = old.iter().map(available).sum::<i64>() + available(&new);
    let mut scale_down = all_available - min_available;
    let mut old_sorted = old.clone();
    old_sorted.sort_by_key(revision);
    for rs in &old_sorted {
        let mut target = replicas(rs);
        let unhealthy = (target - available(rs)).max(0);
        let drop_unhealthy = unhealthy.min(cleanup.max(0));
        target -= drop_unhealthy;
        cleanup -= drop_unhealthy;
        let drop_available = target.min(scale_down.max(0));
        target -= drop_available;
        scale_down -= drop_available;
        if strategy["type"] == "Recreate" {
            target = 0;
        }
        if target != replicas(rs) {
            scaled_event(store, deployment, rs, replicas(rs), target);
            scale(store, "replicasets", rs, target);
        }
    }

    write_status(
        store,
        deployment,
        &new,
        &old,
        desired,
        min_available,
        created,
        memory,
    );
}

fn scaled_event(store: &Store, deployment: &Value, rs: &Value, from: i64, to: i64) {
    let direction = if to > from { "up" } else { "down" };
    let message = format!(
        "Scaled {direction} replica set {} from {from} to {to}",
        name(rs)
    );
    events::record(
        store,
        Reporter::Controller("deployment-controller"),
        deployment,
        "Deployment",
        false,
        "ScalingReplicaSet",
        &message,
    );
}

#[allow(clippy::too_many_arguments)]
fn write_status(
    store: &Store,
    deployment: &Value,
    new: &Value,
    old: &[Value],
    desired: i64,
    min_available: i64,
    created: bool,
    memory: &mut Memory,
) {
    let count = |rs: &Value, field: &str| rs["status"][field].as_i64().unwrap_or(0);
    let sum = |field: &str| old.iter().map(|rs| count(rs, field)).sum::<i64>() + count(new, field);
    let (replicas, ready, available) = (
        sum("replicas"),
        sum("readyReplicas"),
        sum("availableReplicas"),
    );
    let updated = count(new, "replicas");
    let generation = deployment["metadata"]["generation"].as_i64().unwrap_or(1);
    let previous = &deployment["status"];
    let complete = updated == desired && replicas == desired && available == desired;

    let progress = json!([generation, updated, ready, available]);
    let entry = memory
        .progress
        .entry(uid(deployment))
        .or_insert_with(|| (progress.clone(), Instant::now()));
    let progressed = entry.0 != progress;
    if progressed {
        *entry = (progress, Instant::now());
    }
    // Once timed out, a rollout stays timed out until it makes progress again.
    let timed_out = previous["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded");
    let deadline = Duration::from_secs(
        deployment["spec"]["progressDeadlineSeconds"]
            .as_u64()
            .unwrap_or(600),
    );
    let rs = name(new);
    let progressing = if complete {
        condition(
            previous,
            "Progressing",
            true,
            "NewReplicaSetAvailable",
            &format!("ReplicaSet \"{rs}\" has successfully progressed."),
        )
    } else if (timed_out && !progressed) || entry.1.elapsed() > deadline {
        condition(
            previous,
            "Progressing",
            false,
            "ProgressDeadlineExceeded",
            &format!("ReplicaSet \"{rs}\" has timed out progressing."),
        )
    } else if created {
        condition(
            previous,
            "Progressing",
            true,
            "NewReplicaSetCreated",
            &format!("Created new replica set \"{rs}\""),
        )
    } else {
        condition(
            previous,
            "Progressing",
            true,
            "ReplicaSetUpdated",
            &format!("ReplicaSet \"{rs}\" is progressing."),
        )
    };
    let availability = if available >= min_available {
        condition(
            previous,
            "Available",
            true,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        condition(
            previous,
            "Available",
            false,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    let mut status = json!({
        "observedGeneration": generation, "replicas": replicas, "updatedReplicas": updated,
        "readyReplicas": ready, "availableReplicas": available,
        "conditions": [availability, progressing],
    });
    if desired - available > 0 {
        status["unavailableReplicas"] = json!(desired - available);
    }
    if let Some(map) = status.as_object_mut() {
        map.retain(|_, v| v != &json!(0));
    }
    set_status(store, "deployments", deployment, status);
}
