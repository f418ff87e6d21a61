//! Field ownership as the API server keeps it in `metadata.managedFields`, for
//! server-side apply and for every other write.
//!
//! This follows the real implementation (sigs.k8s.io/structured-merge-diff `merge/update.go`,
//! `typed/{merge,compare,remove,tofieldset}.go`, `fieldpath/serialize*.go`, and the
//! apiserver's field manager in k8s.io/apimachinery `pkg/util/managedfields`):
//!
//! * an Apply merges the applier's configuration into the live object (maps merge, keyed
//!   lists merge by key, atomic lists and scalars are replaced), removes what the applier
//!   owned before and no longer sets unless another manager still owns it, and fails with
//!   the 409 conflicts when it would change a field another manager owns (unless forced,
//!   when the applier takes those fields over);
//! * an Update (create, PUT, or a non-apply PATCH) gives the manager the fields it changed
//!   or added and takes them from everyone else.
//!
//! The shape of objects comes from [`crate::schema`] (keyed lists and sets); every other list
//! is atomic, and so are a few well-known structs and maps (`is_atomic_map`).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::schema::{is_primitive_set, list_map_keys};

/// Whether a managedFields entry comes from an apply or from any other write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One field an apply would take from another manager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager's name, e.g. `kubectl`.
    pub manager: String,
    pub operation: Operation,
    /// `scale`, `status`, … when that manager wrote through a subresource.
    pub subresource: Option<String>,
    /// The version the other manager's entry tracks (printed for Update managers).
    pub api_version: String,
    /// The field as the API server prints it: `.spec.replicas`,
    /// `.spec.template.spec.containers[name="api"].image`.
    pub field: String,
}

impl Conflict {
    /// The message of this conflict's `StatusCause` (reason `FieldManagerConflict`,
    /// field [`Conflict::field`]): `conflict with "kubectl" with subresource "scale" using apps/v1`.
    pub fn cause_message(&self) -> String {
        format!("conflict with {}", self.print_manager())
    }

    /// The apiserver's `printManager`. Manager identifiers never carry a time, so an
    /// Update manager is printed without the `at <time>` suffix.
    fn print_manager(&self) -> String {
        let mut out = go_quote(&self.manager);
        if let Some(sub) = &self.subresource {
            out.push_str(&format!(" with subresource {}", go_quote(sub)));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

    fn identifier(&self) -> String {
        identifier(
            &self.manager,
            self.operation,
            &self.api_version,
            self.subresource.as_deref(),
        )
    }
}

/// Server-side apply of `config` (the applier's whole intent for the object) by `manager`
/// onto `live` (None: the object does not exist yet). Returns the new object with
/// `metadata.managedFields` updated, or the conflicts (when `force` is false). Fields outside
/// ownership (status, metadata.uid, resourceVersion, generation, creationTimestamp, name,
/// namespace) are kept from live; nulls are dropped, as decoding into a typed object would.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, Vec<Conflict>> {
    let version = str_at(config, "apiVersion")
        .or_else(|| live.and_then(|l| str_at(l, "apiVersion")))
        .unwrap_or_default()
        .to_owned();
    let manager = if manager.is_empty() {
        "unknown"
    } else {
        manager
    };
    let mut live_obj = live.map_or_else(|| Value::Object(Map::new()), without_managed_fields);
    drop_nulls(&mut live_obj);
    let mut managers = live.map(decode_object_managers).unwrap_or_default();
    if live.is_some() && managers.is_empty() {
        // The object was written while nothing was tracked: whatever is there becomes
        // "before-first-apply"'s, so that an apply cannot silently take it over.
        let zero = zero_object(&live_obj);
        record_changes(
            &zero,
            &live_obj,
            &mut managers,
            "before-first-apply",
            &version,
            None,
            now,
        );
    }
    let reset = reset_fields(None);
    let config = without_managed_fields(config);
    let self_id = identifier(manager, Operation::Apply, &version, None);
    let merged = merge_node(Some(&live_obj), Some(&config), &mut Vec::new(), true)
        .unwrap_or_else(|| config.clone());
    let applied_set = field_set(&config).recursive_difference(&reset);
    let last = managers
        .get(&self_id)
        .map(|e| e.set.clone())
        .unwrap_or_default();
    let time = managers.get(&self_id).and_then(|e| e.time.clone());
    managers.insert(
        self_id.clone(),
        Entry {
            manager: manager.to_owned(),
            operation: Operation::Apply,
            api_version: version.clone(),
            subresource: None,
            time,
            set: applied_set,
        },
    );
    let mut new = prune(&merged, &managers, &last);
    drop_nulls(&mut new);
    keep_unowned_from_live(&mut new, live);

    let compare = compare(&live_obj, &new).filtered(&reset);
    let conflicts = take_changed_fields(&mut managers, &compare, Some(&self_id), force);
    if !conflicts.is_empty() {
        return Err(conflicts);
    }
    if let Some(entry) = managers.get_mut(&self_id) {
        entry.set = entry.set.difference(&strip_set());
        if !values_equal(&live_obj, &new) {
            entry.time = Some(now.to_owned());
        }
    }
    managers.retain(|_, e| !e.set.is_empty());
    encode_managers(&mut new, &managers);
    Ok(new)
}

/// Records an Update (create, PUT, or a merge/strategic/JSON PATCH the server already
/// applied) by `manager`, optionally through `subresource` ("scale", "status"), from `old`
/// (None on create) to `new`: the changed and added fields become that manager's and leave
/// every other manager. `new.metadata.managedFields`, when the client sent a non-empty
/// list, replaces the live one (an empty list clears tracking, as on the real server).
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
    now: &str,
) {
    let subresource = subresource.filter(|s| !s.is_empty());
    let version = str_at(new, "apiVersion")
        .or_else(|| old.and_then(|o| str_at(o, "apiVersion")))
        .unwrap_or_default()
        .to_owned();
    let manager = if manager.is_empty() {
        "unknown"
    } else {
        manager
    };
    let old_managers = old.map(decode_object_managers).unwrap_or_default();
    let mut managers = match (subresource, new.pointer("/metadata/managedFields")) {
        (None, Some(Value::Array(sent))) if is_reset(sent) => Managers::new(),
        (None, Some(Value::Array(sent))) => {
            let decoded = decode_managers(sent);
            if decoded.is_empty() {
                old_managers
            } else {
                decoded
            }
        }
        _ => old_managers,
    };
    if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    let old_obj = old.map(without_managed_fields);
    if managers.is_empty()
        && old_obj
            .as_ref()
            .is_some_and(|o| str_at(o, "metadata/uid").is_some_and(|u| !u.is_empty()))
    {
        // An existing object nobody tracks stays untracked until it is applied to.
        return;
    }
    if subresource == Some("scale") {
        record_scale(old_obj.as_ref(), new, &mut managers, manager, &version);
    } else {
        let base = old_obj.unwrap_or_else(|| zero_object(new));
        record_changes(
            &base,
            new,
            &mut managers,
            manager,
            &version,
            subresource,
            now,
        );
    }
    cap_update_managers(&mut managers);
    encode_managers(new, &managers);
}

/// The message the API server puts in the 409 Status for these conflicts.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    match conflicts {
        [] => "Apply failed with 0 conflicts: ".to_owned(),
        [one] => format!(
            "Apply failed with 1 conflict: {}: {}",
            one.cause_message(),
            one.field
        ),
        _ => {
            // Grouped by manager identifier (the JSON the server keys managers by), sorted.
            let mut by_manager: BTreeMap<String, Vec<&Conflict>> = BTreeMap::new();
            for c in conflicts {
                by_manager.entry(c.identifier()).or_default().push(c);
            }
            let mut lines = Vec::new();
            for group in by_manager.values() {
                lines.push(format!("conflicts with {}:", group[0].print_manager()));
                lines.extend(group.iter().map(|c| format!("- {}", c.field)));
            }
            format!(
                "Apply failed with {} conflicts: {}",
                conflicts.len(),
                lines.join("\n")
            )
        }
    }
}

// ---------------------------------------------------------------------------------------
// Managers: the decoded `metadata.managedFields`, keyed as the server keys them.

#[derive(Clone, Debug)]
struct Entry {
    manager: String,
    operation: Operation,
    api_version: String,
    subresource: Option<String>,
    time: Option<String>,
    set: Set,
}

