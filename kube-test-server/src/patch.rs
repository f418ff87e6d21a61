//! PATCH bodies, applied to the JSON of a stored object the way the API server applies
//! them: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch
//! (a port of the apply side of `k8s.io/apimachinery/pkg/util/strategicpatch`, with
//! the list knowledge of [`crate::schema`] in place of the Go struct tags).
//!
//! These are the bodies `kubectl scale`, `set image`, `set env`, `edit`, `patch`,
//! `annotate` and `label` send, and the ones helm sends on its three-way-merge path.
//!
//! Not modelled: map fields with `patchStrategy:"replace"` (none in the kinds the
//! schema covers), the rejection of strategic merge patch for custom resources (the
//! caller's business), and the decoding into typed objects that follows a patch on the
//! real server, except that a patch putting a scalar or a list where the object has a
//! map (or a scalar or map where it has a list) is refused here, as that decoding would.

use std::collections::VecDeque;

use serde_json::{Map, Value};

use crate::schema::{is_primitive_set, patch_merge_key};

/// How a PATCH body is to be read, from its Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/json-patch+json`: a list of RFC 6902 operations.
    Json,
    /// `application/merge-patch+json`: RFC 7386.
    Merge,
    /// `application/strategic-merge-patch+json`: Kubernetes' strategic merge patch.
    Strategic,
}

impl PatchKind {
    /// The kind of patch a Content-Type names, ignoring parameters such as
    /// `;charset=utf-8`; `None` for any other media type (server-side apply's
    /// `application/apply-patch+yaml` included).
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let media_type = ct.split(';').next().unwrap_or_default().trim();
        [
            ("application/json-patch+json", Self::Json),
            ("application/merge-patch+json", Self::Merge),
            ("application/strategic-merge-patch+json", Self::Strategic),
        ]
        .into_iter()
        .find(|(name, _)| media_type.eq_ignore_ascii_case(name))
        .map(|(_, kind)| kind)
    }
}

/// Applies `patch` to `target`; the error text says what is wrong with the patch (the
/// server answers 422/400 with it).
pub fn apply_patch(kind: PatchKind, target: &Value, patch: &Value) -> Result<Value, String> {
    match kind {
        PatchKind::Json => json_patch(target, patch),
        PatchKind::Merge => {
            if !patch.is_object() {
                return Err(format!(
                    "a merge patch must be a JSON object, not {}",
                    kind_name(patch)
                ));
            }
            Ok(merge_patch(target.clone(), patch))
        }
        PatchKind::Strategic => strategic_merge_patch(&KUBERNETES, target, patch),
    }
}

// ---------------------------------------------------------------------------------
// JSON merge patch (RFC 7386)
// ---------------------------------------------------------------------------------

/// RFC 7386 `MergePatch`: objects merge recursively, `null` removes a member, anything
/// else replaces the target.
fn merge_patch(target: Value, patch: &Value) -> Value {
    let Value::Object(patch) = patch else {
        return patch.clone();
    };
    let mut target = match target {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    for (key, value) in patch {
        if value.is_null() {
            remove_key(&mut target, key);
        } else if let Some(slot) = target.get_mut(key) {
            let current = std::mem::take(slot);
            *slot = merge_patch(current, value);
        } else {
            target.insert(key.clone(), merge_patch(Value::Null, value));
        }
    }
    Value::Object(target)
}

// ---------------------------------------------------------------------------------
// JSON patch (RFC 6902)
// ---------------------------------------------------------------------------------

fn json_patch(target: &Value, patch: &Value) -> Result<Value, String> {
    let Value::Array(operations) = patch else {
        return Err(format!(
            "a JSON patch must be a list of operations, not {}",
            kind_name(patch)
        ));
    };
    let mut doc = target.clone();
    for (n, operation) in operations.iter().enumerate() {
        apply_operation(&mut doc, operation)
            .map_err(|e| format!("JSON patch operation {n}: {e}"))?;
    }
    Ok(doc)
}

fn apply_operation(doc: &mut Value, operation: &Value) -> Result<(), String> {
    let Value::Object(operation) = operation else {
        return Err(format!(
            "an operation must be an object, not {}",
            kind_name(operation)
        ));
    };
    let name = operation
        .get("op")
        .and_then(Value::as_str)
        .ok_or("the operation has no \"op\" string")?;
    let path = Pointer::field(operation, "path")?;
    let value = || {
        operation
            .get("value")
            .cloned()
            .ok_or_else(|| format!("the {name} operation has no \"value\""))
    };
    match name {
        "add" => add(doc, &path, value()?),
        "remove" => remove(doc, &path).map(drop),
        "replace" => {
            let value = value()?;
            *get_mut(doc, &path, name)? = value;
            Ok(())
        }
        "move" => {
            let from = Pointer::field(operation, "from")?;
            if from.tokens.len() < path.tokens.len() && path.tokens.starts_with(&from.tokens) {
                return Err(format!(
                    "cannot move {:?} into its own child {:?}",
                    from.raw, path.raw
                ));
            }
            let moved = remove(doc, &from)?;
            add(doc, &path, moved)
        }
        "copy" => {
            let from = Pointer::field(operation, "from")?;
            let copied = get(doc, &from, name)?.clone();
            add(doc, &path, copied)
        }
        "test" => {
            let expected = value()?;
            let actual = get(doc, &path, name)?;
            if json_eq(actual, &expected) {
                Ok(())
            } else {
                Err(format!(
                    "test failed: the value at {:?} is {actual}, not {expected}",
                    path.raw
                ))
            }
        }
        other => Err(format!("unknown operation {other:?}")),
    }
}

/// A parsed JSON pointer (RFC 6901).
struct Pointer {
    raw: String,
    tokens: Vec<String>,
}

impl Pointer {
    /// The pointer in the operation's `field` member.
    fn field(operation: &Map<String, Value>, field: &str) -> Result<Self, String> {
        let raw = operation
            .get(field)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the operation has no {field:?} string"))?;
        Self::parse(raw)
    }

    fn parse(raw: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        if !raw.is_empty() {
            let Some(rest) = raw.strip_prefix('/') else {
                return Err(format!(
                    "the JSON pointer {raw:?} does not start with \"/\""
                ));
            };
            for token in rest.split('/') {
                let mut decoded = String::with_capacity(token.len());
                let mut chars = token.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '~' => match chars.next() {
                            Some('0') => decoded.push('~'),
                            Some('1') => decoded.push('/'),
                            _ => {
                                return Err(format!(
                                    "the JSON pointer {raw:?} has a \"~\" not followed by 0 or 1"
                                ));
                            }
                        },
                        c => decoded.push(c),
                    }
                }
                tokens.push(decoded);
            }
        }
        Ok(Self {
            raw: raw.to_owned(),
            tokens,
        })
    }
}

/// The position `token` names in a list of `len` items; `-` (past the end) and `len`
/// itself only when `for_add`.
fn list_index(token: &str, len: usize, for_add: bool) -> Result<usize, String> {
    if token == "-" {
        return if for_add {
            Ok(len)
        } else {
            Err("\"-\" names no existing list item".to_owned())
        };
    }
    let well_formed = !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_digit())
        && (token == "0" || !token.starts_with('0'));
    let index = token
        .parse::<usize>()
        .ok()
        .filter(|_| well_formed)
        .ok_or_else(|| format!("{token:?} is not a list index"))?;
    let limit = if for_add { len } else { len.saturating_sub(1) };
    if index > limit || (!for_add && len == 0) {
        return Err(format!(
            "index {index} is out of bounds for a list of {len} items"
        ));
    }
    Ok(index)
}

fn get<'a>(doc: &'a Value, pointer: &Pointer, op: &str) -> Result<&'a Value, String> {
    let mut current = doc;
    for token in &pointer.tokens {
        let next = match current {
            Value::Object(map) => map.get(token),
            Value::Array(list) => list_index(token, list.len(), false)
                .ok()
                .and_then(|i| list.get(i)),
            _ => None,
        };
        current = next.ok_or_else(|| {
            format!(
                "{op} operation does not apply: {:?} does not exist",
                pointer.raw
            )
        })?;
    }
    Ok(current)
}

