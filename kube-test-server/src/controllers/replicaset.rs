//! The ReplicaSet controller: as many pods as `spec.replicas`, the unready and newest
//! removed first, and counts of ready and available pods.

use serde_json::{Value, json};

use super::{create_pod, is_ready, kind, name, namespace, owned, set_status};
use crate::store::{Store, random_suffix};

pub fn reconcile(store: &Store) {
    for rs in store.list(kind("replicasets"), None) {
        let desired = rs["spec"]["replicas"].as_i64().unwrap_or(1);
        let mut pods = owned(store, "pods", &rs);
        let have = i64::try_from(pods.len()).unwrap_or(i64::MAX);
        if have < desired {
            for _ in have..desired {
                let pod_name = format!("{}-{}", name(&rs), random_suffix());
                create_pod(store, &rs, &rs["spec"]["template"], &pod_name, &[]);
            }
            pods = owned(store, "pods", &rs);
        } else if have > desired {
            pods.sort_by_key(|p| {
                (
                    is_ready(p),
                    std::cmp::Reverse(
                        p["metadata"]["creationTimestamp"]
                            .as_str()
                            .map(str::to_owned),
                    ),
                )
            });
            let excess = usize::try_from(have - desired).unwrap_or(0);
            for pod in pods.drain(..excess) {
                let _ = store.delete(kind("pods"), &namespace(&pod), &name(&pod), false);
            }
        }
        let ready = pods.iter().filter(|p| is_ready(p)).count();
        let status = json!({"replicas": pods.len(), "fullyLabeledReplicas": pods.len(), "readyReplicas": ready,
            "availableReplicas": ready, "observedGeneration": rs["metadata"]["generation"]});
        let mut status: Value = status;
        if let Some(map) = status.as_object_mut() {
            map.retain(|_, v| v != &json!(0));
        }
        set_status(store, "replicasets", &rs, status);
    }
}