/// Keyed by manager identifier (see [`identifier`]).
type Managers = BTreeMap<String, Entry>;

/// The apiserver's `BuildManagerIdentifier`: the entry as Go marshals it without time,
/// fieldsType and fieldsV1, and without apiVersion for appliers.
fn identifier(
    manager: &str,
    operation: Operation,
    api_version: &str,
    subresource: Option<&str>,
) -> String {
    let mut parts = Vec::new();
    if !manager.is_empty() {
        parts.push(format!(
            "\"manager\":{}",
            go_json(&Value::String(manager.to_owned()))
        ));
    }
    parts.push(format!("\"operation\":\"{}\"", operation.as_str()));
    if operation == Operation::Update && !api_version.is_empty() {
        parts.push(format!(
            "\"apiVersion\":{}",
            go_json(&Value::String(api_version.to_owned()))
        ));
    }
    if let Some(sub) = subresource.filter(|s| !s.is_empty()) {
        parts.push(format!(
            "\"subresource\":{}",
            go_json(&Value::String(sub.to_owned()))
        ));
    }
    format!("{{{}}}", parts.join(","))
}

fn decode_object_managers(object: &Value) -> Managers {
    match object.pointer("/metadata/managedFields") {
        Some(Value::Array(entries)) => decode_managers(entries),
        _ => Managers::new(),
    }
}

/// Entries the server would refuse to decode (bad operation, no apiVersion, another
/// fieldsType) are skipped; a later entry with the same identifier wins, as in Go's map.
fn decode_managers(entries: &[Value]) -> Managers {
    let mut managers = Managers::new();
    for entry in entries {
        let Some(m) = entry.as_object() else { continue };
        let text = |key: &str| m.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
        let operation = match text("operation") {
            Some("Apply") => Operation::Apply,
            Some("Update") => Operation::Update,
            _ => continue,
        };
        let Some(api_version) = text("apiVersion") else {
            continue;
        };
        if text("fieldsType") != Some("FieldsV1") {
            continue;
        }
        let manager = text("manager").unwrap_or_default();
        let subresource = text("subresource");
        let set = m
            .get("fieldsV1")
            .map(Set::from_fields_v1)
            .unwrap_or_default();
        managers.insert(
            identifier(manager, operation, api_version, subresource),
            Entry {
                manager: manager.to_owned(),
                operation,
                api_version: api_version.to_owned(),
                subresource: subresource.map(str::to_owned),
                time: text("time").map(str::to_owned),
                set,
            },
        );
    }
    managers
}

/// `[]` or `[{}]` sent by a client: start tracking from nothing.
fn is_reset(sent: &[Value]) -> bool {
    match sent {
        [] => true,
        [only] => only.as_object().is_some_and(Map::is_empty),
        _ => false,
    }
}

/// Writes the entries, sorted as the server sorts them (operation, time, manager,
/// apiVersion, subresource); no entries: no `managedFields` at all.
fn encode_managers(object: &mut Value, managers: &Managers) {
    let mut entries: Vec<&Entry> = managers.values().filter(|e| !e.set.is_empty()).collect();
    entries.sort_by(|a, b| {
        a.operation
            .as_str()
            .cmp(b.operation.as_str())
            .then_with(|| a.time.cmp(&b.time))
            .then_with(|| a.manager.cmp(&b.manager))
            .then_with(|| a.api_version.cmp(&b.api_version))
            .then_with(|| {
                a.subresource
                    .as_deref()
                    .unwrap_or_default()
                    .cmp(b.subresource.as_deref().unwrap_or_default())
            })
    });
    let encoded: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            let mut m = Map::new();
            if !e.manager.is_empty() {
                m.insert("manager".into(), Value::String(e.manager.clone()));
            }
            m.insert(
                "operation".into(),
                Value::String(e.operation.as_str().into()),
            );
            if !e.api_version.is_empty() {
                m.insert("apiVersion".into(), Value::String(e.api_version.clone()));
            }
            if let Some(time) = &e.time {
                m.insert("time".into(), Value::String(time.clone()));
            }
            m.insert("fieldsType".into(), Value::String("FieldsV1".into()));
            m.insert("fieldsV1".into(), e.set.to_fields_v1());
            if let Some(sub) = &e.subresource {
                m.insert("subresource".into(), Value::String(sub.clone()));
            }
            Value::Object(m)
        })
        .collect();
    let Some(object) = object.as_object_mut() else {
        return;
    };
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(metadata) = metadata.as_object_mut() else {
        return;
    };
    if encoded.is_empty() {
        metadata.remove("managedFields");
    } else {
        metadata.insert("managedFields".into(), Value::Array(encoded));
    }
}

/// At most ten Update entries: the oldest are merged, per apiVersion, into an
/// "ancient-changes" entry (the apiserver's `capManagersManager`).
fn cap_update_managers(managers: &mut Managers) {
    const MAX_UPDATE_MANAGERS: usize = 10;
    let mut updaters: Vec<(Option<String>, String)> = managers
        .iter()
        .filter(|(_, e)| e.operation == Operation::Update)
        .map(|(id, e)| (e.time.clone(), id.clone()))
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort();
    let mut length = updaters.len();
    let mut first_of_version: BTreeMap<String, String> = BTreeMap::new();
    for (_, id) in &updaters {
        if length <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(entry) = managers.get(id).cloned() else {
            continue;
        };
        let bucket = identifier(
            "ancient-changes",
            Operation::Update,
            &entry.api_version,
            None,
        );
        let Some(first) = first_of_version.get(&entry.api_version) else {
            first_of_version.insert(entry.api_version.clone(), id.clone());
            continue;
        };
        if !managers.contains_key(&bucket)
            && let Some(mut moved) = managers.remove(first)
        {
            moved.manager = "ancient-changes".into();
            moved.subresource = None;
            managers.insert(bucket.clone(), moved);
        }
        managers.remove(id);
        if let Some(b) = managers.get_mut(&bucket) {
            b.set = entry.set.union(&b.set);
            b.api_version = entry.api_version.clone();
            b.time = entry.time.clone();
        }
        length -= 1;
    }
}

// ---------------------------------------------------------------------------------------
// The operations.

/// Update semantics (the apiserver wraps SMD's Update with a "current-operation" manager):
/// fields changed or added between `base` and `new` leave every manager and join `manager`'s
/// entry; removed fields leave every manager.
fn record_changes(
    base: &Value,
    new: &Value,
    managers: &mut Managers,
    manager: &str,
    version: &str,
    subresource: Option<&str>,
    now: &str,
) {
    let compare = compare(base, new).filtered(&reset_fields(subresource));
    take_changed_fields(managers, &compare, None, true);
    let taken = compare
        .modified
        .union(&compare.added)
        .difference(&strip_set());
    if taken.is_empty() {
        return;
    }
    let id = identifier(manager, Operation::Update, version, subresource);
    let previous = managers.remove(&id).map(|e| e.set).unwrap_or_default();
    managers.insert(
        id,
        Entry {
            manager: manager.to_owned(),
            operation: Operation::Update,
            api_version: version.to_owned(),
            subresource: subresource.map(str::to_owned),
            time: Some(now.to_owned()),
            set: taken.union(&previous),
        },
    );
}

/// A write through `/scale`: only `.spec.replicas` is tracked. When it changes, every other
/// owner loses it and `manager` (subresource "scale") owns it. The server builds that entry
/// from the parent's times keyed by the Scale's identifiers, which never match, so the
/// entry has no `time`.
fn record_scale(
    old: Option<&Value>,
    new: &Value,
    managers: &mut Managers,
    manager: &str,
    version: &str,
) {
    let replicas = [Pe::Field("spec".into()), Pe::Field("replicas".into())];
    let before = old.and_then(|o| o.pointer("/spec/replicas"));
    let after = new.pointer("/spec/replicas");
    let changed = match (before, after) {
        (Some(a), Some(b)) => !values_equal(a, b),
        (None, None) => false,
        _ => true,
    };
    if !changed {
        return;
    }
    let taken = Set::of(&[&replicas[..]]);
    for entry in managers.values_mut() {
        entry.set = entry.set.difference(&taken);
    }
    managers.retain(|_, e| !e.set.is_empty());
    managers.insert(
        identifier(manager, Operation::Update, version, Some("scale")),
        Entry {
            manager: manager.to_owned(),
            operation: Operation::Update,
            api_version: version.to_owned(),
            subresource: Some("scale".into()),
            time: None,
            set: taken,
        },
    );
}

