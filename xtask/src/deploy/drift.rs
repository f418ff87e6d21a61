//! Fields of the release's objects that another field manager changed by hand
//! (`kubectl scale`, `edit`, `set image`) and the chart sets too. Helm 4 applies
//! server-side and would fail on them; the deploy takes them back (`--force-conflicts`)
//! and says which, from the live objects' `managedFields` and the rendered manifests.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::kubectl::{CallError, Kubectl, Scope, release_selector};

/// The kinds the chart renders, as `kubectl get` names them.
const KINDS: &str = "deployments,statefulsets,jobs,services,configmaps,secrets,serviceaccounts,ingresses,networkpolicies,horizontalpodautoscalers,poddisruptionbudgets";

/// The release's live objects, with their field managers.
pub fn read_live(kubectl: &Kubectl, scope: &Scope, release: &str) -> Result<Value, CallError> {
    kubectl.get_json(
        scope,
        &[
            KINDS,
            "-l",
            &release_selector(release, None),
            "--show-managed-fields",
        ],
    )
}

/// One line per object whose fields another manager set and the chart sets too:
/// `Deployment api: .spec.replicas was set by kubectl (scale); the deploy takes it back`.
pub fn taken_back(manifests: &str, live: &Value) -> Vec<String> {
    let rendered: Vec<Value> = serde_yaml::Deserializer::from_str(manifests)
        .filter_map(|doc| serde::Deserialize::deserialize(doc).ok())
        .filter(|doc: &Value| doc.is_object())
        .collect();
    let mut lines = Vec::new();
    for object in live["items"].as_array().into_iter().flatten() {
        let (kind, name) = (&object["kind"], &object["metadata"]["name"]);
        let Some(desired) = rendered
            .iter()
            .find(|d| d["kind"] == *kind && d["metadata"]["name"] == *name)
        else {
            continue;
        };
        let mut chart_sets = BTreeSet::new();
        object_paths(desired, String::new(), &mut chart_sets);
        for entry in object["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let manager = entry["manager"].as_str().unwrap_or_default();
            let subresource = entry["subresource"].as_str().unwrap_or_default();
            if manager == "helm" || subresource == "status" {
                continue;
            }
            let mut owned = BTreeSet::new();
            field_paths(&entry["fieldsV1"], String::new(), &mut owned);
            let fields: Vec<&String> = owned
                .intersection(&chart_sets)
                .filter(|p| !p.starts_with(".metadata.managedFields"))
                .collect();
            if fields.is_empty() {
                continue;
            }
            let by = if subresource.is_empty() {
                manager.to_owned()
            } else {
                format!("{manager} ({subresource})")
            };
            let (verb, them) = if fields.len() == 1 {
                ("was", "it")
            } else {
                ("were", "them")
            };
            let fields: Vec<&str> = fields.iter().map(|f| f.as_str()).collect();
            lines.push(format!(
                "{} {}: {} {verb} set by {by}; the deploy takes {them} back",
                kind.as_str().unwrap_or_default(),
                name.as_str().unwrap_or_default(),
                fields.join(", ")
            ));
        }
    }
    lines
}

/// The leaf fields of a `fieldsV1` set, as paths: `.spec.template.spec.containers[name="api"].image`.
fn field_paths(node: &Value, prefix: String, out: &mut BTreeSet<String>) {
    for (key, child) in node.as_object().into_iter().flatten() {
        let segment = if let Some(field) = key.strip_prefix("f:") {
            format!(".{field}")
        } else if let Some(keys) = key.strip_prefix("k:") {
            match serde_json::from_str::<Value>(keys) {
                Ok(Value::Object(keys)) => list_key(keys.iter().map(|(k, v)| (k.as_str(), v))),
                _ => continue,
            }
        } else {
            continue;
        };
        let path = format!("{prefix}{segment}");
        let children = child
            .as_object()
            .map_or(0, |c| c.keys().filter(|k| *k != ".").count());
        if children == 0 {
            out.insert(path);
        } else {
            field_paths(child, path, out);
        }
    }
}

/// The leaf fields an object sets, as paths in the same form (lists of named items are
/// keyed by name; other lists are one field).
fn object_paths(value: &Value, prefix: String, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                object_paths(child, format!("{prefix}.{key}"), out);
            }
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(|i| i["name"].is_string()) => {
            for item in items {
                let segment = list_key([("name", &item["name"])].into_iter());
                object_paths(item, format!("{prefix}{segment}"), out);
            }
        }
        _ => {
            out.insert(prefix);
        }
    }
}

fn list_key<'a>(keys: impl Iterator<Item = (&'a str, &'a Value)>) -> String {
    let keys: Vec<String> = keys.map(|(k, v)| format!("{k}={v}")).collect();
    format!("[{}]", keys.join(","))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fields_other_managers_set_and_the_chart_sets_are_named() {
        let manifests = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - name: api\n        image: r/api:2\n---\nkind: Service\nmetadata:\n  name: api\n";
        let live = json!({"items": [{"kind": "Deployment", "metadata": {"name": "api", "managedFields": [
            {"manager": "helm", "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kubectl", "operation": "Update", "subresource": "scale", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kubectl-set", "operation": "Update", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"api\"}": {".": {}, "f:image": {}}}}}}}},
            {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:metadata": {"f:annotations": {"f:note": {}}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status", "fieldsV1": {"f:status": {"f:replicas": {}}}}
        ]}}]});
        assert_eq!(
            taken_back(manifests, &live),
            [
                "Deployment api: .spec.replicas was set by kubectl (scale); the deploy takes it back",
                "Deployment api: .spec.template.spec.containers[name=\"api\"].image was set by kubectl-set; the deploy takes it back",
            ]
        );
    }
}
