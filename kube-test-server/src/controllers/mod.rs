//! The cluster's control loops, played by the server: the deployment, ReplicaSet,
//! StatefulSet and Job controllers and a kubelet that runs every pod by its script.
//! They run every few milliseconds and write only what changed.

mod deployment;
mod job;
mod kubelet;
mod replicaset;
mod statefulset;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::resources::{self, Resource};
use crate::scenario::Pods;
use crate::server::Shared;
use crate::store::Store;

pub use kubelet::container_log;

const TICK: Duration = Duration::from_millis(20);

/// What the controllers remember between passes.
#[derive(Default)]
pub struct Memory {
    /// Per pod uid: when it started, what it does, and the events already written.
    pods: HashMap<String, PodRun>,
    /// Per Deployment uid and generation: when the controller first saw it.
    generations: HashMap<(String, i64), Instant>,
    /// Per Deployment uid: the last progress seen and when.
    progress: HashMap<String, (Value, Instant)>,
}

#[derive(Clone)]
pub(crate) struct PodRun {
    started: Instant,
    script: Pods,
    said: Vec<String>,
}

pub async fn run(shared: std::sync::Arc<Shared>) {
    let mut ticker = tokio::time::interval(TICK);
    loop {
        ticker.tick().await;
        pass(&shared);
    }
}

/// One pass of every controller.
pub fn pass(shared: &Shared) {
    let scenario = shared.scenario();
    let mut memory = shared.memory();
    deployment::reconcile(&shared.store, &scenario, &mut memory);
    replicaset::reconcile(&shared.store);
    statefulset::reconcile(&shared.store);
    job::reconcile(&shared.store);
    kubelet::reconcile(&shared.store, &scenario, &mut memory);
}

pub(crate) fn kind(plural: &str) -> &'static Resource {
    resources::RESOURCES
        .iter()
        .find(|r| r.plural == plural && r.group != "events.k8s.io")
        .unwrap_or(&resources::RESOURCES[0])
}

pub(crate) fn name(object: &Value) -> String {
    object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

pub(crate) fn namespace(object: &Value) -> String {
    object["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

pub(crate) fn uid(object: &Value) -> String {
    object["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The objects of `plural` in `namespace` that `owner` controls.
pub(crate) fn owned(store: &Store, plural: &str, owner: &Value) -> Vec<Value> {
    let owner_uid = uid(owner);
    store
        .list(kind(plural), Some(&namespace(owner)))
        .into_iter()
        .filter(|o| {
            o["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == owner_uid.as_str()))
        })
        .collect()
}

pub(crate) fn controller_reference(owner: &Value) -> Value {
    json!([{"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}])
}

/// Creates a pod from `template` for `owner`.
pub(crate) fn create_pod(
    store: &Store,
    owner: &Value,
    template: &Value,
    name: &str,
    extra_labels: &[(&str, &str)],
) {
    let mut metadata = template["metadata"].clone();
    if !metadata.is_object() {
        metadata = json!({});
    }
    for (key, value) in extra_labels {
        metadata["labels"][key] = json!(value);
    }
    metadata["name"] = json!(name);
    metadata["ownerReferences"] = controller_reference(owner);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"],
        "status": {"phase": "Pending", "qosClass": "Burstable"}});
    let _ = store.create(kind("pods"), &namespace(owner), pod);
}

/// Writes `status` when it differs from the stored one.
pub(crate) fn set_status(store: &Store, plural: &str, object: &Value, status: Value) {
    if object["status"] == status {
        return;
    }
    let mut new = object.clone();
    new["status"] = status;
    if let Some(meta) = new["metadata"].as_object_mut() {
        meta.remove("resourceVersion");
    }
    let _ = store.replace(kind(plural), &namespace(object), &name(object), new);
}

/// Sets `spec.replicas` of a ReplicaSet or StatefulSet.
pub(crate) fn scale(store: &Store, plural: &str, object: &Value, replicas: i64) {
    if object["spec"]["replicas"].as_i64() == Some(replicas) {
        return;
    }
    let mut new = object.clone();
    new["spec"]["replicas"] = json!(replicas);
    if let Some(meta) = new["metadata"].as_object_mut() {
        meta.remove("resourceVersion");
    }
    let _ = store.replace(kind(plural), &namespace(object), &name(object), new);
}

pub(crate) fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// A condition, keeping its transition time while its status stays.
pub(crate) fn condition(
    previous: &Value,
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
) -> Value {
    let status = if status { "True" } else { "False" };
    let old = previous["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind));
    let now = crate::now();
    let transition = old
        .filter(|c| c["status"] == status)
        .map_or(json!(now), |c| c["lastTransitionTime"].clone());
    let update = old
        .filter(|c| c["status"] == status && c["reason"] == reason)
        .map_or(json!(now), |c| c["lastUpdateTime"].clone());
    json!({"type": kind, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": transition, "lastUpdateTime": update})
}

/// A short stable hash of a pod template, as `pod-template-hash` and
/// `controller-revision-hash` labels carry it.
pub(crate) fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in template.to_string().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (0..10)
        .map(|i| ALPHABET[((hash >> (i * 6)) % ALPHABET.len() as u64) as usize] as char)
        .collect()
}