/// SMD's `Updater.update`: the fields of every manager but `skip` that the comparison
/// modified or added are conflicts; unless `force`, they are returned and nothing changes.
/// Otherwise they leave those managers, and so do removed fields; empty entries go.
fn take_changed_fields(
    managers: &mut Managers,
    compare: &Comparison,
    skip: Option<&str>,
    force: bool,
) -> Vec<Conflict> {
    let changed = compare.modified.union(&compare.added);
    let mut conflicts: BTreeMap<String, Set> = BTreeMap::new();
    for (id, entry) in managers.iter() {
        if Some(id.as_str()) == skip {
            continue;
        }
        let taken = entry.set.intersection(&changed);
        if !taken.is_empty() {
            conflicts.insert(id.clone(), taken);
        }
    }
    if !force && !conflicts.is_empty() {
        let mut out = Vec::new();
        for (id, set) in &conflicts {
            let Some(entry) = managers.get(id) else {
                continue;
            };
            for path in set.paths() {
                out.push(Conflict {
                    manager: entry.manager.clone(),
                    operation: entry.operation,
                    subresource: entry.subresource.clone(),
                    api_version: entry.api_version.clone(),
                    field: path_string(&path),
                });
            }
        }
        return out;
    }
    for (id, entry) in managers.iter_mut() {
        if Some(id.as_str()) == skip {
            continue;
        }
        if let Some(taken) = conflicts.get(id) {
            entry.set = entry.set.difference(taken);
        }
        if !compare.removed.is_empty() {
            entry.set = entry.set.difference(&compare.removed);
        }
    }
    managers.retain(|_, e| !e.set.is_empty());
    Vec::new()
}

/// SMD's `prune`: removes what the applier owned last time (`last`) and owns no more,
/// unless some manager (the applier's new set included) still owns it.
fn prune(merged: &Value, managers: &Managers, last: &Set) -> Value {
    if last.is_empty() {
        return merged.clone();
    }
    let last = last.ensure_named_fields_are_members();
    let pruned = remove_items(merged, &last, &mut Vec::new(), true);
    // addBackOwnedItems
    let mut owned = Set::default();
    for entry in managers.values() {
        owned = owned.union(&entry.set);
    }
    let merged_set = field_set(merged).ensure_named_fields_are_members();
    let pruned_set = field_set(&pruned).ensure_named_fields_are_members();
    let keep = pruned_set.union(&owned.ensure_named_fields_are_members());
    let pruned = remove_items(merged, &merged_set.difference(&keep), &mut Vec::new(), true);
    // addBackDanglingItems
    let pruned_set = field_set(&pruned).ensure_named_fields_are_members();
    remove_items(
        merged,
        &merged_set.difference(&pruned_set).intersection(&last),
        &mut Vec::new(),
        true,
    )
}

/// What a write to the main resource or a subresource may not change, so is not tracked
/// (the strategies' `GetResetFields`; for status, the Deployment's: spec and labels).
fn reset_fields(subresource: Option<&str>) -> Set {
    let field = |name: &str| Pe::Field(name.to_owned());
    match subresource {
        None => Set::of(&[&[field("status")]]),
        Some("status") => Set::of(&[&[field("spec")], &[field("metadata"), field("labels")]]),
        Some(_) => Set::default(),
    }
}

/// Never tracked (the apiserver's `stripMetaManager`).
fn strip_set() -> Set {
    let field = |name: &str| Pe::Field(name.to_owned());
    let mut set = Set::of(&[
        &[field("apiVersion")],
        &[field("kind")],
        &[field("metadata")],
    ]);
    for name in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        set.insert(&[field("metadata"), field(name)]);
    }
    set
}

/// The typed empty object the server compares a create against: structs that are not
/// pointers in the Go types are there (empty), so creating them is not "adding" them.
fn zero_object(object: &Value) -> Value {
    let api_version = str_at(object, "apiVersion").unwrap_or_default();
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let built_in = !group.contains('.') || group.ends_with(".k8s.io");
    let mut zero = Map::new();
    if !built_in {
        return Value::Object(zero);
    }
    let meta = || serde_json::json!({"creationTimestamp": null});
    let template = || serde_json::json!({"metadata": meta(), "spec": {"containers": null}});
    zero.insert("metadata".into(), meta());
    if object.get("spec").is_some() {
        let spec = match str_at(object, "kind").unwrap_or_default() {
            "Deployment" => serde_json::json!({"template": template(), "strategy": {}}),
            "StatefulSet" | "DaemonSet" => {
                serde_json::json!({"template": template(), "updateStrategy": {}})
            }
            "ReplicaSet" | "Job" => serde_json::json!({"template": template()}),
            "CronJob" => {
                serde_json::json!({"jobTemplate": {"metadata": meta(), "spec": {"template": template()}}})
            }
            "Pod" => serde_json::json!({"containers": null}),
            _ => Value::Object(Map::new()),
        };
        zero.insert("spec".into(), spec);
    }
    if object.get("status").is_some() {
        zero.insert("status".into(), Value::Object(Map::new()));
    }
    Value::Object(zero)
}

/// Status and the metadata the server owns come from live (or go, on create).
fn keep_unowned_from_live(new: &mut Value, live: Option<&Value>) {
    let Some(object) = new.as_object_mut() else {
        return;
    };
    match live.and_then(|l| l.get("status")) {
        Some(status) => {
            object.insert("status".into(), status.clone());
        }
        None => {
            object.remove("status");
        }
    }
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let live_meta = live
        .and_then(|l| l.get("metadata"))
        .and_then(Value::as_object);
    for key in [
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "name",
        "namespace",
    ] {
        let from_live = live_meta.and_then(|m| m.get(key));
        match from_live {
            Some(v) => {
                metadata.insert(key.into(), v.clone());
            }
            None if live.is_some() || !matches!(key, "name" | "namespace") => {
                metadata.remove(key);
            }
            None => {}
        }
    }
    metadata.remove("managedFields");
}

// ---------------------------------------------------------------------------------------
// Field paths and sets (sigs.k8s.io/structured-merge-diff/fieldpath).

/// One step of a field path: a map field, a keyed list item, a set item, or a list index.
#[derive(Clone, Debug)]
enum Pe {
    Field(String),
    /// Key fields sorted by name.
    Key(Vec<(String, Value)>),
    Value(Value),
    Index(usize),
}

impl Pe {
    fn rank(&self) -> u8 {
        match self {
            Pe::Field(_) => 0,
            Pe::Key(_) => 1,
            Pe::Value(_) => 2,
            Pe::Index(_) => 3,
        }
    }

    /// The FieldsV1 key: `f:name`, `k:{"name":"api"}`, `v:"x"`, `i:0`.
    fn serialize(&self) -> String {
        match self {
            Pe::Field(name) => format!("f:{name}"),
            Pe::Key(fields) => {
                let body: Vec<String> = fields
                    .iter()
                    .map(|(name, value)| {
                        format!(
                            "{}:{}",
                            go_json(&Value::String(name.clone())),
                            go_json(value)
                        )
                    })
                    .collect();
                format!("k:{{{}}}", body.join(","))
            }
            Pe::Value(value) => format!("v:{}", go_json(value)),
            Pe::Index(i) => format!("i:{i}"),
        }
    }

    fn deserialize(s: &str) -> Option<Pe> {
        let (kind, rest) = (s.get(..2)?, s.get(2..)?);
        match kind {
            "f:" => Some(Pe::Field(rest.to_owned())),
            "v:" => serde_json::from_str(rest).ok().map(Pe::Value),
            "k:" => match serde_json::from_str(rest).ok()? {
                Value::Object(m) => {
                    let mut fields: Vec<(String, Value)> = m.into_iter().collect();
                    fields.sort_by(|a, b| a.0.cmp(&b.0));
                    Some(Pe::Key(fields))
                }
                _ => None,
            },
            "i:" => rest.parse().ok().map(Pe::Index),
            _ => None,
        }
    }
}