fn get_mut<'a>(doc: &'a mut Value, pointer: &Pointer, op: &str) -> Result<&'a mut Value, String> {
    descend(doc, &pointer.tokens).ok_or_else(|| {
        format!(
            "{op} operation does not apply: {:?} does not exist",
            pointer.raw
        )
    })
}

fn descend<'a>(doc: &'a mut Value, tokens: &[String]) -> Option<&'a mut Value> {
    let mut current = doc;
    for token in tokens {
        current = match current {
            Value::Object(map) => map.get_mut(token)?,
            Value::Array(list) => {
                let index = list_index(token, list.len(), false).ok()?;
                list.get_mut(index)?
            }
            _ => return None,
        };
    }
    Some(current)
}

fn add(doc: &mut Value, pointer: &Pointer, value: Value) -> Result<(), String> {
    let Some((last, parents)) = pointer.tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    let parent = descend(doc, parents).ok_or_else(|| {
        format!(
            "add operation does not apply: the parent of {:?} does not exist",
            pointer.raw
        )
    })?;
    match parent {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(list) => {
            let index = list_index(last, list.len(), true)
                .map_err(|e| format!("add operation on {:?}: {e}", pointer.raw))?;
            list.insert(index, value);
            Ok(())
        }
        other => Err(format!(
            "add operation does not apply: the parent of {:?} is {}",
            pointer.raw,
            kind_name(other)
        )),
    }
}

fn remove(doc: &mut Value, pointer: &Pointer) -> Result<Value, String> {
    let Some((last, parents)) = pointer.tokens.split_last() else {
        return Err("remove operation cannot remove the whole document".to_owned());
    };
    let missing = || {
        format!(
            "remove operation does not apply: {:?} does not exist",
            pointer.raw
        )
    };
    match descend(doc, parents).ok_or_else(missing)? {
        Value::Object(map) => remove_key(map, last).ok_or_else(missing),
        Value::Array(list) => {
            let index = list_index(last, list.len(), false)
                .map_err(|e| format!("remove operation on {:?}: {e}", pointer.raw))?;
            Ok(list.remove(index))
        }
        _ => Err(missing()),
    }
}

// ---------------------------------------------------------------------------------
// Strategic merge patch
// ---------------------------------------------------------------------------------

const DIRECTIVE_MARKER: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";

/// What strategic merge patch knows of the lists of an object, by path (field names
/// from the root, list positions left out).
struct Schema {
    merge_key: fn(&[&str]) -> Option<&'static str>,
    primitive_set: fn(&[&str]) -> bool,
}

const KUBERNETES: Schema = Schema {
    merge_key: patch_merge_key,
    primitive_set: is_primitive_set,
};

/// How a list field is patched.
#[derive(Clone, Copy)]
enum ListStrategy {
    /// Atomic: the patch's list replaces the live one.
    Replace,
    /// `patchStrategy:"merge"`: items merged by the key, or scalars unioned (`None`).
    Merge(Option<&'static str>),
}

/// The JSON kinds strategic merge patch tells list items apart by.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Null,
    Bool,
    Number,
    String,
    List,
    Object,
}

impl Kind {
    fn of(value: &Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Bool,
            Value::Number(_) => Self::Number,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::List,
            Value::Object(_) => Self::Object,
        }
    }
}

fn strategic_merge_patch(schema: &Schema, target: &Value, patch: &Value) -> Result<Value, String> {
    let Value::Object(patch) = patch else {
        return Err(format!(
            "a strategic merge patch must be a JSON object, not {}",
            kind_name(patch)
        ));
    };
    let Value::Object(original) = target else {
        return Err(format!(
            "the object to patch is {}, not a JSON object",
            kind_name(target)
        ));
    };
    Smp { schema }
        .merge_map(original.clone(), patch.clone(), &[])
        .map(Value::Object)
}

struct Smp<'a> {
    schema: &'a Schema,
}

