//! The StatefulSet controller: pods `<name>-0..N-1`, created in order once the one
//! before is ready, replaced from the highest ordinal when the template changes.

use serde_json::{Value, json};

use super::{create_pod, is_ready, kind, name, namespace, owned, set_status, template_hash};
use crate::store::Store;

const REVISION: &str = "controller-revision-hash";

pub fn reconcile(store: &Store) {
    for set in store.list(kind("statefulsets"), None) {
        let desired = set["spec"]["replicas"].as_i64().unwrap_or(1);
        let revision = format!("{}-{}", name(&set), template_hash(&set["spec"]["template"]));
        let pods = owned(store, "pods", &set);
        let pod = |ordinal: i64| {
            pods.iter()
                .find(|p| name(p) == format!("{}-{ordinal}", name(&set)))
        };
        let mut all_ready = true;
        for ordinal in 0..desired {
            match pod(ordinal) {
                Some(p) => all_ready &= is_ready(p),
                None => {
                    if all_ready {
                        let pod_name = format!("{}-{ordinal}", name(&set));
                        let labels = [
                            (REVISION, revision.as_str()),
                            ("apps.kubernetes.io/pod-index", &ordinal.to_string()),
                        ];
                        create_pod(store, &set, &set["spec"]["template"], &pod_name, &labels);
                    }
                    all_ready = false;
                }
            }
        }
        for p in &pods {
            let ordinal: i64 = name(p)
                .rsplit('-')
                .next()
                .and_then(|o| o.parse().ok())
                .unwrap_or(0);
            if ordinal >= desired {
                let _ = store.delete(kind("pods"), &namespace(p), &name(p), false);
            }
        }
        // A rolling update: the highest outdated pod goes once every pod is ready.
        let outdated = pods
            .iter()
            .filter(|p| p["metadata"]["labels"][REVISION] != revision.as_str())
            .max_by_key(|p| name(p));
        if let (true, Some(outdated)) = (all_ready, outdated) {
            let _ = store.delete(kind("pods"), &namespace(outdated), &name(outdated), false);
        }
        let pods = owned(store, "pods", &set);
        let ready = pods.iter().filter(|p| is_ready(p)).count();
        let updated = pods
            .iter()
            .filter(|p| p["metadata"]["labels"][REVISION] == revision.as_str())
            .count();
        let mut status: Value = json!({"observedGeneration": set["metadata"]["generation"], "replicas": pods.len(),
            "readyReplicas": ready, "availableReplicas": ready, "currentReplicas": updated, "updatedReplicas": updated,
            "currentRevision": revision, "updateRevision": revision, "collisionCount": 0});
        if let Some(map) = status.as_object_mut() {
            map.retain(|k, v| k == "replicas" || v != &json!(0));
        }
        set_status(store, "statefulsets", &set, status);
    }
}