impl std::fmt::Display for Pe {
    /// As `fieldpath.PathElement.String()`: `.name`, `[name="api"]`, `[="x"]`, `[0]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pe::Field(name) => write!(f, ".{name}"),
            Pe::Key(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(n, v)| format!("{n}={}", value_to_string(v)))
                    .collect();
                write!(f, "[{}]", parts.join(","))
            }
            Pe::Value(v) => write!(f, "[={}]", value_to_string(v)),
            Pe::Index(i) => write!(f, "[{i}]"),
        }
    }
}

impl Ord for Pe {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Pe::Field(a), Pe::Field(b)) => a.cmp(b),
            (Pe::Key(a), Pe::Key(b)) => cmp_field_lists(a, b),
            (Pe::Value(a), Pe::Value(b)) => cmp_values(a, b),
            (Pe::Index(a), Pe::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Pe {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pe {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pe {}

fn path_string(path: &[Pe]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// A set of field paths: `members` end here, `children` go deeper (a path can be both).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Set {
    members: BTreeSet<Pe>,
    children: BTreeMap<Pe, Set>,
}

impl Set {
    fn of(paths: &[&[Pe]]) -> Set {
        let mut set = Set::default();
        for path in paths {
            set.insert(path);
        }
        set
    }

    /// The empty path (the whole object) is never tracked.
    fn insert(&mut self, path: &[Pe]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    #[cfg(test)]
    fn has(&self, path: &[Pe]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(Set::is_empty)
    }

    fn union(&self, other: &Set) -> Set {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, child) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out
    }

    fn intersection(&self, other: &Set) -> Set {
        let mut out = Set {
            members: self.members.intersection(&other.members).cloned().collect(),
            children: BTreeMap::new(),
        };
        for (pe, child) in &self.children {
            if let Some(theirs) = other.children.get(pe) {
                let both = child.intersection(theirs);
                if !both.is_empty() {
                    out.children.insert(pe.clone(), both);
                }
            }
        }
        out
    }

    fn difference(&self, other: &Set) -> Set {
        let mut out = Set {
            members: self.members.difference(&other.members).cloned().collect(),
            children: BTreeMap::new(),
        };
        for (pe, child) in &self.children {
            match other.children.get(pe) {
                Some(theirs) => {
                    let rest = child.difference(theirs);
                    if !rest.is_empty() {
                        out.children.insert(pe.clone(), rest);
                    }
                }
                None => {
                    out.children.insert(pe.clone(), child.clone());
                }
            }
        }
        out
    }

    /// Like [`Set::difference`], but a member of `other` also removes everything under it.
    fn recursive_difference(&self, other: &Set) -> Set {
        let mut out = Set {
            members: self.members.difference(&other.members).cloned().collect(),
            children: BTreeMap::new(),
        };
        for (pe, child) in &self.children {
            if other.members.contains(pe) {
                continue;
            }
            let rest = match other.children.get(pe) {
                Some(theirs) => child.recursive_difference(theirs),
                None => child.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(pe.clone(), rest);
            }
        }
        out
    }

    /// Map fields with something under them become members too (SMD does this for struct
    /// fields; without a schema every map field counts as one).
    fn ensure_named_fields_are_members(&self) -> Set {
        let mut out = Set {
            members: self.members.clone(),
            children: BTreeMap::new(),
        };
        for (pe, child) in &self.children {
            if matches!(pe, Pe::Field(_)) {
                out.members.insert(pe.clone());
            }
            out.children
                .insert(pe.clone(), child.ensure_named_fields_are_members());
        }
        out
    }

    /// Every path, in SMD's `Iterate` order: this level's members, then each child's.
    fn paths(&self) -> Vec<Vec<Pe>> {
        fn walk(set: &Set, prefix: &mut Vec<Pe>, out: &mut Vec<Vec<Pe>>) {
            for member in &set.members {
                let mut path = prefix.clone();
                path.push(member.clone());
                out.push(path);
            }
            for (pe, child) in &set.children {
                prefix.push(pe.clone());
                walk(child, prefix, out);
                prefix.pop();
            }
        }
        let mut out = Vec::new();
        walk(self, &mut Vec::new(), &mut out);
        out
    }

    fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit(false))
    }

    fn emit(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self && !(self.members.is_empty() && self.children.is_empty()) {
            out.insert(".".into(), Value::Object(Map::new()));
        }
        let keys: BTreeSet<&Pe> = self.members.iter().chain(self.children.keys()).collect();
        for pe in keys {
            let body = match self.children.get(pe) {
                Some(child) => child.emit(self.members.contains(pe)),
                None => Map::new(),
            };
            out.insert(pe.serialize(), Value::Object(body));
        }
        out
    }

    fn from_fields_v1(fields: &Value) -> Set {
        /// The children of a node, and whether the node itself is a member.
        fn read(node: &Value) -> (Option<Set>, bool) {
            let mut children: Option<Set> = None;
            let mut member = false;
            if let Value::Object(m) = node {
                for (key, child) in m {
                    if key == "." {
                        member = true;
                        continue;
                    }
                    let Some(pe) = Pe::deserialize(key) else {
                        continue;
                    };
                    let (grandchildren, child_member) = read(child);
                    if child_member {
                        children.get_or_insert_default().members.insert(pe.clone());
                    }
                    if let Some(grandchildren) = grandchildren {
                        children
                            .get_or_insert_default()
                            .children
                            .insert(pe, grandchildren);
                    }
                }
            }
            if children.is_none() {
                member = true;
            }
            (children, member)
        }
        read(fields).0.unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------
// Walking objects with the little schema knowledge there is.

/// Structs and maps the API types mark atomic (`+structType=atomic`, `+mapType=atomic`),
/// by field name (`names`: field names from the root, list positions left out).
fn is_atomic_map(names: &[String]) -> bool {
    let Some((last, parents)) = names.split_last() else {
        return false;
    };
    match last.as_str() {
        // LabelSelector everywhere; Service and ReplicationController selectors are atomic maps.
        "selector" | "labelSelector" | "namespaceSelector" | "podSelector" | "scopeSelector" => {
            true
        }
        "nodeSelector" | "fieldRef" | "resourceFieldRef" | "configMapKeyRef" | "secretKeyRef"
        | "fileKeyRef" => true,
        // Items of these keyed lists are atomic structs (LocalObjectReference, OwnerReference).
        "imagePullSecrets" | "ownerReferences" => true,
        "requiredDuringSchedulingIgnoredDuringExecution" => {
            parents.last().is_some_and(|p| p == "nodeAffinity")
        }
        _ => false,
    }
}

/// The path elements of a list's items when the list is keyed (or a set) and every item
/// has a distinct key; `None` makes it atomic (duplicates and keyless items included,
/// which the real server would refuse in an apply).
fn item_pes(items: &[Value], names: &[String]) -> Option<Vec<Pe>> {
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let pes: Vec<Pe> = if let Some(keys) = list_map_keys(&refs) {
        items
            .iter()
            .map(|item| key_pe(item, keys))
            .collect::<Option<_>>()?
    } else if is_primitive_set(&refs) {
        items
            .iter()
            .map(|item| match item {
                Value::Object(_) | Value::Array(_) | Value::Null => None,
                scalar => Some(Pe::Value(scalar.clone())),
            })
            .collect::<Option<_>>()?
    } else {
        return None;
    };
    let unique = {
        let mut seen = BTreeSet::new();
        pes.iter().all(|pe| seen.insert(pe))
    };
    unique.then_some(pes)
}

/// `k:{...}`: the item's key fields, `protocol` defaulting to TCP as the schema says.
fn key_pe(item: &Value, keys: &[&str]) -> Option<Pe> {
    let item = item.as_object()?;
    let mut fields = Vec::new();
    for key in keys {
        match item.get(*key) {
            Some(value) => fields.push(((*key).to_owned(), value.clone())),
            None if *key == "protocol" => {
                fields.push(("protocol".to_owned(), Value::String("TCP".into())))
            }
            None => {}
        }
    }
    if fields.is_empty() {
        return None;
    }
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    Some(Pe::Key(fields))
}

/// How a node of one or two values is walked.
enum Node<'a> {
    /// Compared, merged and owned whole.
    Leaf,
    Map(
        Option<&'a Map<String, Value>>,
        Option<&'a Map<String, Value>>,
    ),
    List(Vec<(Pe, &'a Value)>, Vec<(Pe, &'a Value)>),
}

fn classify<'a>(
    l: Option<&'a Value>,
    r: Option<&'a Value>,
    names: &[String],
    root: bool,
) -> Node<'a> {
    let any = |f: fn(&Value) -> bool| l.is_some_and(f) || r.is_some_and(f);
    // Absent and null go with anything; otherwise both sides must have the same shape.
    let fits = |v: Option<&Value>, f: fn(&Value) -> bool| v.is_none_or(|v| v.is_null() || f(v));
    if any(Value::is_object) {
        if !fits(l, Value::is_object)
            || !fits(r, Value::is_object)
            || (!root && is_atomic_map(names))
        {
            return Node::Leaf;
        }
        let (lm, rm) = (l.and_then(Value::as_object), r.and_then(Value::as_object));
        if lm.is_none_or(Map::is_empty) && rm.is_none_or(Map::is_empty) {
            return Node::Leaf;
        }
        return Node::Map(lm, rm);
    }
    if any(Value::is_array) {
        if !fits(l, Value::is_array) || !fits(r, Value::is_array) {
            return Node::Leaf;
        }
        let la: &'a [Value] = l.and_then(Value::as_array).map_or(&[], Vec::as_slice);
        let ra: &'a [Value] = r.and_then(Value::as_array).map_or(&[], Vec::as_slice);
        if la.is_empty() && ra.is_empty() {
            return Node::Leaf;
        }
        let (Some(lp), Some(rp)) = (item_pes(la, names), item_pes(ra, names)) else {
            return Node::Leaf;
        };
        let l_items = lp.into_iter().zip(la.iter()).collect();
        let r_items = rp.into_iter().zip(ra.iter()).collect();
        return Node::List(l_items, r_items);
    }
    Node::Leaf
}

