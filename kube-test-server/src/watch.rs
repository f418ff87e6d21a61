//! Watches: the current objects (when asked for, ending with the bookmark that marks
//! the end of the initial events), then every change, as newline-delimited JSON, until
//! `timeoutSeconds` or the client goes away.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::objects::Target;
use crate::request::{Reply, Request};
use crate::selector::{FieldSelector, LabelSelector};
use crate::server::Shared;
use crate::status::ApiError;

pub fn start(shared: &Shared, req: &Request, target: &Target) -> Reply {
    let labels = match LabelSelector::parse(req.param("labelSelector").unwrap_or_default()) {
        Ok(s) => s,
        Err(e) => return ApiError::bad_request(e).into(),
    };
    let fields = match FieldSelector::parse(req.param("fieldSelector").unwrap_or_default()) {
        Ok(s) => s,
        Err(e) => return ApiError::bad_request(e).into(),
    };
    let resource = target.resource;
    let namespace = target.namespace.clone();
    let matches = move |object: &Value| {
        namespace
            .as_deref()
            .is_none_or(|n| object["metadata"]["namespace"] == n)
            && labels.matches(&object["metadata"]["labels"])
            && fields.matches(object)
    };
    let send_initial = req.flag("sendInitialEvents");
    let requested = req.param("resourceVersion").unwrap_or("0");
    let mut cursor: u64 = requested.parse().unwrap_or(0);
    let timeout = req
        .param("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .map_or(Duration::from_secs(1800), Duration::from_secs);
    let mut latest = shared.store.subscribe();
    let (sender, receiver) = mpsc::channel(256);
    let store = shared.store.clone();

    let mut initial = Vec::new();
    if send_initial || requested == "0" {
        cursor = store.resource_version();
        for object in store
            .list(resource, None)
            .into_iter()
            .filter(|o| matches(o))
        {
            initial.push(event("ADDED", crate::events::view(resource, object)));
        }
        if send_initial {
            initial.push(event(
                "BOOKMARK",
                json!({
                    "kind": resource.kind, "apiVersion": resource.api_version(),
                    "metadata": {"resourceVersion": cursor.to_string(),
                        "annotations": {"k8s.io/initial-events-end": "true"}},
                }),
            ));
        }
    }
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + timeout;
        for line in initial {
            if sender.send(line).await.is_err() {
                return;
            }
        }
        loop {
            for change in store.changes_since(cursor) {
                cursor = change.resource_version;
                if change.storage != resource.storage() || !matches(&change.object) {
                    continue;
                }
                let object = crate::events::view(resource, change.object);
                if sender
                    .send(event(change.kind.as_str(), object))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            tokio::select! {
                changed = latest.changed() => if changed.is_err() { return },
                () = tokio::time::sleep_until(deadline) => return,
                () = sender.closed() => return,
            }
        }
    });
    Reply::Stream(receiver)
}

fn event(kind: &str, object: Value) -> Bytes {
    let mut line = json!({"type": kind, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}
