//! Step 4 of a deploy: the api Deployment's rollout, read from its status.

use serde_json::Value;

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
    /// Kubernetes gave up (`progressDeadlineSeconds` passed).
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
        format!(
            "{}/{} ready, {}/{} updated",
            self.ready, self.desired, self.updated, self.desired
        )
    }
}

/// Reads the first Deployment of a `kubectl get deployments -o json` list.
pub fn rollout_state(deployments: &Value) -> Option<RolloutState> {
    let deployment = deployments["items"].as_array()?.first()?;
    let status = &deployment["status"];
    let count = |key: &str| status[key].as_u64().unwrap_or(0);
    let generation = deployment["metadata"]["generation"].as_u64().unwrap_or(0);
    Some(RolloutState {
        desired: deployment["spec"]["replicas"].as_u64().unwrap_or(1),
        updated: count("updatedReplicas"),
        ready: count("readyReplicas"),
        available: count("availableReplicas"),
        total: count("replicas"),
        observed: status["observedGeneration"].as_u64().unwrap_or(0) >= generation,
        deadline_exceeded: status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded"),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment(replicas: u64, updated: u64, ready: u64, total: u64) -> Value {
        json!({"items": [{"metadata": {"generation": 4}, "spec": {"replicas": replicas},
            "status": {"observedGeneration": 4, "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": ready, "replicas": total}}]})
    }

    #[test]
    fn complete_only_when_every_new_pod_is_available_and_old_ones_are_gone() {
        assert!(rollout_state(&deployment(3, 3, 3, 3)).unwrap().complete());
        assert!(
            !rollout_state(&deployment(3, 3, 3, 4)).unwrap().complete(),
            "an old pod remains"
        );
        assert!(!rollout_state(&deployment(3, 2, 3, 3)).unwrap().complete());
        assert_eq!(
            rollout_state(&deployment(3, 2, 1, 4)).unwrap().summary(),
            "1/3 ready, 2/3 updated"
        );
        assert_eq!(rollout_state(&json!({"items": []})), None);
    }

    #[test]
    fn an_unobserved_spec_or_a_passed_deadline_is_seen() {
        let stale = json!({"items": [{"metadata": {"generation": 5}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 4, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1, "replicas": 1}}]});
        assert!(!rollout_state(&stale).unwrap().complete());
        let stuck = json!({"items": [{"metadata": {"generation": 1}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}}]});
        assert!(rollout_state(&stuck).unwrap().deadline_exceeded);
    }
}