fn map_keys<'a>(
    l: Option<&'a Map<String, Value>>,
    r: Option<&'a Map<String, Value>>,
) -> BTreeSet<&'a String> {
    l.into_iter()
        .flat_map(Map::keys)
        .chain(r.into_iter().flat_map(Map::keys))
        .collect()
}

/// SMD's `ToFieldSet`: every leaf, every list item, and null or empty map fields.
fn field_set(object: &Value) -> Set {
    fn walk(value: &Value, names: &mut Vec<String>, path: &mut Vec<Pe>, set: &mut Set) {
        match value {
            Value::Object(m) => {
                if !path.is_empty() && is_atomic_map(names) {
                    set.insert(path);
                    return;
                }
                for (key, child) in m {
                    names.push(key.clone());
                    path.push(Pe::Field(key.clone()));
                    walk(child, names, path, set);
                    if child.is_null() || child.as_object().is_some_and(Map::is_empty) {
                        set.insert(path);
                    }
                    path.pop();
                    names.pop();
                }
            }
            Value::Array(items) => match item_pes(items, names) {
                None => set.insert(path),
                Some(pes) => {
                    for (pe, item) in pes.into_iter().zip(items) {
                        path.push(pe);
                        walk(item, names, path, set);
                        set.insert(path);
                        path.pop();
                    }
                }
            },
            _ => set.insert(path),
        }
    }
    let mut set = Set::default();
    walk(object, &mut Vec::new(), &mut Vec::new(), &mut set);
    set
}

#[derive(Debug, Default)]
struct Comparison {
    removed: Set,
    modified: Set,
    added: Set,
}

impl Comparison {
    fn filtered(self, exclude: &Set) -> Comparison {
        Comparison {
            removed: self.removed.recursive_difference(exclude),
            modified: self.modified.recursive_difference(exclude),
            added: self.added.recursive_difference(exclude),
        }
    }
}

/// SMD's `Compare`: leaves added, removed or changed, and granular maps, lists and items
/// that appeared or went.
fn compare(lhs: &Value, rhs: &Value) -> Comparison {
    fn walk(
        l: Option<&Value>,
        r: Option<&Value>,
        names: &mut Vec<String>,
        path: &mut Vec<Pe>,
        out: &mut Comparison,
    ) {
        match classify(l, r, names, path.is_empty()) {
            Node::Leaf => {
                match (l, r) {
                    (None, _) => out.added.insert(path),
                    (_, None) => out.removed.insert(path),
                    (Some(a), Some(b)) if !values_equal(a, b) => out.modified.insert(path),
                    _ => {}
                }
                return;
            }
            Node::Map(lm, rm) => {
                for key in map_keys(lm, rm) {
                    names.push(key.clone());
                    path.push(Pe::Field(key.clone()));
                    walk(
                        lm.and_then(|m| m.get(key)),
                        rm.and_then(|m| m.get(key)),
                        names,
                        path,
                        out,
                    );
                    path.pop();
                    names.pop();
                }
            }
            Node::List(li, ri) => {
                let lmap: BTreeMap<&Pe, &Value> = li.iter().map(|(pe, v)| (pe, *v)).collect();
                let rmap: BTreeMap<&Pe, &Value> = ri.iter().map(|(pe, v)| (pe, *v)).collect();
                let all: BTreeSet<&Pe> = lmap.keys().chain(rmap.keys()).copied().collect();
                for pe in all {
                    path.push(pe.clone());
                    walk(
                        lmap.get(pe).copied(),
                        rmap.get(pe).copied(),
                        names,
                        path,
                        out,
                    );
                    path.pop();
                }
            }
        }
        if l.is_none() {
            out.added.insert(path);
        } else if r.is_none() {
            out.removed.insert(path);
        }
    }
    let mut out = Comparison::default();
    walk(
        Some(lhs),
        Some(rhs),
        &mut Vec::new(),
        &mut Vec::new(),
        &mut out,
    );
    out
}

/// SMD's `Merge` of the applied configuration (`r`) into the live object (`l`).
fn merge_node(
    l: Option<&Value>,
    r: Option<&Value>,
    names: &mut Vec<String>,
    root: bool,
) -> Option<Value> {
    match classify(l, r, names, root) {
        Node::Leaf => r.or(l).cloned(),
        Node::Map(lm, rm) => {
            let mut out = Map::new();
            for key in map_keys(lm, rm) {
                names.push(key.clone());
                if let Some(v) = merge_node(
                    lm.and_then(|m| m.get(key)),
                    rm.and_then(|m| m.get(key)),
                    names,
                    false,
                ) {
                    out.insert(key.clone(), v);
                }
                names.pop();
            }
            Some(Value::Object(out))
        }
        Node::List(lhs, rhs) => Some(Value::Array(merge_list(&lhs, &rhs, names))),
    }
}

/// SMD's order for a merged keyed list: the configuration's order for its items, with the
/// live items it does not mention kept where they were relative to those.
fn merge_list(lhs: &[(Pe, &Value)], rhs: &[(Pe, &Value)], names: &mut Vec<String>) -> Vec<Value> {
    let observed_l: BTreeMap<&Pe, &Value> = lhs.iter().map(|(pe, v)| (pe, *v)).collect();
    let observed_r: BTreeMap<&Pe, &Value> = rhs.iter().map(|(pe, v)| (pe, *v)).collect();
    let mut shared = rhs
        .iter()
        .map(|(pe, _)| pe)
        .filter(|pe| observed_l.contains_key(pe));
    let mut next_shared = shared.next();
    let mut merged_r: BTreeSet<&Pe> = BTreeSet::new();
    let mut out = Vec::new();
    let (mut li, mut ri) = (0, 0);
    while li < lhs.len() || ri < rhs.len() {
        if li < lhs.len() && ri < rhs.len() {
            let pe = &lhs[li].0;
            if *pe == rhs[ri].0 {
                merged_r.insert(pe);
                out.extend(merge_node(Some(lhs[li].1), Some(rhs[ri].1), names, false));
                li += 1;
                ri += 1;
                next_shared = shared.next();
                continue;
            }
            if observed_r.contains_key(pe) && next_shared.is_some_and(|n| n != pe) {
                // Shared with the configuration, but not the one due now.
                li += 1;
                continue;
            }
        }
        if li < lhs.len() {
            let pe = &lhs[li].0;
            if !observed_r.contains_key(pe) {
                out.extend(merge_node(Some(lhs[li].1), None, names, false));
                li += 1;
                continue;
            } else if merged_r.contains(pe) {
                li += 1;
            }
        }
        if ri < rhs.len() {
            let pe = &rhs[ri].0;
            merged_r.insert(pe);
            out.extend(merge_node(
                observed_l.get(pe).copied(),
                Some(rhs[ri].1),
                names,
                false,
            ));
            ri += 1;
            if next_shared == Some(pe) {
                next_shared = shared.next();
            }
        }
    }
    out
}

