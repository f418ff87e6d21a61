//! `/version`, discovery (`/api`, `/apis`, each group-version's resource list) and the
//! OpenAPI v3 documents. Clients use the OpenAPI documents to learn that PATCH takes
//! `fieldValidation`, so they leave validation to the server instead of fetching schemas.

use serde_json::{Value, json};

use crate::resources::{RESOURCES, Resource, group_versions};

pub fn version() -> Value {
    json!({
        "major": "1", "minor": "35", "gitVersion": "v1.35.0-testserver",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2026-11-01T00:00:00Z", "goVersion": "go1.25", "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `/api`: the legacy group's versions.
pub fn core_versions() -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
}

/// `/apis`: every named group. Served as the plain `APIGroupList`, so clients that ask
/// for aggregated discovery fall back to per-group-version lists.
pub fn groups() -> Value {
    let groups: Vec<Value> = group_versions()
        .into_iter()
        .filter(|(group, _)| !group.is_empty())
        .map(|(group, version)| {
            let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
            json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// The `APIResourceList` of one group-version, or `None` if it is not served.
pub fn resources(group: &str, version: &str) -> Option<Value> {
    let served: Vec<&Resource> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut list = Vec::new();
    for r in served {
        list.push(json!({
            "name": r.plural, "singularName": r.singular(), "namespaced": r.namespaced, "kind": r.kind,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "shortNames": r.short_names,
        }));
        for sub in r.subresources {
            let (kind, group, version, verbs) = match *sub {
                "scale" => (
                    "Scale",
                    "autoscaling",
                    "v1",
                    json!(["get", "patch", "update"]),
                ),
                "log" => ("Pod", "", "v1", json!(["get"])),
                _ => (
                    r.kind,
                    r.group,
                    r.version,
                    json!(["get", "patch", "update"]),
                ),
            };
            list.push(json!({"name": format!("{}/{sub}", r.plural), "singularName": "", "namespaced": r.namespaced,
                "group": group, "version": version, "kind": kind, "verbs": verbs}));
        }
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list}),
    )
}

fn openapi_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: where each group-version's document is.
pub fn openapi_index() -> Value {
    let mut paths = serde_json::Map::new();
    for (group, version) in group_versions() {
        let path = openapi_path(group, version);
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash=testserver")}),
        );
    }
    json!({ "paths": paths })
}

/// The OpenAPI v3 document at `/openapi/v3/<path>`: for every kind, the PATCH operation
/// with the query parameters the server understands. Schemas are left open: the server
/// accepts any fields.
pub fn openapi_document(path: &str) -> Option<Value> {
    let (group, version) = group_versions()
        .into_iter()
        .find(|(g, v)| openapi_path(g, v) == path)?;
    let mut paths = serde_json::Map::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let scope = if r.namespaced {
            "namespaces/{namespace}/"
        } else {
            ""
        };
        let parameters: Vec<Value> = ["dryRun", "fieldManager", "fieldValidation", "force"]
            .iter()
            .map(|name| json!({"name": name, "in": "query", "schema": {"type": "string"}, "uniqueItems": true}))
            .collect();
        paths.insert(
            format!("/{}/{scope}{}/{{name}}", openapi_path(group, version), r.plural),
            json!({"patch": {
                "operationId": format!("patch{}", r.kind),
                "parameters": parameters,
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": r.kind},
            }}),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes API test server", "version": "v1.35.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

/// The media type `/openapi/v2` answers in (client-go asks for `...spec.v2@v1.0+protobuf`
/// and decodes nothing else).
pub const OPENAPI_V2_MEDIA_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// `/openapi/v2`: a Swagger 2.0 document with no definitions, in protobuf. Clients fall
/// back to it to validate kinds the v3 documents do not list; finding no schema for a
/// kind, they leave it to the server (which, for a kind it does not serve, says so).
pub fn openapi_v2() -> Vec<u8> {
    let field = |number: u8, bytes: &[u8]| {
        let mut out = vec![number << 3 | 2, u8::try_from(bytes.len()).unwrap_or(0)];
        out.extend_from_slice(bytes);
        out
    };
    let info = [field(1, b"Kubernetes"), field(2, b"v1.35.0")].concat();
    [field(1, b"2.0"), field(2, &info)].concat()
}