impl Smp<'_> {
    fn strategy(&self, path: &[String]) -> ListStrategy {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        if let Some(key) = (self.schema.merge_key)(&path) {
            ListStrategy::Merge(Some(key))
        } else if (self.schema.primitive_set)(&path) {
            ListStrategy::Merge(None)
        } else {
            ListStrategy::Replace
        }
    }

    /// `mergeMap`: merges `patch` into `original`, the map at `path`.
    fn merge_map(
        &self,
        mut original: Map<String, Value>,
        mut patch: Map<String, Value>,
        path: &[String],
    ) -> Result<Map<String, Value>, String> {
        if let Some(directive) = patch.get(DIRECTIVE_MARKER) {
            return match directive.as_str() {
                Some("replace") => {
                    remove_key(&mut patch, DIRECTIVE_MARKER);
                    Ok(clean_map(patch))
                }
                Some("delete") => Ok(Map::new()),
                _ => Err(format!(
                    "unknown patch type: {directive} in map: {}",
                    Value::Object(patch.clone())
                )),
            };
        }
        apply_retain_keys(&mut original, &mut patch)?;
        self.apply_set_element_order(&mut original, &mut patch, path)?;
        // The Go code visits the keys in random order; deletions from primitive lists
        // go last here so that they win over additions to the same list.
        let (deletions, fields): (Vec<_>, Vec<_>) = patch
            .into_iter()
            .partition(|(key, _)| key.starts_with(DELETE_FROM_PRIMITIVE_LIST));
        for (key, patch_value) in fields {
            self.merge_field(&mut original, key, patch_value, false, path)?;
        }
        for (key, patch_value) in deletions {
            let key = extract_key(&key, DELETE_FROM_PRIMITIVE_LIST)?;
            self.merge_field(&mut original, key, patch_value, true, path)?;
        }
        Ok(original)
    }

    /// One field of `mergeMap`'s loop. `is_delete_list`: `patch_value` is the
    /// `$deleteFromPrimitiveList/<key>` list.
    fn merge_field(
        &self,
        original: &mut Map<String, Value>,
        key: String,
        patch_value: Value,
        is_delete_list: bool,
        path: &[String],
    ) -> Result<(), String> {
        if patch_value.is_null() {
            remove_key(original, &key);
            return Ok(());
        }
        let Some(slot) = original.get_mut(&key) else {
            if !is_delete_list && let Some(value) = clean(patch_value) {
                original.insert(key, value);
            }
            return Ok(());
        };
        let child = child_path(path, &key);
        let (live_kind, patch_kind) = (Kind::of(slot), Kind::of(&patch_value));
        if live_kind != patch_kind
            && !is_delete_list
            && matches!(live_kind, Kind::Object | Kind::List)
        {
            // The real server would fail to decode the result into the typed object.
            return Err(format!(
                "cannot patch {}: the object has {} there, the patch {}",
                child.join("."),
                kind_name(slot),
                kind_name(&patch_value)
            ));
        }
        let current = std::mem::take(slot);
        let merged = match (current, patch_value) {
            (Value::Object(current), Value::Object(patch)) => {
                Some(Value::Object(self.merge_map(current, patch, &child)?))
            }
            (Value::Array(current), Value::Array(patch)) => Some(Value::Array(
                self.merge_list_field(current, patch, &child, is_delete_list)?,
            )),
            (current, _) if is_delete_list && live_kind != patch_kind => Some(current),
            (_, patch) => clean(patch),
        };
        match merged {
            Some(value) => *slot = value,
            None => {
                remove_key(original, &key);
            }
        }
        Ok(())
    }

    /// `mergeSliceHandler`: merges the list at `path` when its strategy says so (or
    /// when `patch` is a deletion list), else takes the patch's list.
    fn merge_list_field(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        path: &[String],
        is_delete_list: bool,
    ) -> Result<Vec<Value>, String> {
        match self.strategy(path) {
            ListStrategy::Merge(key) => {
                self.merge_slice(original, patch, key, path, is_delete_list)
            }
            ListStrategy::Replace if is_delete_list => {
                self.merge_slice(original, patch, None, path, true)
            }
            ListStrategy::Replace => Ok(clean_list(patch)),
        }
    }

    /// `mergeSlice`.
    fn merge_slice(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        merge_key: Option<&str>,
        path: &[String],
        is_delete_list: bool,
    ) -> Result<Vec<Value>, String> {
        let Some(kind) = element_kind(&[&original, &patch], path)? else {
            return Ok(original);
        };
        if kind != Kind::Object {
            if is_delete_list {
                return Ok(original
                    .into_iter()
                    .filter(|v| !patch.iter().any(|d| json_eq(v, d)))
                    .collect());
            }
            let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
            for value in original.iter().chain(&patch) {
                if !merged.iter().any(|m| json_eq(m, value)) {
                    merged.push(value.clone());
                }
            }
            let (patch_items, server_only) = partition_values(merged, &patch);
            return normalize_element_order(
                patch_items,
                server_only,
                &patch,
                &original,
                None,
                kind,
            );
        }
        let key = merge_key.ok_or_else(|| {
            format!(
                "cannot merge lists without merge key for {}",
                path.join(".")
            )
        })?;
        let (original, patch) = merge_special_elements(original, patch, key)?;
        let merged = self.merge_items(original.clone(), &patch, key, path)?;
        let (patch_items, server_only) = partition_by_key(merged, &patch, key)?;
        normalize_element_order(patch_items, server_only, &patch, &original, Some(key), kind)
    }

    /// `mergeSliceWithoutSpecialElements`: each patch item merges into the live item with
    /// the same key, or is appended.
    fn merge_items(
        &self,
        mut original: Vec<Value>,
        patch: &[Value],
        key: &str,
        path: &[String],
    ) -> Result<Vec<Value>, String> {
        for item in patch {
            let Value::Object(item) = item else {
                return Err(format!("expected a map in the list, but received {item}"));
            };
            let value = item.get(key).ok_or_else(|| no_merge_key(item, key))?;
            match find_by_key(&original, key, value)? {
                Some(index) => {
                    let Value::Object(current) = std::mem::take(&mut original[index]) else {
                        return Err(format!("value for key {index} is not a map"));
                    };
                    original[index] = Value::Object(self.merge_map(current, item.clone(), path)?);
                }
                None => original.push(Value::Object(clean_map(item.clone()))),
            }
        }
        Ok(original)
    }

    /// `mergePatchIntoOriginal`: merges each list that has a `$setElementOrder/<field>`
    /// and puts it in that order; removes both from `patch`.
    fn apply_set_element_order(
        &self,
        original: &mut Map<String, Value>,
        patch: &mut Map<String, Value>,
        path: &[String],
    ) -> Result<(), String> {
        let directives: Vec<String> = patch
            .keys()
            .filter(|key| key.starts_with(SET_ELEMENT_ORDER))
            .cloned()
            .collect();
        for directive in directives {
            let Some(order) = remove_key(patch, &directive) else {
                continue;
            };
            let Value::Array(order) = order else {
                return Err(format!(
                    "invalid patch format of setElementOrder list: {directive} is {}, not a list",
                    kind_name(&order)
                ));
            };
            let field = extract_key(&directive, SET_ELEMENT_ORDER)?;
            let child = child_path(path, &field);
            let list_at = |map: &Map<String, Value>, whose: &str| match map.get(&field) {
                None => Ok(None),
                Some(Value::Array(list)) => Ok(Some(list.clone())),
                Some(Value::Null) if whose == "object" => Ok(None),
                Some(other) => Err(format!(
                    "expected a list at {} in the {whose}, but received {}",
                    child.join("."),
                    kind_name(other)
                )),
            };
            let original_list = list_at(original, "object")?;
            let patch_list = list_at(patch, "patch")?;
            let merge_key = match self.strategy(&child) {
                ListStrategy::Merge(key) => key,
                ListStrategy::Replace => None,
            };
            validate_set_element_order(
                patch_list.as_deref().unwrap_or_default(),
                &order,
                merge_key,
            )?;
            let server_order = match (&original_list, &patch_list, merge_key) {
                (Some(original_list), Some(patch_list), Some(key)) => {
                    go_live_order(original_list, patch_list, key)
                }
                _ => original_list.clone().unwrap_or_default(),
            };
            let kind = element_kind(
                &[
                    original_list.as_deref().unwrap_or_default(),
                    patch_list.as_deref().unwrap_or_default(),
                ],
                &child,
            )?;
            let merged = match (original_list, patch_list) {
                (Some(original_list), None) => original_list,
                (None, Some(patch_list)) => clean_list(patch_list),
                (Some(original_list), Some(patch_list)) => {
                    self.merge_list_field(original_list, patch_list, &child, false)?
                }
                (None, None) => continue,
            };
            remove_key(patch, &field);
            let ordered = match kind {
                // Nothing to order (the Go code errors out on an empty list here).
                None => merged,
                Some(kind) => {
                    let (patch_items, server_only) = match merge_key {
                        None => partition_values(merged, &order),
                        Some(key) => partition_by_key(merged, &order, key)?,
                    };
                    normalize_element_order(
                        patch_items,
                        server_only,
                        &order,
                        &server_order,
                        merge_key,
                        kind,
                    )?
                }
            };
            original.insert(field, Value::Array(ordered));
        }
        Ok(())
    }
}

/// `applyRetainKeysDirective`: drops the fields of `original` that `$retainKeys` does
/// not list, after checking that the patch sets none but those.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), String> {
    let Some(retain) = remove_key(patch, RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(format!(
            "invalid patch format of retainKeys: $retainKeys is {}, not a list",
            kind_name(&retain)
        ));
    };
    let retained = |key: &str| retain.iter().any(|k| k.as_str() == Some(key));
    for (key, value) in patch.iter() {
        if value.is_null()
            || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || key.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !retained(key) {
            return Err(format!(
                "invalid patch format of retainKeys: the patch sets {key:?}, which $retainKeys does not list"
            ));
        }
    }
    original.retain(|key, _| retained(key));
    Ok(())
}

/// The live list as the Go code sees it when it orders a merged list by
/// `$setElementOrder`. Its deletions and appends work in place on the live slice, so
/// that list is the live items left after the `$patch: delete` items, then the new
/// items, cut to the live length. (An upstream test, "add map and delete map from
/// merging list", depends on it: a new item lands after the live items left.)
fn go_live_order(original: &[Value], patch: &[Value], key: &str) -> Vec<Value> {
    fn directive(item: &Value) -> Option<&str> {
        item.get(DIRECTIVE_MARKER).and_then(Value::as_str)
    }
    if patch.iter().any(|item| directive(item) == Some("replace")) {
        return original.to_vec();
    }
    let deleted: Vec<&Value> = patch
        .iter()
        .filter(|item| directive(item) == Some("delete"))
        .filter_map(|item| item.get(key))
        .collect();
    let mut live: Vec<Value> = original
        .iter()
        .filter(|item| {
            !item
                .get(key)
                .is_some_and(|v| deleted.iter().any(|d| json_eq(v, d)))
        })
        .cloned()
        .collect();
    for item in patch.iter().filter(|item| directive(item).is_none()) {
        if let Some(value) = item.get(key)
            && !live
                .iter()
                .any(|l| l.get(key).is_some_and(|v| json_eq(v, value)))
        {
            live.push(item.clone());
        }
    }
    live.truncate(original.len());
    live
}