/// SMD's `RemoveItems`: drops the members of `set` (with what is under them). A map or list
/// emptied this way becomes null (dropped later, as decoding into a typed object would).
fn remove_items(value: &Value, set: &Set, names: &mut Vec<String>, root: bool) -> Value {
    match value {
        Value::Object(m) if !m.is_empty() && (root || !is_atomic_map(names)) => {
            let mut out = Map::new();
            for (key, child) in m {
                let pe = Pe::Field(key.clone());
                if set.members.contains(&pe) {
                    continue;
                }
                let kept = match set.children.get(&pe) {
                    Some(sub) if !sub.is_empty() => {
                        names.push(key.clone());
                        let kept = remove_items(child, sub, names, false);
                        names.pop();
                        kept
                    }
                    _ => child.clone(),
                };
                out.insert(key.clone(), kept);
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::Object(out)
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let Some(pes) = item_pes(items, names) else {
                return value.clone();
            };
            let mut out = Vec::new();
            for (pe, item) in pes.iter().zip(items) {
                if set.members.contains(pe) {
                    continue;
                }
                out.push(match set.children.get(pe) {
                    Some(sub) if !sub.is_empty() => remove_items(item, sub, names, false),
                    _ => item.clone(),
                });
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::Array(out)
            }
        }
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------
// Values.

fn str_at<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    path.split('/')
        .try_fold(value, |v, key| v.get(key))?
        .as_str()
}

fn without_managed_fields(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    object
}

/// Null map fields go, everywhere.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// SMD's value order: numbers (ints and floats compared as numbers), strings, bools,
/// lists, maps, null.
fn cmp_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Array(_) => 3,
            Value::Object(_) => 4,
            Value::Null => 5,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x.cmp(&y)
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x.cmp(&y)
            } else {
                let (x, y) = (
                    x.as_f64().unwrap_or_default(),
                    y.as_f64().unwrap_or_default(),
                );
                x.partial_cmp(&y).unwrap_or(Ordering::Equal)
            }
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => x
            .iter()
            .zip(y)
            .map(|(a, b)| cmp_values(a, b))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| x.len().cmp(&y.len())),
        (Value::Object(x), Value::Object(y)) => {
            let xs: Vec<(String, Value)> = x.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let ys: Vec<(String, Value)> = y.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            cmp_field_lists(&xs, &ys)
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

fn cmp_field_lists(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|((an, av), (bn, bv))| an.cmp(bn).then_with(|| cmp_values(av, bv)))
        .find(|o| o.is_ne())
        .unwrap_or_else(|| a.len().cmp(&b.len()))
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| values_equal(v, w))
        }
        _ => cmp_values(a, b) == Ordering::Equal,
    }
}

