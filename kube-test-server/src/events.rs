//! Events, stored once in the core/v1 shape and also served as events.k8s.io/v1, and
//! written the two ways the cluster's components write them: the kubelet and the
//! controllers through the core API (`count`, `lastTimestamp`), the scheduler through
//! events.k8s.io (`eventTime`, `series`, no count).

use serde_json::{Value, json};

use crate::resources::{self, Resource};
use crate::store::Store;

/// An object as `resource` serves it: events read through events.k8s.io take that
/// group's shape.
pub fn view(resource: &Resource, object: Value) -> Value {
    if resource.kind != "Event" || resource.group != "events.k8s.io" {
        return object;
    }
    let series = match object["series"].is_object() {
        true => object["series"].clone(),
        false => Value::Null,
    };
    let mut event = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": object["metadata"],
        "eventTime": object["eventTime"],
        "reportingController": object["reportingComponent"],
        "reportingInstance": object["reportingInstance"],
        "action": object["action"],
        "reason": object["reason"],
        "regarding": object["involvedObject"],
        "note": object["message"],
        "type": object["type"],
        "deprecatedSource": object["source"],
        "deprecatedFirstTimestamp": object["firstTimestamp"],
        "deprecatedLastTimestamp": object["lastTimestamp"],
        "deprecatedCount": object["count"],
    });
    if !series.is_null() {
        event["series"] = series;
    }
    if let Some(map) = event.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    event
}

/// Who writes an event, which decides its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reporter {
    Kubelet,
    Scheduler,
    Controller(&'static str),
}

/// Records `reason`/`message` about `object`, or counts a repeat of the same event.
pub fn record(
    store: &Store,
    reporter: Reporter,
    object: &Value,
    kind: &str,
    warning: bool,
    reason: &str,
    message: &str,
) {
    let Some(events) = resources::find("", "v1", "events") else {
        return;
    };
    let meta = &object["metadata"];
    let namespace = meta["namespace"].as_str().unwrap_or_default();
    let uid = &meta["uid"];
    let now = crate::now();
    let repeat = store.list(events, Some(namespace)).into_iter().find(|e| {
        e["involvedObject"]["uid"] == *uid && e["reason"] == reason && e["message"] == message
    });
    if let Some(mut event) = repeat {
        let name = event["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if reporter == Reporter::Scheduler {
            let count = event["series"]["count"].as_i64().unwrap_or(1) + 1;
            event["series"] = json!({"count": count, "lastObservedTime": micro(&now)});
        } else {
            event["count"] = json!(event["count"].as_i64().unwrap_or(1) + 1);
            event["lastTimestamp"] = json!(now);
        }
        let _ = store.replace(events, namespace, &name, event);
        return;
    }
    let component = match reporter {
        Reporter::Kubelet => "kubelet",
        Reporter::Scheduler => "default-scheduler",
        Reporter::Controller(name) => name,
    };
    let api_version = object["apiVersion"].clone();
    let mut event = json!({
        "metadata": {"name": format!("{}.{}", meta["name"].as_str().unwrap_or_default(), crate::store::random_suffix()),
            "namespace": namespace},
        "involvedObject": {"kind": kind, "namespace": namespace, "name": meta["name"], "uid": uid,
            "apiVersion": api_version, "resourceVersion": meta["resourceVersion"]},
        "reason": reason, "message": message,
        "type": if warning { "Warning" } else { "Normal" },
        "reportingComponent": component, "reportingInstance": "",
    });
    if reporter == Reporter::Scheduler {
        event["eventTime"] = json!(micro(&now));
        event["action"] = json!("Scheduling");
        event["firstTimestamp"] = Value::Null;
        event["lastTimestamp"] = Value::Null;
    } else {
        event["source"] = json!({"component": component});
        event["firstTimestamp"] = json!(now);
        event["lastTimestamp"] = json!(now);
        event["count"] = json!(1);
        event["eventTime"] = Value::Null;
    }
    let _ = store.create(events, namespace, event);
}

/// `MicroTime`, as events.k8s.io writes `eventTime`.
fn micro(now: &str) -> String {
    now.replace('Z', ".000000Z")
}