/// `validatePatchWithSetOrderList`: the patch's items (deletions aside) must appear in
/// the `$setElementOrder` list, in the same relative order.
fn validate_set_element_order(
    patch: &[Value],
    order: &[Value],
    merge_key: Option<&str>,
) -> Result<(), String> {
    if order.is_empty() || patch.is_empty() {
        return Ok(());
    }
    let mut items = Vec::with_capacity(patch.len());
    for item in patch {
        if merge_key.is_some() {
            let Value::Object(map) = item else {
                return Err(format!("expected a map in the list, but received {item}"));
            };
            if map.get(DIRECTIVE_MARKER).and_then(Value::as_str) == Some("delete") {
                continue;
            }
        }
        items.push(item);
    }
    let (mut patch_index, mut order_index) = (0, 0);
    while patch_index < items.len() && order_index < order.len() {
        let item = items[patch_index];
        if item
            .as_object()
            .is_some_and(|m| m.contains_key(DIRECTIVE_MARKER))
        {
            patch_index += 1;
            continue;
        }
        if merge_key_equal(item, &order[order_index], merge_key)? {
            patch_index += 1;
        }
        order_index += 1;
    }
    if patch_index < items.len() {
        return Err(format!(
            "the order in the patch list {} doesn't match the $setElementOrder list {}",
            Value::Array(patch.to_vec()),
            Value::Array(order.to_vec())
        ));
    }
    Ok(())
}

fn merge_key_equal(left: &Value, right: &Value, merge_key: Option<&str>) -> Result<bool, String> {
    let Some(key) = merge_key else {
        return Ok(json_eq(left, right));
    };
    let value = |item: &Value| -> Result<Value, String> {
        let Value::Object(map) = item else {
            return Err(format!("expected a map, but received {item}"));
        };
        map.get(key).cloned().ok_or_else(|| no_merge_key(map, key))
    };
    Ok(json_eq(&value(left)?, &value(right)?))
}

/// `mergeSliceWithSpecialElements`: applies the `$patch` items of a merging list of
/// maps; returns the live list left and the patch items without directives.
fn merge_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>), String> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Value::Object(map) = &item else {
            return Err(format!("expected a map in the list, but received {item}"));
        };
        let Some(directive) = map.get(DIRECTIVE_MARKER) else {
            plain.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let value = map.get(key).ok_or_else(|| no_merge_key(map, key))?;
                let mut kept = Vec::with_capacity(original.len());
                for (index, live) in original.into_iter().enumerate() {
                    let Value::Object(live_map) = &live else {
                        return Err(format!("value for key {index} is not a map"));
                    };
                    if !live_map.get(key).is_some_and(|v| json_eq(v, value)) {
                        kept.push(live);
                    }
                }
                original = kept;
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err("merging lists cannot yet be specified in the patch".to_owned());
            }
            _ => return Err(format!("unknown patch type: {directive} in map: {item}")),
        }
    }
    if replace {
        Ok((clean_list(plain), Vec::new()))
    } else {
        Ok((original, plain))
    }
}