/// JSON as Go's encoder writes it (`<`, `>`, `&`, U+2028 and U+2029 escaped).
fn go_json(value: &Value) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Go's `%q`.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if c.is_control() && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// SMD's `value.ToString`, used for key values in printed paths.
fn value_to_string(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::String(s) => go_quote(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(value_to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", value_to_string(v)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T0: &str = "2024-05-01T10:00:00Z";
    const T1: &str = "2024-05-01T11:00:00Z";
    const T2: &str = "2024-05-01T12:00:00Z";

    fn deployment(replicas: i64, image: &str, args: Value) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "default", "labels": {"app": "api"}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "api"}},
                "template": {
                    "metadata": {"labels": {"app": "api"}},
                    "spec": {"containers": [{
                        "name": "api",
                        "image": image,
                        "args": args,
                        "ports": [{"containerPort": 8080}],
                    }]},
                },
            },
        })
    }

    /// What the store would add: identity and status the applier does not own.
    fn stored(mut object: Value) -> Value {
        object["metadata"]["uid"] = json!("0b0e0c5e-0000-4000-8000-000000000001");
        object["metadata"]["resourceVersion"] = json!("1");
        object["metadata"]["creationTimestamp"] = json!(T0);
        object["status"] = json!({"replicas": 1});
        object
    }

    fn entry<'a>(object: &'a Value, manager: &str) -> &'a Value {
        object["metadata"]["managedFields"]
            .as_array()
            .and_then(|entries| entries.iter().find(|e| e["manager"] == manager))
            .unwrap_or_else(|| panic!("no entry for {manager} in {object:#}"))
    }

    fn entries(object: &Value) -> Vec<(String, String, Option<String>)> {
        object["metadata"]["managedFields"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        (
                            e["manager"].as_str().unwrap().to_owned(),
                            e["operation"].as_str().unwrap().to_owned(),
                            e["subresource"].as_str().map(str::to_owned),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn owns(object: &Value, manager: &str, path: &[&str]) -> bool {
        let set = Set::from_fields_v1(&entry(object, manager)["fieldsV1"]);
        let path: Vec<Pe> = path.iter().map(|p| Pe::deserialize(p).unwrap()).collect();
        set.has(&path)
    }

    /// helm applying the usual Deployment (`api:1`, `serve`) with `replicas`.
    fn helm_apply(
        live: Option<&Value>,
        replicas: i64,
        force: bool,
        now: &str,
    ) -> Result<Value, Vec<Conflict>> {
        apply(
            live,
            &deployment(replicas, "api:1", json!(["serve"])),
            "helm",
            force,
            now,
        )
    }

    fn helm_create() -> Value {
        stored(helm_apply(None, 1, false, T0).unwrap())
    }

    fn kubectl_scale(live: &Value, replicas: i64, now: &str) -> Value {
        let mut new = live.clone();
        new["spec"]["replicas"] = json!(replicas);
        record_update(Some(live), &mut new, "kubectl", Some("scale"), now);
        new
    }

    #[test]
    fn create_by_apply_records_one_apply_entry_with_the_configs_fields() {
        let created = helm_apply(None, 1, false, T0).unwrap();
        let managed = created["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(managed.len(), 1);
        assert_eq!(
            managed[0],
            json!({
                "manager": "helm",
                "operation": "Apply",
                "apiVersion": "apps/v1",
                "time": T0,
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {
                        "f:replicas": {},
                        "f:selector": {},
                        "f:template": {
                            "f:metadata": {"f:labels": {"f:app": {}}},
                            "f:spec": {"f:containers": {"k:{\"name\":\"api\"}": {
                                ".": {},
                                "f:args": {},
                                "f:image": {},
                                "f:name": {},
                                "f:ports": {"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}": {
                                    ".": {},
                                    "f:containerPort": {},
                                }},
                            }}},
                        },
                    },
                },
            })
        );
        // The object is the configuration (no status on create).
        let mut expected = deployment(1, "api:1", json!(["serve"]));
        expected["metadata"]["managedFields"] = created["metadata"]["managedFields"].clone();
        assert_eq!(created, expected);
    }

    #[test]
    fn fields_v1_round_trips_and_prints_paths_as_the_server_does() {
        let created = helm_create();
        let fields = &entry(&created, "helm")["fieldsV1"];
        let set = Set::from_fields_v1(fields);
        assert_eq!(&set.to_fields_v1(), fields);
        let printed: Vec<String> = set.paths().iter().map(|p| path_string(p)).collect();
        assert!(printed.contains(&".spec.replicas".to_owned()));
        assert!(printed.contains(&".spec.template.spec.containers[name=\"api\"].image".to_owned()));
        assert!(printed.contains(&".spec.template.spec.containers[name=\"api\"].ports[containerPort=8080,protocol=\"TCP\"]".to_owned()));
        // Members of a level come before what is under its children.
        let replicas = printed.iter().position(|p| p == ".spec.replicas").unwrap();
        let image = printed.iter().position(|p| p.ends_with("].image")).unwrap();
        assert!(replicas < image);
    }

    #[test]
    fn reapply_without_a_field_removes_it_and_keeps_live_only_fields() {
        let live = helm_create();
        let mut config = deployment(1, "api:1", json!(["serve"]));
        config["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove("app");
        config["spec"]["template"]["spec"]["containers"][0]
            .as_object_mut()
            .unwrap()
            .remove("args");
        let applied = apply(Some(&live), &config, "helm", false, T1).unwrap();
        let container = &applied["spec"]["template"]["spec"]["containers"][0];
        assert!(container.get("args").is_none(), "{applied:#}");
        assert!(applied["metadata"].get("labels").is_none(), "{applied:#}");
        assert_eq!(container["image"], "api:1");
        // Kept from live: identity and status.
        assert_eq!(applied["metadata"]["uid"], live["metadata"]["uid"]);
        assert_eq!(applied["metadata"]["resourceVersion"], "1");
        assert_eq!(applied["status"], json!({"replicas": 1}));
        assert!(!owns(
            &applied,
            "helm",
            &[
                "f:spec",
                "f:template",
                "f:spec",
                "f:containers",
                "k:{\"name\":\"api\"}",
                "f:args"
            ]
        ));
        assert_eq!(entry(&applied, "helm")["time"], T1);
    }

    #[test]
    fn apply_changing_nothing_keeps_the_entry_time() {
        let live = helm_create();
        let again = helm_apply(Some(&live), 1, false, T1).unwrap();
        assert_eq!(entry(&again, "helm")["time"], T0);
    }

    #[test]
    fn kubectl_scale_then_apply_of_other_replicas_conflicts() {
        let live = kubectl_scale(&helm_create(), 3, T1);
        assert_eq!(
            entries(&live),
            vec![
                ("helm".into(), "Apply".into(), None),
                ("kubectl".into(), "Update".into(), Some("scale".into()))
            ]
        );
        assert_eq!(
            entry(&live, "kubectl"),
            &json!({
                "manager": "kubectl",
                "operation": "Update",
                "apiVersion": "apps/v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:replicas": {}}},
                "subresource": "scale",
            })
        );
        assert!(!owns(&live, "helm", &["f:spec", "f:replicas"]));

        let conflicts = helm_apply(Some(&live), 1, false, T2).unwrap_err();
        assert_eq!(
            conflicts,
            vec![Conflict {
                manager: "kubectl".into(),
                operation: Operation::Update,
                subresource: Some("scale".into()),
                api_version: "apps/v1".into(),
                field: ".spec.replicas".into(),
            }]
        );
        assert_eq!(
            conflict_message(&conflicts),
            "Apply failed with 1 conflict: conflict with \"kubectl\" with subresource \"scale\" using apps/v1: .spec.replicas"
        );
        assert_eq!(
            conflicts[0].cause_message(),
            "conflict with \"kubectl\" with subresource \"scale\" using apps/v1"
        );
    }

    #[test]
    fn apply_of_the_same_value_shares_the_field() {
        let live = kubectl_scale(&helm_create(), 3, T1);
        let applied = helm_apply(Some(&live), 3, false, T2).unwrap();
        assert_eq!(applied["spec"]["replicas"], 3);
        assert!(owns(&applied, "helm", &["f:spec", "f:replicas"]));
        assert!(owns(&applied, "kubectl", &["f:spec", "f:replicas"]));
    }

    #[test]
    fn dropping_a_shared_field_from_the_config_leaves_it_to_the_other_owner() {
        let live = kubectl_scale(&helm_create(), 3, T1);
        let shared = helm_apply(Some(&live), 3, false, T2).unwrap();
        let mut config = deployment(3, "api:1", json!(["serve"]));
        config["spec"].as_object_mut().unwrap().remove("replicas");
        let applied = apply(Some(&shared), &config, "helm", false, T2).unwrap();
        assert_eq!(applied["spec"]["replicas"], 3);
        assert!(!owns(&applied, "helm", &["f:spec", "f:replicas"]));
    }

    #[test]
    fn forced_apply_takes_the_field_over_and_drops_the_emptied_entry() {
        let live = kubectl_scale(&helm_create(), 3, T1);
        let applied = helm_apply(Some(&live), 1, true, T2).unwrap();
        assert_eq!(applied["spec"]["replicas"], 1);
        assert!(owns(&applied, "helm", &["f:spec", "f:replicas"]));
        assert_eq!(
            entries(&applied),
            vec![("helm".into(), "Apply".into(), None)]
        );
    }

    #[test]
    fn forced_apply_leaves_the_other_managers_other_fields() {
        let live = helm_create();
        let mut edited = live.clone();
        edited["spec"]["replicas"] = json!(4);
        edited["metadata"]["annotations"] = json!({"note": "by hand"});
        record_update(Some(&live), &mut edited, "kubectl-edit", None, T1);
        let applied = helm_apply(Some(&edited), 1, true, T2).unwrap();
        assert!(!owns(&applied, "kubectl-edit", &["f:spec", "f:replicas"]));
        assert!(owns(
            &applied,
            "kubectl-edit",
            &["f:metadata", "f:annotations", "f:note"]
        ));
        assert_eq!(applied["metadata"]["annotations"]["note"], "by hand");
    }

    #[test]
    fn set_image_then_apply_conflicts_on_the_containers_image() {
        let live = helm_create();
        let mut new = live.clone();
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("api:2");
        record_update(Some(&live), &mut new, "kubectl-set", None, T1);
        assert_eq!(
            entry(&new, "kubectl-set")["fieldsV1"],
            json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"api\"}": {"f:image": {}}}}}}})
        );
        assert_eq!(entry(&new, "kubectl-set")["time"], T1);
        assert!(!owns(
            &new,
            "helm",
            &[
                "f:spec",
                "f:template",
                "f:spec",
                "f:containers",
                "k:{\"name\":\"api\"}",
                "f:image"
            ]
        ));

        let conflicts = helm_apply(Some(&new), 1, false, T2).unwrap_err();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(
            conflicts[0].field,
            ".spec.template.spec.containers[name=\"api\"].image"
        );
        assert_eq!(
            conflict_message(&conflicts),
            "Apply failed with 1 conflict: conflict with \"kubectl-set\" using apps/v1: .spec.template.spec.containers[name=\"api\"].image"
        );
    }

    #[test]
    fn several_conflicts_are_grouped_by_sorted_manager() {
        let scaled = kubectl_scale(&helm_create(), 3, T1);
        let mut new = scaled.clone();
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("api:2");
        new["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["serve", "--debug"]);
        record_update(Some(&scaled), &mut new, "kubectl-set", None, T2);
        let conflicts = helm_apply(Some(&new), 1, false, T2).unwrap_err();
        assert_eq!(
            conflict_message(&conflicts),
            "Apply failed with 3 conflicts: conflicts with \"kubectl\" with subresource \"scale\" using apps/v1:\n\
             - .spec.replicas\n\
             conflicts with \"kubectl-set\" using apps/v1:\n\
             - .spec.template.spec.containers[name=\"api\"].args\n\
             - .spec.template.spec.containers[name=\"api\"].image"
        );
    }

    #[test]
    fn conflicts_with_an_applier_print_no_version() {
        let live = helm_create();
        let mut config = deployment(2, "api:1", json!(["serve"]));
        config["spec"]["template"]["spec"]["containers"][0]
            .as_object_mut()
            .unwrap()
            .remove("args");
        let conflicts = apply(Some(&live), &config, "argocd", false, T1).unwrap_err();
        assert_eq!(
            conflict_message(&conflicts),
            "Apply failed with 1 conflict: conflict with \"helm\": .spec.replicas"
        );
    }

    #[test]
    fn atomic_list_is_replaced_whole() {
        let live = helm_create();
        let applied = apply(
            Some(&live),
            &deployment(1, "api:1", json!(["serve", "--port=9090"])),
            "helm",
            false,
            T1,
        )
        .unwrap();
        assert_eq!(
            applied["spec"]["template"]["spec"]["containers"][0]["args"],
            json!(["serve", "--port=9090"])
        );
        let shorter = apply(
            Some(&applied),
            &deployment(1, "api:1", json!(["check"])),
            "helm",
            false,
            T1,
        )
        .unwrap();
        assert_eq!(
            shorter["spec"]["template"]["spec"]["containers"][0]["args"],
            json!(["check"])
        );
        assert!(owns(
            &shorter,
            "helm",
            &[
                "f:spec",
                "f:template",
                "f:spec",
                "f:containers",
                "k:{\"name\":\"api\"}",
                "f:args"
            ]
        ));
        // An atomic list changed by someone else conflicts as a whole.
        let mut edited = shorter.clone();
        edited["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["check", "--verbose"]);
        record_update(Some(&shorter), &mut edited, "kubectl-edit", None, T2);
        let conflicts = apply(
            Some(&edited),
            &deployment(1, "api:1", json!(["check"])),
            "helm",
            false,
            T2,
        )
        .unwrap_err();
        assert_eq!(
            conflicts[0].field,
            ".spec.template.spec.containers[name=\"api\"].args"
        );
    }

    #[test]
    fn two_appliers_of_disjoint_fields_both_keep_theirs() {
        let live = helm_create();
        let sidecar = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "default", "annotations": {"mesh/inject": "true"}},
            "spec": {"template": {"spec": {"containers": [{"name": "proxy", "image": "proxy:1"}]}}},
        });
        let both = apply(Some(&live), &sidecar, "mesh", false, T1).unwrap();
        assert_eq!(
            entries(&both),
            vec![
                ("helm".into(), "Apply".into(), None),
                ("mesh".into(), "Apply".into(), None)
            ]
        );
        let names: Vec<&str> = both["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["api", "proxy"]);
        // helm re-applies its own intent: the other applier's fields stay.
        let again = helm_apply(Some(&both), 2, false, T2).unwrap();
        assert_eq!(again["spec"]["replicas"], 2);
        assert_eq!(again["metadata"]["annotations"]["mesh/inject"], "true");
        assert_eq!(
            again["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert!(owns(
            &again,
            "mesh",
            &[
                "f:spec",
                "f:template",
                "f:spec",
                "f:containers",
                "k:{\"name\":\"proxy\"}",
                "f:image"
            ]
        ));
        // ... and when the other applier drops its container, it goes.
        let mut without = sidecar.clone();
        without["spec"] = json!({});
        let dropped = apply(Some(&again), &without, "mesh", false, T2).unwrap();
        let names: Vec<&str> = dropped["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["api"]);
    }

    #[test]
    fn keyed_list_merge_keeps_live_items_where_they_were() {
        let lhs = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "init", "image": "a"}, {"name": "api", "image": "b"}, {"name": "log", "image": "c"},
        ]}}}});
        let rhs = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "log", "image": "c2"}, {"name": "api", "image": "b2"}, {"name": "new", "image": "d"},
        ]}}}});
        let merged = merge_node(Some(&lhs), Some(&rhs), &mut Vec::new(), true).unwrap();
        let got: Vec<(&str, &str)> = merged["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["image"].as_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [("init", "a"), ("log", "c2"), ("api", "b2"), ("new", "d")]
        );
    }

    #[test]
    fn create_by_update_owns_everything_with_dots_where_the_server_puts_them() {
        let mut created = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
                "template": {
                    "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx", "resources": {}}]},
                },
            },
            "status": {},
        });
        record_update(None, &mut created, "kubectl-create", None, T0);
        assert_eq!(
            entry(&created, "kubectl-create"),
            &json!({
                "manager": "kubectl-create",
                "operation": "Update",
                "apiVersion": "apps/v1",
                "time": T0,
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {
                        "f:replicas": {},
                        "f:selector": {},
                        "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}}, "f:type": {}},
                        "f:template": {
                            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                            "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {
                                ".": {},
                                "f:image": {},
                                "f:name": {},
                                "f:resources": {},
                            }}},
                        },
                    },
                },
            })
        );
    }

    #[test]
    fn update_that_changes_nothing_leaves_managed_fields_alone() {
        let live = helm_create();
        let mut same = live.clone();
        record_update(Some(&live), &mut same, "kubectl-edit", None, T1);
        assert_eq!(same, live);
    }

    #[test]
    fn status_writes_are_tracked_apart_from_the_main_resource() {
        let live = helm_create();
        let mut new = live.clone();
        new["status"] = json!({"replicas": 1, "readyReplicas": 1});
        record_update(
            Some(&live),
            &mut new,
            "kube-controller-manager",
            Some("status"),
            T1,
        );
        assert_eq!(
            entry(&new, "kube-controller-manager")["fieldsV1"],
            json!({"f:status": {"f:readyReplicas": {}}})
        );
        assert_eq!(
            entry(&new, "kube-controller-manager")["subresource"],
            "status"
        );
        // A main-resource write does not track status.
        let mut main = new.clone();
        main["status"]["readyReplicas"] = json!(0);
        main["metadata"]["labels"]["tier"] = json!("web");
        record_update(Some(&new), &mut main, "kubectl-label", None, T2);
        assert_eq!(
            entry(&main, "kubectl-label")["fieldsV1"],
            json!({"f:metadata": {"f:labels": {"f:tier": {}}}})
        );
    }

    #[test]
    fn apply_to_an_untracked_object_keeps_existing_fields_as_before_first_apply() {
        let mut live = stored(deployment(1, "api:1", json!(["serve"])));
        live["metadata"]["annotations"] = json!({"keep": "me"});
        let applied = helm_apply(Some(&live), 1, false, T1).unwrap();
        assert_eq!(
            entries(&applied),
            vec![
                ("helm".into(), "Apply".into(), None),
                ("before-first-apply".into(), "Update".into(), None)
            ]
        );
        assert!(owns(
            &applied,
            "before-first-apply",
            &["f:metadata", "f:annotations", "f:keep"]
        ));
        assert!(owns(
            &applied,
            "before-first-apply",
            &["f:spec", "f:replicas"]
        ));
        // Taking a field from it with another value conflicts.
        let conflicts = helm_apply(Some(&live), 5, false, T1).unwrap_err();
        assert_eq!(
            conflict_message(&conflicts),
            "Apply failed with 1 conflict: conflict with \"before-first-apply\" using apps/v1: .spec.replicas"
        );
        // Writes to an untracked object stay untracked.
        let mut new = live.clone();
        new["spec"]["replicas"] = json!(2);
        record_update(Some(&live), &mut new, "kubectl-edit", None, T1);
        assert!(new["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn client_sent_managed_fields_replace_or_reset_the_live_ones() {
        let live = helm_create();
        let mut reset = live.clone();
        reset["metadata"]["managedFields"] = json!([]);
        record_update(Some(&live), &mut reset, "kubectl-edit", None, T1);
        assert!(reset["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn update_managers_past_ten_are_merged_into_ancient_changes() {
        let mut live = helm_create();
        for i in 0..11 {
            let mut new = live.clone();
            let mut annotations = live["metadata"]["annotations"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            annotations.insert(format!("a{i}"), json!("x"));
            new["metadata"]["annotations"] = Value::Object(annotations);
            record_update(
                Some(&live),
                &mut new,
                &format!("tool-{i:02}"),
                None,
                &format!("2024-05-01T10:{i:02}:00Z"),
            );
            live = new;
        }
        let managers: Vec<String> = entries(&live).into_iter().map(|(m, _, _)| m).collect();
        assert_eq!(managers.len(), 11, "{managers:?}");
        assert!(managers.contains(&"ancient-changes".to_owned()));
        assert!(
            !managers.contains(&"tool-00".to_owned()) && !managers.contains(&"tool-01".to_owned())
        );
        assert!(owns(
            &live,
            "ancient-changes",
            &["f:metadata", "f:annotations", "f:a0"]
        ));
        assert!(owns(
            &live,
            "ancient-changes",
            &["f:metadata", "f:annotations", "f:a1"]
        ));
    }

    #[test]
    fn sets_and_atomic_structs_are_encoded_as_the_server_does() {
        let config = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "api", "finalizers": ["example.com/keep"]},
            "spec": {"selector": {"app": "api"}, "ports": [{"port": 80, "targetPort": 8080}]},
        });
        let created = apply(None, &config, "helm", false, T0).unwrap();
        assert_eq!(
            entry(&created, "helm")["fieldsV1"],
            json!({
                "f:metadata": {"f:finalizers": {"v:\"example.com/keep\"": {}}},
                "f:spec": {
                    "f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:targetPort": {}}},
                    "f:selector": {},
                },
            })
        );
    }

    #[test]
    fn go_quoting_and_json_match_go() {
        assert_eq!(go_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(go_json(&json!("<&>")), "\"\\u003c\\u0026\\u003e\"");
        assert_eq!(
            identifier("kubectl", Operation::Update, "apps/v1", Some("scale")),
            "{\"manager\":\"kubectl\",\"operation\":\"Update\",\"apiVersion\":\"apps/v1\",\"subresource\":\"scale\"}"
        );
        assert_eq!(
            identifier("helm", Operation::Apply, "apps/v1", None),
            "{\"manager\":\"helm\",\"operation\":\"Apply\"}"
        );
    }
}
