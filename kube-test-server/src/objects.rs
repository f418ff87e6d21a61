//! The verbs on objects: get, list, create, update, patch (merge, strategic, JSON),
//! server-side apply, delete, and the `scale` and `status` subresources.

use serde_json::{Value, json};

use crate::managed_fields;
use crate::patch::{PatchKind, apply_patch};
use crate::request::{Reply, Request};
use crate::resources::Resource;
use crate::selector::{FieldSelector, LabelSelector};
use crate::server::Shared;
use crate::status::ApiError;
use crate::{defaults, events, logs, watch};

/// What a resource path names.
pub struct Target {
    pub resource: &'static Resource,
    /// `None` for cluster-scoped objects and for lists across namespaces.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

impl Target {
    fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }
}

pub fn handle(shared: &Shared, req: &Request, target: &Target) -> Reply {
    let result = match (
        req.method.as_str(),
        &target.name,
        target.subresource.as_deref(),
    ) {
        ("GET", None, _) if req.flag("watch") => return watch::start(shared, req, target),
        ("GET", None, _) => list(shared, req, target),
        ("GET", Some(name), Some("log")) => {
            return logs::read(shared, req, target.namespace(), name);
        }
        ("GET", Some(name), Some("scale")) => read(shared, target, name).map(|o| scale_of(&o)),
        ("GET", Some(name), _) => read(shared, target, name),
        ("POST", None, _) => create(shared, req, target),
        ("PUT", Some(name), sub) => update(shared, req, target, name, sub),
        ("PATCH", Some(name), sub) => patch(shared, req, target, name, sub),
        ("DELETE", Some(name), None) => delete(shared, req, target, name),
        _ => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            format!("{} is not supported on {}", req.method, req.path),
        )),
    };
    match result {
        Ok(object) => Reply::Json(if req.method == "POST" { 201 } else { 200 }, object),
        Err(error) => error.into(),
    }
}

fn read(shared: &Shared, target: &Target, name: &str) -> Result<Value, ApiError> {
    shared
        .store
        .get(target.resource, target.namespace(), name)
        .map(|o| events::view(target.resource, o))
        .ok_or_else(|| ApiError::not_found(target.resource, name))
}