/// The position of the item whose `key` equals `value` (`findMapInSliceBasedOnKeyValue`).
fn find_by_key(list: &[Value], key: &str, value: &Value) -> Result<Option<usize>, String> {
    for (index, item) in list.iter().enumerate() {
        let Value::Object(map) = item else {
            return Err(format!("value for key {index} is not a map"));
        };
        if map.get(key).is_some_and(|v| json_eq(v, value)) {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// Splits `merged` into the items `by` names (by value) and the others.
fn partition_values(merged: Vec<Value>, by: &[Value]) -> (Vec<Value>, Vec<Value>) {
    merged
        .into_iter()
        .partition(|item| by.iter().any(|b| json_eq(item, b)))
}

/// Splits `merged` into the items `by` names (by merge key) and the others.
fn partition_by_key(
    merged: Vec<Value>,
    by: &[Value],
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>), String> {
    let (mut named, mut others) = (Vec::new(), Vec::new());
    for item in merged {
        let Value::Object(map) = &item else {
            return Err(format!("expected a map in the list, but received {item}"));
        };
        let value = map.get(key).ok_or_else(|| no_merge_key(map, key))?;
        if find_by_key(by, key, value)?.is_some() {
            named.push(item);
        } else {
            others.push(item);
        }
    }
    Ok((named, others))
}

/// `normalizeElementOrder`: sorts `patch_items` by `patch_order` and `server_only` by
/// `server_order`, then interleaves them: a server-only item goes before a patch item
/// only when both are in the live list and it came first there, so new items (and the
/// order the patch asks for) win over the live order.
fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: Option<&str>,
    kind: Kind,
) -> Result<Vec<Value>, String> {
    let patch_items = normalize_slice_order(patch_items, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;
    let (mut left, mut right) = (VecDeque::from(server_only), VecDeque::from(patch_items));
    let mut merged = Vec::with_capacity(left.len() + right.len());
    while let (Some(l), Some(r)) = (left.front(), right.front()) {
        let l_index = index_of(server_order, l, merge_key, kind);
        let r_index = index_of(server_order, r, merge_key, kind);
        let take_left = matches!((l_index, r_index), (Some(li), Some(ri)) if li < ri);
        let next = if take_left {
            left.pop_front()
        } else {
            right.pop_front()
        };
        merged.extend(next);
    }
    merged.extend(left);
    merged.extend(right);
    Ok(merged)
}

/// `normalizeSliceOrder`: a stable sort of `items` by their position in `order`
/// (items `order` does not name go last, deletion items after them).
fn normalize_slice_order(
    items: Vec<Value>,
    order: &[Value],
    merge_key: Option<&str>,
    kind: Kind,
) -> Result<Vec<Value>, String> {
    let mut to_delete = Vec::new();
    let items = if kind == Kind::Object {
        let Some(key) = merge_key else {
            return Err("cannot order a list of maps that has no merge key".to_owned());
        };
        for item in items.iter().chain(order) {
            let Value::Object(map) = item else {
                return Err(format!("expected a map in the list, but received {item}"));
            };
            if !map.contains_key(key) {
                return Err(no_merge_key(map, key));
            }
        }
        let (deletions, kept): (Vec<_>, Vec<_>) = items
            .into_iter()
            .partition(|item| item.get(DIRECTIVE_MARKER).and_then(Value::as_str) == Some("delete"));
        to_delete = deletions;
        kept
    } else {
        items
    };
    let mut keyed: Vec<(usize, Value)> = items
        .into_iter()
        .map(|item| {
            let position = index_of(order, &item, merge_key, kind).unwrap_or(usize::MAX);
            (position, item)
        })
        .collect();
    keyed.sort_by_key(|(position, _)| *position);
    let mut sorted: Vec<Value> = keyed.into_iter().map(|(_, item)| item).collect();
    sorted.extend(to_delete);
    Ok(sorted)
}

/// The position in `list` of `item` (by merge key for maps, by value otherwise).
fn index_of(list: &[Value], item: &Value, merge_key: Option<&str>, kind: Kind) -> Option<usize> {
    match (kind, merge_key) {
        (Kind::Object, Some(key)) => {
            let wanted = item.get(key);
            list.iter().position(|v| match (v.get(key), wanted) {
                (Some(a), Some(b)) => json_eq(a, b),
                (None, None) => true,
                _ => false,
            })
        }
        _ => list.iter().position(|v| json_eq(v, item)),
    }
}

/// `sliceElementType`: the one kind of all the items of `lists`, `None` when they are
/// empty.
fn element_kind(lists: &[&[Value]], path: &[String]) -> Result<Option<Kind>, String> {
    let mut found = None;
    for item in lists.iter().flat_map(|list| list.iter()) {
        let kind = Kind::of(item);
        if kind == Kind::List {
            return Err(format!(
                "lists of lists are not supported (at {})",
                path.join(".")
            ));
        }
        match found {
            None => found = Some(kind),
            Some(previous) if previous != kind => {
                return Err(format!(
                    "list element types are not identical at {}: {:?} and {:?}",
                    path.join("."),
                    previous,
                    kind
                ));
            }
            Some(_) => {}
        }
    }
    Ok(found)
}

/// `extractKey`: the field name after `prefix/`.
fn extract_key(directive: &str, prefix: &str) -> Result<String, String> {
    match directive.split_once('/') {
        Some((head, field)) if head == prefix => Ok(field.to_owned()),
        _ => Err(match prefix {
            DELETE_FROM_PRIMITIVE_LIST => {
                format!("invalid patch format of primitive list: {directive}")
            }
            _ => format!("invalid patch format of setElementOrder list: {directive}"),
        }),
    }
}

/// Whether `key` is one of strategic merge patch's directive keys.
fn is_directive_key(key: &str) -> bool {
    key == DIRECTIVE_MARKER
        || key == RETAIN_KEYS
        || key.starts_with(SET_ELEMENT_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

/// A patch value taken as it is (nothing live to merge it with): nulls in maps
/// dropped, maps with a `$patch` directive dropped (`None` for the value itself), and
/// every other directive key removed (`discardNullValuesFromPatch` and
/// `removeDirectives`; the Go code leaves the other directive keys to the decoding
/// into the typed object, which drops them).
fn clean(value: Value) -> Option<Value> {
    match value {
        Value::Object(map) if map.contains_key(DIRECTIVE_MARKER) => None,
        Value::Object(map) => Some(Value::Object(clean_map(map))),
        Value::Array(list) => Some(Value::Array(clean_list(list))),
        scalar => Some(scalar),
    }
}

fn clean_map(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter()
        .filter(|(key, value)| !value.is_null() && !is_directive_key(key))
        .filter_map(|(key, value)| clean(value).map(|value| (key, value)))
        .collect()
}

fn clean_list(list: Vec<Value>) -> Vec<Value> {
    list.into_iter().filter_map(clean).collect()
}

fn child_path(path: &[String], field: &str) -> Vec<String> {
    let mut child = path.to_vec();
    child.push(field.to_owned());
    child
}

fn no_merge_key(map: &Map<String, Value>, key: &str) -> String {
    format!(
        "map: {} does not contain declared merge key: {key}",
        Value::Object(map.clone())
    )
}

// ---------------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------------

/// JSON equality with numbers compared by value (`1` equals `1.0`), as the Go code
/// sees them once decoded.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(x), Some(y)) if x == y)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Removes `key` from `map`, keeping the order of the other keys (whether or not
/// serde_json's `preserve_order` is on).
fn remove_key(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let value = map.get_mut(key).map(std::mem::take)?;
    map.retain(|k, _| k != key);
    Some(value)
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strategic(target: &Value, patch: Value) -> Value {
        apply_patch(PatchKind::Strategic, target, &patch).expect("strategic merge patch applies")
    }

    fn strategic_err(target: &Value, patch: Value) -> String {
        apply_patch(PatchKind::Strategic, target, &patch).expect_err("strategic merge patch fails")
    }

    fn merge(target: &Value, patch: Value) -> Value {
        apply_patch(PatchKind::Merge, target, &patch).expect("merge patch applies")
    }

    fn json_patch_ok(target: &Value, patch: Value) -> Value {
        apply_patch(PatchKind::Json, target, &patch).expect("JSON patch applies")
    }

    fn json_patch_err(target: &Value, patch: Value) -> String {
        apply_patch(PatchKind::Json, target, &patch).expect_err("JSON patch fails")
    }

    fn names(list: &Value) -> Vec<&str> {
        list.as_array()
            .expect("a list")
            .iter()
            .map(|item| item["name"].as_str().expect("a name"))
            .collect()
    }

    fn assert_no_directives(value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    assert!(!key.starts_with('$'), "directive {key} left in the output");
                    assert_no_directives(value);
                }
            }
            Value::Array(list) => list.iter().for_each(assert_no_directives),
            _ => {}
        }
    }

    /// A Deployment with an init container and two containers, as the server stores it.
    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "api",
                "namespace": "default",
                "labels": {"app": "api", "tier": "backend"},
                "finalizers": ["example.com/a", "example.com/b", "example.com/c"]
            },
            "spec": {
                "replicas": 1,
                "selector": {
                    "matchLabels": {"app": "api"},
                    "matchExpressions": [{"key": "tier", "operator": "Exists"}]
                },
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}
                },
                "template": {
                    "metadata": {"labels": {"app": "api"}},
                    "spec": {
                        "initContainers": [
                            {"name": "migrate", "image": "img:1", "args": ["migrate"]}
                        ],
                        "containers": [
                            {
                                "name": "api",
                                "image": "img:1",
                                "args": ["--port", "8080", "--verbose"],
                                "env": [
                                    {"name": "A", "value": "1"},
                                    {"name": "FOO", "value": "old"},
                                    {"name": "B", "value": "2"}
                                ],
                                "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                                "resources": {"limits": {"memory": "256Mi"}}
                            },
                            {"name": "sidecar", "image": "proxy:1"}
                        ],
                        "securityContext": {"runAsNonRoot": true},
                        "volumes": [{"name": "data", "emptyDir": {}}]
                    }
                }
            }
        })
    }

    fn pod_spec(object: &Value) -> &Value {
        &object["spec"]["template"]["spec"]
    }

    // --- Content types ---------------------------------------------------------------

    #[test]
    fn content_types_name_the_kind_and_ignore_parameters() {
        assert_eq!(
            PatchKind::from_content_type("application/json-patch+json"),
            Some(PatchKind::Json)
        );
        assert_eq!(
            PatchKind::from_content_type("application/merge-patch+json; charset=utf-8"),
            Some(PatchKind::Merge)
        );
        assert_eq!(
            PatchKind::from_content_type("Application/Strategic-Merge-Patch+JSON;charset=UTF-8"),
            Some(PatchKind::Strategic)
        );
        assert_eq!(
            PatchKind::from_content_type("application/apply-patch+yaml"),
            None
        );
        assert_eq!(PatchKind::from_content_type("application/json"), None);
        assert_eq!(PatchKind::from_content_type(""), None);
    }

    // --- Merge patch -----------------------------------------------------------------

    #[test]
    fn merge_patch_scales_the_scale_subresource() {
        let scale = json!({
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {"name": "api", "namespace": "default", "resourceVersion": "7"},
            "spec": {"replicas": 1},
            "status": {"replicas": 1, "selector": "app=api"}
        });
        let mut expected = scale.clone();
        expected["spec"]["replicas"] = json!(3);
        assert_eq!(merge(&scale, json!({"spec": {"replicas": 3}})), expected);
    }

    #[test]
    fn merge_patch_annotates_labels_and_deletes_with_null() {
        let object = deployment();
        // kubectl annotate deployment/api note=hi
        let annotated = merge(
            &object,
            json!({"metadata": {"annotations": {"note": "hi"}}}),
        );
        assert_eq!(annotated["metadata"]["annotations"], json!({"note": "hi"}));
        assert_eq!(annotated["spec"], object["spec"]);
        // kubectl annotate deployment/api note-
        let removed = merge(
            &annotated,
            json!({"metadata": {"annotations": {"note": null}}}),
        );
        assert_eq!(removed["metadata"]["annotations"], json!({}));
        // kubectl label deployment/api tier- env=prod
        let labelled = merge(
            &object,
            json!({"metadata": {"labels": {"tier": null, "env": "prod"}}}),
        );
        assert_eq!(
            labelled["metadata"]["labels"],
            json!({"app": "api", "env": "prod"})
        );
    }

    #[test]
    fn merge_patch_follows_the_rfc_7386_examples() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (target, patch, expected) in cases {
            assert_eq!(
                merge(&target, patch.clone()),
                expected,
                "{target} + {patch}"
            );
        }
    }

    #[test]
    fn merge_patch_must_be_an_object() {
        for patch in [json!("spec"), json!([]), json!(null), json!(3)] {
            let err = apply_patch(PatchKind::Merge, &deployment(), &patch)
                .expect_err("a non-object merge patch fails");
            assert!(err.contains("must be a JSON object"), "{err}");
        }
    }

    // --- JSON patch ------------------------------------------------------------------

    #[test]
    fn json_patch_applies_every_operation_in_order() {
        let object =
            json!({"spec": {"replicas": 1, "ports": [80, 443]}, "metadata": {"name": "a"}});
        let patched = json_patch_ok(
            &object,
            json!([
                {"op": "test", "path": "/spec/replicas", "value": 1},
                {"op": "replace", "path": "/spec/replicas", "value": 5},
                {"op": "add", "path": "/spec/ports/1", "value": 8080},
                {"op": "add", "path": "/spec/ports/-", "value": 9090},
                {"op": "remove", "path": "/spec/ports/0"},
                {"op": "copy", "from": "/metadata/name", "path": "/metadata/generateName"},
                {"op": "move", "from": "/metadata/name", "path": "/spec/name"},
                {"op": "add", "path": "/metadata/labels", "value": {"app": "a"}}
            ]),
        );
        assert_eq!(
            patched,
            json!({
                "spec": {"replicas": 5, "ports": [8080, 443, 9090], "name": "a"},
                "metadata": {"generateName": "a", "labels": {"app": "a"}}
            })
        );
    }

    #[test]
    fn json_patch_unescapes_pointer_tokens() {
        let object =
            json!({"metadata": {"annotations": {"example.com/team": "a", "x~y": "b", "~1": "c"}}});
        let patched = json_patch_ok(
            &object,
            json!([
                {"op": "replace", "path": "/metadata/annotations/example.com~1team", "value": "z"},
                {"op": "remove", "path": "/metadata/annotations/x~0y"},
                {"op": "test", "path": "/metadata/annotations/~01", "value": "c"},
                {"op": "add", "path": "/metadata/annotations/a~1b~0c", "value": "new"}
            ]),
        );
        assert_eq!(
            patched["metadata"]["annotations"],
            json!({"example.com/team": "z", "~1": "c", "a/b~c": "new"})
        );
    }

    #[test]
    fn json_patch_failing_test_is_an_error() {
        let object = json!({"spec": {"replicas": 2, "paused": false}});
        let err = json_patch_err(
            &object,
            json!([
                {"op": "replace", "path": "/spec/replicas", "value": 9},
                {"op": "test", "path": "/spec/paused", "value": true}
            ]),
        );
        assert!(err.contains("test failed"), "{err}");
        assert!(err.contains("/spec/paused"), "{err}");
        // Numbers compare by value.
        json_patch_ok(
            &object,
            json!([{"op": "test", "path": "/spec/replicas", "value": 2.0}]),
        );
        // A missing path fails the test too.
        json_patch_err(
            &object,
            json!([{"op": "test", "path": "/spec/nope", "value": null}]),
        );
    }

    #[test]
    fn json_patch_whole_document_and_list_bounds() {
        let object = json!({"items": [1, 2]});
        assert_eq!(
            json_patch_ok(
                &object,
                json!([{"op": "replace", "path": "", "value": {"x": 1}}])
            ),
            json!({"x": 1})
        );
        assert_eq!(
            json_patch_ok(
                &object,
                json!([{"op": "add", "path": "/items/2", "value": 3}])
            ),
            json!({"items": [1, 2, 3]})
        );
        for path in ["/items/3", "/items/01", "/items/-1", "/items/x"] {
            json_patch_err(&object, json!([{"op": "add", "path": path, "value": 3}]));
        }
        for path in ["/items/2", "/items/-"] {
            json_patch_err(&object, json!([{"op": "remove", "path": path}]));
        }
    }

    #[test]
    fn json_patch_rejects_bad_operations() {
        let object = json!({"a": {"b": 1}, "list": []});
        let cases = [
            (
                json!({"op": "add", "path": "/a", "value": 1}),
                "list of operations",
            ),
            (json!([{"path": "/a"}]), "\"op\""),
            (
                json!([{"op": "frobnicate", "path": "/a"}]),
                "unknown operation",
            ),
            (json!([{"op": "add", "path": "/a/c"}]), "\"value\""),
            (
                json!([{"op": "add", "path": "a", "value": 1}]),
                "does not start with",
            ),
            (
                json!([{"op": "add", "path": "/a~2", "value": 1}]),
                "not followed by 0 or 1",
            ),
            (
                json!([{"op": "add", "path": "/x/y", "value": 1}]),
                "does not exist",
            ),
            (
                json!([{"op": "add", "path": "/a/b/c", "value": 1}]),
                "is a number",
            ),
            (json!([{"op": "remove", "path": "/a/c"}]), "does not exist"),
            (json!([{"op": "remove", "path": ""}]), "whole document"),
            (
                json!([{"op": "replace", "path": "/a/c", "value": 1}]),
                "does not exist",
            ),
            (
                json!([{"op": "move", "from": "/a", "path": "/a/b"}]),
                "own child",
            ),
            (
                json!([{"op": "copy", "from": "/nope", "path": "/b"}]),
                "does not exist",
            ),
            (
                json!([{"op": "remove", "path": "/list/0"}]),
                "out of bounds",
            ),
            (json!(["add"]), "must be an object"),
        ];
        for (patch, expected) in cases {
            let err = json_patch_err(&object, patch.clone());
            assert!(err.contains(expected), "{patch}: {err}");
        }
    }

    // --- Strategic merge patch: what kubectl sends -----------------------------------

    #[test]
    fn set_image_changes_only_the_named_container() {
        let object = deployment();
        // kubectl set image deployment/api api=img:2
        let patched = strategic(
            &object,
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "api"}],
                "containers": [{"image": "img:2", "name": "api"}]
            }}}}),
        );
        let mut expected = object.clone();
        expected["spec"]["template"]["spec"]["containers"][0]["image"] = json!("img:2");
        assert_eq!(patched, expected);
        assert_eq!(names(&pod_spec(&patched)["containers"]), ["api", "sidecar"]);
        assert_eq!(pod_spec(&patched)["initContainers"][0]["image"], "img:1");

        // The same with both containers named in $setElementOrder, and for the second one.
        let patched = strategic(
            &object,
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "api"}, {"name": "sidecar"}],
                "containers": [{"image": "proxy:2", "name": "sidecar"}]
            }}}}),
        );
        let mut expected = object.clone();
        expected["spec"]["template"]["spec"]["containers"][1]["image"] = json!("proxy:2");
        assert_eq!(patched, expected);

        // An init container, by name, leaving the containers alone.
        let patched = strategic(
            &object,
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/initContainers": [{"name": "migrate"}],
                "initContainers": [{"image": "img:2", "name": "migrate"}]
            }}}}),
        );
        assert_eq!(pod_spec(&patched)["initContainers"][0]["image"], "img:2");
        assert_eq!(
            pod_spec(&patched)["containers"],
            pod_spec(&object)["containers"]
        );
    }

    #[test]
    fn set_image_keeps_the_live_order_when_the_named_container_is_not_first() {
        let mut object = deployment();
        object["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .expect("containers")
            .reverse();
        let patched = strategic(
            &object,
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "api"}],
                "containers": [{"image": "img:2", "name": "api"}]
            }}}}),
        );
        assert_eq!(names(&pod_spec(&patched)["containers"]), ["sidecar", "api"]);
        assert_eq!(pod_spec(&patched)["containers"][1]["image"], "img:2");
    }

    #[test]
    fn set_env_adds_and_updates_items() {
        let object = deployment();
        // kubectl set env deployment/api NEW=x
        let patched = strategic(
            &object,
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "api"}, {"name": "sidecar"}],
                "containers": [{
                    "$setElementOrder/env": [{"name": "A"}, {"name": "FOO"}, {"name": "B"}, {"name": "NEW"}],
                    "env": [{"name": "NEW", "value": "x"}],
                    "name": "api"
                }]
            }}}}),
        );
        let api = &pod_spec(&patched)["containers"][0];
        assert_eq!(names(&api["env"]), ["A", "FOO", "B", "NEW"]);
        assert_eq!(api["env"][3], json!({"name": "NEW", "value": "x"}));
        assert_eq!(api["image"], "img:1");
        assert_eq!(
            pod_spec(&patched)["containers"][1],
            pod_spec(&object)["containers"][1]
        );

        // kubectl set env deployment/api FOO=bar
        let patched = strategic(
            &object,
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "api"}, {"name": "sidecar"}],
                "containers": [{
                    "$setElementOrder/env": [{"name": "A"}, {"name": "FOO"}, {"name": "B"}],
                    "env": [{"name": "FOO", "value": "bar"}],
                    "name": "api"
                }]
            }}}}),
        );
        assert_eq!(
            pod_spec(&patched)["containers"][0]["env"],
            json!([
                {"name": "A", "value": "1"},
                {"name": "FOO", "value": "bar"},
                {"name": "B", "value": "2"}
            ])
        );
        assert_no_directives(&patched);
    }

    #[test]
    fn env_item_is_deleted_with_patch_delete() {
        // kubectl set env deployment/api FOO-
        let patched = strategic(
            &deployment(),
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "api"}, {"name": "sidecar"}],
                "containers": [{
                    "$setElementOrder/env": [{"name": "A"}, {"name": "B"}],
                    "env": [{"$patch": "delete", "name": "FOO"}],
                    "name": "api"
                }]
            }}}}),
        );
        assert_eq!(
            pod_spec(&patched)["containers"][0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
        );
        // Deleting an item that is not there changes nothing.
        let unchanged = strategic(
            &deployment(),
            json!({"spec": {"template": {"spec": {"containers": [{
                "env": [{"$patch": "delete", "name": "NOPE"}],
                "name": "api"
            }]}}}}),
        );
        assert_eq!(unchanged, deployment());
    }

    #[test]
    fn new_items_go_after_the_live_items_left_when_a_patch_also_deletes() {
        // apimachinery's "add map and delete map from merging list" (three-way), where
        // the order comes out of the Go code's in-place deletion.
        let object = json!({"spec": {"template": {"spec": {"containers": [{
            "name": "api",
            "env": [{"name": "A"}, {"name": "B", "value": "b"}, {"name": "D", "value": "d"}]
        }]}}}});
        let patched = strategic(
            &object,
            json!({"spec": {"template": {"spec": {"containers": [{
                "name": "api",
                "$setElementOrder/env": [{"name": "B"}, {"name": "C"}],
                "env": [{"name": "C"}, {"$patch": "delete", "name": "A"}]
            }]}}}}),
        );
        assert_eq!(
            names(&pod_spec(&patched)["containers"][0]["env"]),
            ["B", "D", "C"]
        );
    }

    #[test]
    fn atomic_lists_are_replaced_whole() {
        let patched = strategic(
            &deployment(),
            json!({"spec": {"template": {"spec": {"containers": [{
                "name": "api",
                "args": ["--port", "9090"],
                "command": ["/bin/api"]
            }]}}}}),
        );
        let api = &pod_spec(&patched)["containers"][0];
        assert_eq!(api["args"], json!(["--port", "9090"]));
        assert_eq!(api["command"], json!(["/bin/api"]));
        // A list the schema does not know of is atomic too.
        let patched = strategic(
            &deployment(),
            json!({"spec": {"selector": {"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}}}),
        );
        assert_eq!(
            patched["spec"]["selector"]["matchExpressions"],
            json!([{"key": "x", "operator": "DoesNotExist"}])
        );
        assert_eq!(
            patched["spec"]["selector"]["matchLabels"],
            json!({"app": "api"})
        );
    }

    #[test]
    fn null_deletes_fields_and_maps_merge_recursively() {
        let patched = strategic(
            &deployment(),
            json!({
                "metadata": {"labels": {"tier": null, "env": "prod"}, "annotations": {"gone": null}},
                "spec": {
                    "replicas": 4,
                    "strategy": {"rollingUpdate": {"maxSurge": 1}},
                    "template": {"spec": {"containers": [{"name": "api", "resources": null}]}}
                }
            }),
        );
        assert_eq!(
            patched["metadata"]["labels"],
            json!({"app": "api", "env": "prod"})
        );
        // A null for a field that is not there is not stored.
        assert_eq!(patched["metadata"]["annotations"], json!({}));
        assert_eq!(patched["spec"]["replicas"], 4);
        assert_eq!(
            patched["spec"]["strategy"]["rollingUpdate"],
            json!({"maxSurge": 1, "maxUnavailable": "25%"})
        );
        let api = pod_spec(&patched)["containers"][0]
            .as_object()
            .expect("api");
        assert!(!api.contains_key("resources"));
        assert_eq!(api["image"], "img:1");
    }

    #[test]
    fn kubectl_edit_patch_changes_several_fields_at_once() {
        // What kubectl edit sends after changing replicas, an image, a port and a label.
        let patched = strategic(
            &deployment(),
            json!({
                "metadata": {"labels": {"edited": "yes"}},
                "spec": {
                    "replicas": 2,
                    "template": {"spec": {
                        "$setElementOrder/containers": [{"name": "api"}, {"name": "sidecar"}],
                        "containers": [{
                            "$setElementOrder/ports": [{"containerPort": 8080}, {"containerPort": 9090}],
                            "image": "img:3",
                            "name": "api",
                            "ports": [{"containerPort": 9090, "name": "metrics"}]
                        }]
                    }}
                }
            }),
        );
        let api = &pod_spec(&patched)["containers"][0];
        assert_eq!(api["image"], "img:3");
        assert_eq!(
            api["ports"],
            json!([
                {"containerPort": 8080, "name": "http", "protocol": "TCP"},
                {"containerPort": 9090, "name": "metrics"}
            ])
        );
        assert_eq!(patched["spec"]["replicas"], 2);
        assert_eq!(patched["metadata"]["labels"]["edited"], "yes");
        assert_no_directives(&patched);
    }

    #[test]
    fn service_ports_merge_by_port() {
        let service = json!({"spec": {"ports": [
            {"name": "http", "port": 80, "targetPort": 8080},
            {"name": "https", "port": 443, "targetPort": 8443}
        ]}});
        let patched = strategic(
            &service,
            json!({"spec": {"ports": [{"port": 443, "targetPort": 9443}]}}),
        );
        assert_eq!(
            patched["spec"]["ports"],
            json!([
                {"name": "http", "port": 80, "targetPort": 8080},
                {"name": "https", "port": 443, "targetPort": 9443}
            ])
        );
    }

    // --- Strategic merge patch: directives -------------------------------------------

    #[test]
    fn patch_replace_on_a_map_takes_the_patch_as_is() {
        let patched = strategic(
            &deployment(),
            json!({"spec": {"selector": {"$patch": "replace", "matchLabels": {"app": "new"}}}}),
        );
        assert_eq!(
            patched["spec"]["selector"],
            json!({"matchLabels": {"app": "new"}})
        );
        assert_eq!(patched["spec"]["replicas"], 1);
    }

    #[test]
    fn patch_replace_on_a_list_item_replaces_the_list() {
        let patched = strategic(
            &deployment(),
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "only", "image": "x", "unset": null},
                {"$patch": "replace"}
            ]}}}}),
        );
        assert_eq!(
            pod_spec(&patched)["containers"],
            json!([{"name": "only", "image": "x"}])
        );
        assert_eq!(
            pod_spec(&patched)["initContainers"],
            pod_spec(&deployment())["initContainers"]
        );
    }

    #[test]
    fn patch_delete_on_a_map_empties_it() {
        let patched = strategic(
            &deployment(),
            json!({"spec": {"template": {"spec": {"securityContext": {"$patch": "delete"}}}}}),
        );
        assert_eq!(pod_spec(&patched)["securityContext"], json!({}));
        // On a field that is not there it adds nothing.
        let patched = strategic(
            &deployment(),
            json!({"spec": {"template": {"spec": {"affinity": {"$patch": "delete"}}}}}),
        );
        assert!(pod_spec(&patched).get("affinity").is_none());
    }

    #[test]
    fn patch_merge_is_rejected_as_the_api_server_does() {
        let err = strategic_err(
            &deployment(),
            json!({"spec": {"strategy": {"$patch": "merge", "type": "Recreate"}}}),
        );
        assert!(err.contains("unknown patch type: \"merge\""), "{err}");
        let err = strategic_err(
            &deployment(),
            json!({"spec": {"template": {"spec": {"containers": [{"$patch": "merge", "name": "api"}]}}}}),
        );
        assert!(
            err.contains("merging lists cannot yet be specified"),
            "{err}"
        );
        let err = strategic_err(
            &deployment(),
            json!({"spec": {"template": {"spec": {"containers": [{"$patch": "explode", "name": "api"}]}}}}),
        );
        assert!(err.contains("unknown patch type"), "{err}");
    }

    #[test]
    fn retain_keys_clears_the_fields_it_does_not_list() {
        // Switching the strategy to Recreate, as kubectl/helm send it.
        let patched = strategic(
            &deployment(),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": null, "type": "Recreate"}}}),
        );
        assert_eq!(patched["spec"]["strategy"], json!({"type": "Recreate"}));
        // Switching a volume's source inside a merging list.
        let patched = strategic(
            &deployment(),
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/volumes": [{"name": "data"}],
                "volumes": [{
                    "$retainKeys": ["name", "persistentVolumeClaim"],
                    "name": "data",
                    "persistentVolumeClaim": {"claimName": "data"}
                }]
            }}}}),
        );
        assert_eq!(
            pod_spec(&patched)["volumes"],
            json!([{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}])
        );
    }

    #[test]
    fn retain_keys_must_list_every_field_the_patch_sets() {
        let err = strategic_err(
            &deployment(),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 2}}}}),
        );
        assert!(err.contains("retainKeys"), "{err}");
        let err = strategic_err(
            &deployment(),
            json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
        );
        assert!(err.contains("retainKeys"), "{err}");
    }

    #[test]
    fn set_element_order_orders_the_merged_list() {
        let object = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a"}, {"name": "b"}, {"name": "c"}
        ]}}}});
        let containers = |patch: Value| {
            let patched = strategic(&object, json!({"spec": {"template": {"spec": patch}}}));
            names(&pod_spec(&patched)["containers"])
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        // A full order, with no list: just reorders.
        assert_eq!(
            containers(
                json!({"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]})
            ),
            ["c", "a", "b"]
        );
        // Items it does not name keep their place relative to the named ones as they
        // were live: b was before c, so it stays before c.
        assert_eq!(
            containers(json!({"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}]})),
            ["b", "c", "a"]
        );
        // A new item goes where the order puts it; live items it does not name follow
        // the first item that was not live.
        assert_eq!(
            containers(json!({
                "$setElementOrder/containers": [{"name": "new"}, {"name": "a"}],
                "containers": [{"name": "new"}]
            })),
            ["new", "a", "b", "c"]
        );
        assert_eq!(
            containers(json!({
                "$setElementOrder/containers": [{"name": "a"}, {"name": "new"}],
                "containers": [{"name": "new"}]
            })),
            ["a", "new", "b", "c"]
        );
        // Without $setElementOrder the patch's items go before the live items they do
        // not follow there: a new item comes first (as apimachinery does).
        assert_eq!(
            containers(json!({"containers": [{"name": "new"}]})),
            ["new", "a", "b", "c"]
        );
        assert_eq!(
            containers(json!({"containers": [{"name": "b", "image": "x"}]})),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn set_element_order_must_name_the_patch_items_in_order() {
        let err = strategic_err(
            &deployment(),
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "api"}],
                "containers": [{"name": "sidecar", "image": "x"}]
            }}}}),
        );
        assert!(err.contains("doesn't match"), "{err}");
        let err = strategic_err(
            &deployment(),
            json!({"spec": {"template": {"spec": {"$setElementOrder/containers": "api"}}}}),
        );
        assert!(err.contains("setElementOrder"), "{err}");
    }

    #[test]
    fn primitive_sets_are_unioned_and_delete_from_primitive_list_removes() {
        let object = deployment();
        let patched = strategic(
            &object,
            json!({"metadata": {"finalizers": ["example.com/d", "example.com/a"]}}),
        );
        assert_eq!(
            patched["metadata"]["finalizers"],
            json!([
                "example.com/d",
                "example.com/a",
                "example.com/b",
                "example.com/c"
            ])
        );
        // kubectl edit removing a finalizer.
        let patched = strategic(
            &object,
            json!({"metadata": {
                "$deleteFromPrimitiveList/finalizers": ["example.com/b"],
                "$setElementOrder/finalizers": ["example.com/a", "example.com/c"]
            }}),
        );
        assert_eq!(
            patched["metadata"]["finalizers"],
            json!(["example.com/a", "example.com/c"])
        );
        assert_no_directives(&patched);
        // A deletion list for a list that is not there adds nothing.
        let patched = strategic(
            &json!({"metadata": {}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}}),
        );
        assert_eq!(patched, json!({"metadata": {}}));
    }

    #[test]
    fn directives_never_reach_the_output() {
        // Nothing live under spec.template: the patch is taken as it is, less directives.
        let target = json!({"metadata": {"name": "api"}, "spec": {}});
        let patched = strategic(
            &target,
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "api"}],
                "containers": [{
                    "$setElementOrder/env": [{"name": "A"}],
                    "env": [{"name": "A", "value": "1"}, {"$patch": "delete", "name": "B"}],
                    "name": "api",
                    "image": "img:1",
                    "resources": null
                }],
                "securityContext": {"$patch": "replace", "runAsUser": 1},
                "strategy": {"$retainKeys": ["type"], "type": "Recreate"}
            }}}}),
        );
        assert_no_directives(&patched);
        assert_eq!(
            pod_spec(&patched)["containers"],
            json!([{"env": [{"name": "A", "value": "1"}], "image": "img:1", "name": "api"}])
        );
        // A new item appended to a live list is cleaned the same way.
        let patched = strategic(
            &deployment(),
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "api"}, {"name": "sidecar"}, {"name": "new"}],
                "containers": [{
                    "$setElementOrder/env": [{"name": "X"}],
                    "env": [{"name": "X", "value": "1"}],
                    "name": "new",
                    "image": null
                }]
            }}}}),
        );
        assert_no_directives(&patched);
        assert_eq!(
            pod_spec(&patched)["containers"][2],
            json!({"env": [{"name": "X", "value": "1"}], "name": "new"})
        );
    }

    // --- Bad patches -----------------------------------------------------------------

    #[test]
    fn invalid_strategic_patches_are_errors_not_panics() {
        let object = deployment();
        let cases = [
            (json!("spec"), "must be a JSON object"),
            (json!([{"spec": {}}]), "must be a JSON object"),
            (json!(null), "must be a JSON object"),
            (json!({"spec": "replicas=3"}), "cannot patch spec"),
            (
                json!({"spec": {"template": {"spec": {"containers": {"name": "api"}}}}}),
                "cannot patch spec.template.spec.containers",
            ),
            (
                json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
                "does not contain declared merge key: name",
            ),
            (
                json!({"spec": {"template": {"spec": {"containers": ["api"]}}}}),
                "not identical",
            ),
            (
                json!({"spec": {"template": {"spec": {"containers": [["api"]]}}}}),
                "lists of lists",
            ),
            (
                json!({"metadata": {"finalizers": [{"name": "x"}]}}),
                "not identical",
            ),
            (
                json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["x"]}}),
                "primitive list",
            ),
            (
                json!({"spec": {"template": {"spec": {"$setElementOrderX/containers": []}}}}),
                "setElementOrder",
            ),
            (json!({"spec": {"$patch": 1}}), "unknown patch type"),
        ];
        for (patch, expected) in cases {
            let err = strategic_err(&object, patch.clone());
            assert!(err.contains(expected), "{patch}: {err}");
        }
        let err = apply_patch(PatchKind::Strategic, &json!("x"), &json!({}))
            .expect_err("a non-object target fails");
        assert!(err.contains("not a JSON object"), "{err}");
    }

    #[test]
    fn scalars_of_another_kind_replace() {
        // IntOrString fields change kind freely.
        let patched = strategic(
            &deployment(),
            json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": 2}}}}),
        );
        assert_eq!(patched["spec"]["strategy"]["rollingUpdate"]["maxSurge"], 2);
        // A patch map over a live scalar replaces it.
        let patched = strategic(
            &json!({"data": "x"}),
            json!({"data": {"a": "b", "c": null}}),
        );
        assert_eq!(patched, json!({"data": {"a": "b"}}));
    }

    #[test]
    fn patch_delete_at_the_root_empties_the_object() {
        assert_eq!(
            strategic(&deployment(), json!({"$patch": "delete"})),
            json!({})
        );
    }
}
