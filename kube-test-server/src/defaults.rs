//! The defaults the API server fills in on every write, for the fields the controllers
//! and clients read: rollout strategy, a Job's generated selector, a Service's address.

use serde_json::{Value, json};

/// Fills in what the API server would for an object of `kind` that has been stored
/// with `uid`.
pub fn apply(kind: &str, object: &mut Value) {
    match kind {
        "Deployment" => deployment(object),
        "StatefulSet" => {
            fill(object, "/spec/replicas", json!(1));
            fill(object, "/spec/podManagementPolicy", json!("OrderedReady"));
            fill(
                object,
                "/spec/updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            fill(object, "/spec/revisionHistoryLimit", json!(10));
        }
        "Job" => job(object),
        "Service" => {
            fill(object, "/spec/type", json!("ClusterIP"));
            fill(object, "/spec/sessionAffinity", json!("None"));
            if object["spec"]["clusterIP"].is_null() {
                let octet = object["metadata"]["uid"]
                    .as_str()
                    .map_or(1, |u| u.len() % 200 + 10);
                object["spec"]["clusterIP"] = json!(format!("10.96.0.{octet}"));
            }
            if let Some(ports) = object["spec"]["ports"].as_array_mut() {
                for port in ports {
                    if port.get("protocol").is_none() {
                        port["protocol"] = json!("TCP");
                    }
                    if port.get("targetPort").is_none() {
                        port["targetPort"] = port["port"].clone();
                    }
                }
            }
        }
        "Namespace" => {
            let name = object["metadata"]["name"].clone();
            fill(
                object,
                "/metadata/labels/kubernetes.io~1metadata.name",
                name,
            );
            fill(object, "/spec/finalizers", json!(["kubernetes"]));
            fill(object, "/status/phase", json!("Active"));
        }
        _ => {}
    }
}

fn deployment(object: &mut Value) {
    fill(object, "/spec/replicas", json!(1));
    fill(object, "/spec/revisionHistoryLimit", json!(10));
    fill(object, "/spec/progressDeadlineSeconds", json!(600));
    fill(object, "/spec/strategy/type", json!("RollingUpdate"));
    if object["spec"]["strategy"]["type"] == "RollingUpdate" {
        fill(
            object,
            "/spec/strategy/rollingUpdate/maxSurge",
            json!("25%"),
        );
        fill(
            object,
            "/spec/strategy/rollingUpdate/maxUnavailable",
            json!("25%"),
        );
    }
}

/// A Job's selector and pod labels name the Job's uid, as the API server generates them.
fn job(object: &mut Value) {
    fill(object, "/spec/parallelism", json!(1));
    fill(object, "/spec/completions", json!(1));
    fill(object, "/spec/backoffLimit", json!(6));
    fill(object, "/spec/completionMode", json!("NonIndexed"));
    let uid = object["metadata"]["uid"].clone();
    let name = object["metadata"]["name"].clone();
    if uid.is_null() || object["spec"]["manualSelector"] == true {
        return;
    }
    fill(
        object,
        "/spec/selector",
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
    );
    for (key, value) in [
        ("batch.kubernetes.io/controller-uid", &uid),
        ("controller-uid", &uid),
        ("batch.kubernetes.io/job-name", &name),
        ("job-name", &name),
    ] {
        fill(
            object,
            &format!("/spec/template/metadata/labels/{}", key.replace('/', "~1")),
            value.clone(),
        );
    }
}

/// Sets the field at a JSON pointer when it is missing, creating the maps on the way.
fn fill(object: &mut Value, pointer: &str, value: Value) {
    let mut at = object;
    let parts: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    for part in parents {
        if !at[part.as_str()].is_object() {
            at[part.as_str()] = json!({});
        }
        at = &mut at[part.as_str()];
    }
    if at.get(last.as_str()).is_none_or(Value::is_null) {
        at[last.as_str()] = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_selects_its_own_pods_by_uid() {
        let mut job = json!({"metadata": {"name": "api-migrate-2", "uid": "u-1"}, "spec": {"template": {"spec": {}}}});
        apply("Job", &mut job);
        assert_eq!(
            job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
            "u-1"
        );
        assert_eq!(
            job["spec"]["template"]["metadata"]["labels"]["job-name"],
            "api-migrate-2"
        );
        assert_eq!(job["spec"]["backoffLimit"], 6);
    }

    #[test]
    fn a_deployment_keeps_its_own_strategy() {
        let mut deployment =
            json!({"spec": {"strategy": {"rollingUpdate": {"maxUnavailable": 0}}}});
        apply("Deployment", &mut deployment);
        assert_eq!(
            deployment["spec"]["strategy"]["rollingUpdate"],
            json!({"maxUnavailable": 0, "maxSurge": "25%"})
        );
        assert_eq!(deployment["spec"]["replicas"], 1);
    }
}