/// A list, filtered by the selectors and cut into pages by `limit`/`continue` (the
/// continue token is the offset of the next item).
fn list(shared: &Shared, req: &Request, target: &Target) -> Result<Value, ApiError> {
    let labels = LabelSelector::parse(req.param("labelSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(req.param("fieldSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let resource_version = shared.store.resource_version();
    let items: Vec<Value> = shared
        .store
        .list(target.resource, target.namespace.as_deref())
        .into_iter()
        .filter(|o| labels.matches(&o["metadata"]["labels"]) && fields.matches(o))
        .map(|o| events::view(target.resource, o))
        .collect();
    let start: usize = match req.param("continue") {
        Some(token) => token.parse().map_err(|_| {
            ApiError::new(
                410,
                "Expired",
                "the provided continue parameter is too old or malformed",
            )
        })?,
        None => 0,
    };
    let limit = req
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let end = limit.map_or(items.len(), |l| (start + l).min(items.len()));
    let mut metadata = json!({"resourceVersion": resource_version.to_string()});
    if end < items.len() {
        metadata["continue"] = json!(end.to_string());
        metadata["remainingItemCount"] = json!(items.len() - end);
    }
    Ok(json!({
        "kind": format!("{}List", target.resource.kind),
        "apiVersion": target.resource.api_version(),
        "metadata": metadata,
        "items": items.get(start.min(items.len())..end).unwrap_or_default(),
    }))
}

fn check_kind(resource: &Resource, object: &Value) -> Result<(), ApiError> {
    let (api_version, kind) = (object["apiVersion"].as_str(), object["kind"].as_str());
    if api_version.is_some_and(|v| v != resource.api_version())
        || kind.is_some_and(|k| k != resource.kind)
    {
        return Err(ApiError::bad_request(format!(
            "the object's apiVersion/kind {}/{} does not match the path's {}/{}",
            api_version.unwrap_or_default(),
            kind.unwrap_or_default(),
            resource.api_version(),
            resource.kind
        )));
    }
    Ok(())
}

fn dry_run(req: &Request) -> bool {
    req.param("dryRun") == Some("All")
}

fn create(shared: &Shared, req: &Request, target: &Target) -> Result<Value, ApiError> {
    let mut object = req.object()?;
    check_kind(target.resource, &object)?;
    if target.resource.has_status() {
        drop_status(&mut object);
    }
    managed_fields::record_update(None, &mut object, &req.field_manager(), None, &crate::now());
    store_new(shared, req, target, object)
}

/// Stores a new object, or with `dryRun=All` shows what would be stored.
fn store_new(
    shared: &Shared,
    req: &Request,
    target: &Target,
    mut object: Value,
) -> Result<Value, ApiError> {
    if dry_run(req) {
        defaults::apply(target.resource.kind, &mut object);
        return Ok(object);
    }
    shared
        .store
        .create(target.resource, target.namespace(), object)
}

/// Writes `new` in place of `current` (the object as stored) through a subresource or
/// the main resource: each may change only its own part of the object.
fn write(
    shared: &Shared,
    req: &Request,
    target: &Target,
    name: &str,
    current: &Value,
    mut new: Value,
    subresource: Option<&str>,
) -> Result<Value, ApiError> {
    match subresource {
        Some("status") => {
            let mut merged = current.clone();
            merged["status"] = new["status"].take();
            new = merged;
        }
        Some(other) if other != "scale" => {
            return Err(ApiError::new(
                404,
                "NotFound",
                format!("the server could not find the requested resource ({other})"),
            ));
        }
        _ if target.resource.has_status() => new["status"] = current["status"].clone(),
        _ => {}
    }
    defaults::apply(target.resource.kind, &mut new);
    if new.get("status").is_some_and(Value::is_null) {
        drop_status(&mut new);
    }
    managed_fields::record_update(
        Some(current),
        &mut new,
        &req.field_manager(),
        subresource,
        &crate::now(),
    );
    if dry_run(req) {
        return Ok(new);
    }
    shared
        .store
        .replace(target.resource, target.namespace(), name, new)
}

fn update(
    shared: &Shared,
    req: &Request,
    target: &Target,
    name: &str,
    subresource: Option<&str>,
) -> Result<Value, ApiError> {
    let current = read(shared, target, name)?;
    let body = req.object()?;
    if subresource == Some("scale") {
        let replicas = body["spec"]["replicas"].clone();
        let mut new = current.clone();
        new["spec"]["replicas"] = replicas;
        return write(shared, req, target, name, &current, new, subresource).map(|o| scale_of(&o));
    }
    check_kind(target.resource, &body)?;
    write(shared, req, target, name, &current, body, subresource)
}

fn patch(
    shared: &Shared,
    req: &Request,
    target: &Target,
    name: &str,
    subresource: Option<&str>,
) -> Result<Value, ApiError> {
    let media = req
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if media == "application/apply-patch+yaml" {
        return server_side_apply(shared, req, target, name);
    }
    let kind = PatchKind::from_content_type(media)
        .ok_or_else(|| ApiError::new(415, "UnsupportedMediaType", format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {media})")))?;
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let current = read(shared, target, name)?;
    if subresource == Some("scale") {
        let scale = apply_patch(kind, &scale_of(&current), &body)
            .map_err(|e| ApiError::invalid(target.resource, name, e))?;
        let mut new = current.clone();
        new["spec"]["replicas"] = scale["spec"]["replicas"].clone();
        return write(shared, req, target, name, &current, new, subresource).map(|o| scale_of(&o));
    }
    let patched = apply_patch(kind, &current, &body)
        .map_err(|e| ApiError::invalid(target.resource, name, e))?;
    write(shared, req, target, name, &current, patched, subresource)
}

/// `application/apply-patch+yaml`: creates the object if it is missing; conflicts with
/// other field managers answer 409 unless `force=true`.
fn server_side_apply(
    shared: &Shared,
    req: &Request,
    target: &Target,
    name: &str,
) -> Result<Value, ApiError> {
    let manager = req.param("fieldManager").ok_or_else(|| {
        ApiError::bad_request("PATCH requests with an apply patch must set fieldManager")
    })?;
    let config = req.object()?;
    check_kind(target.resource, &config)?;
    let live = shared.store.get(target.resource, target.namespace(), name);
    let mut applied = managed_fields::apply(
        live.as_ref(),
        &config,
        manager,
        req.flag("force"),
        &crate::now(),
    )
    .map_err(|conflicts| {
        let mut error = ApiError::new(
            409,
            "Conflict",
            managed_fields::conflict_message(&conflicts),
        );
        error.details = json!({"causes": conflicts.iter().map(|c| json!({
                "reason": "FieldManagerConflict",
                "message": c.cause_message(),
                "field": c.field,
            })).collect::<Vec<_>>()});
        error
    })?;
    applied["metadata"]["name"] = json!(name);
    match live {
        Some(current) => {
            if target.resource.has_status() {
                applied["status"] = current["status"].clone();
            }
            defaults::apply(target.resource.kind, &mut applied);
            if dry_run(req) {
                return Ok(applied);
            }
            shared
                .store
                .replace(target.resource, target.namespace(), name, applied)
        }
        None => {
            if target.resource.has_status() {
                drop_status(&mut applied);
            }
            store_new(shared, req, target, applied)
        }
    }
}

fn delete(shared: &Shared, req: &Request, target: &Target, name: &str) -> Result<Value, ApiError> {
    let options = if req.body.is_empty() {
        json!({})
    } else {
        req.object()?
    };
    let propagation = req
        .param("propagationPolicy")
        .or_else(|| options["propagationPolicy"].as_str())
        .unwrap_or("Background");
    if dry_run(req) {
        return read(shared, target, name);
    }
    shared.store.delete(
        target.resource,
        target.namespace(),
        name,
        propagation == "Orphan",
    )
}

/// Status is the status subresource's to write: the main resource's writes drop it.
fn drop_status(object: &mut Value) {
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
}

/// The `autoscaling/v1` Scale view of a Deployment, ReplicaSet or StatefulSet.
fn scale_of(object: &Value) -> Value {
    let meta = &object["metadata"];
    let selector = object["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"]},
        "spec": {"replicas": object["spec"]["replicas"]},
        "status": {"replicas": object["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
    })
}
