//! The objects the server holds, their resource versions and the change history every
//! watch replays. HTTP handlers and the scenario's controllers both write through here.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::watch;

use crate::resources::Resource;
use crate::status::ApiError;

/// What happened to an object, as a watch reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Change {
    pub resource_version: u64,
    pub kind: ChangeKind,
    pub storage: &'static str,
    pub object: Value,
}

type Key = (&'static str, String, String);

#[derive(Default)]
struct Inner {
    objects: BTreeMap<Key, Value>,
    resource_version: u64,
    history: Vec<Change>,
}

pub struct Store {
    inner: Mutex<Inner>,
    /// The newest resource version, for watches waiting on the next change.
    latest: watch::Sender<u64>,
}

/// Names an object: its resource type, namespace ("" when cluster-scoped) and name.
pub fn key(resource: &Resource, namespace: &str, name: &str) -> Key {
    (resource.storage(), namespace.to_owned(), name.to_owned())
}

impl Default for Store {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            latest: watch::channel(0).0,
        }
    }
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking handler must not take every later request down with it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.latest.subscribe()
    }

    pub fn resource_version(&self) -> u64 {
        self.lock().resource_version
    }

    pub fn get(&self, resource: &Resource, namespace: &str, name: &str) -> Option<Value> {
        self.lock()
            .objects
            .get(&key(resource, namespace, name))
            .cloned()
    }

    /// The objects of a type, in one namespace or (with `None`) in all, ordered by
    /// namespace and name.
    pub fn list(&self, resource: &Resource, namespace: Option<&str>) -> Vec<Value> {
        self.lock()
            .objects
            .iter()
            .filter(|((storage, ns, _), _)| {
                *storage == resource.storage() && namespace.is_none_or(|n| n == ns)
            })
            .map(|(_, object)| object.clone())
            .collect()
    }

    /// Changes after `resource_version`, oldest first.
    pub fn changes_since(&self, resource_version: u64) -> Vec<Change> {
        let inner = self.lock();
        let start = inner
            .history
            .partition_point(|c| c.resource_version <= resource_version);
        inner.history[start..].to_vec()
    }

    /// Stores a new object: names it (from `generateName` if needed), gives it a uid, a
    /// creation time, a resource version, the API server's defaults and, when it has a
    /// spec, generation 1.
    pub fn create(
        &self,
        resource: &'static Resource,
        namespace: &str,
        mut object: Value,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let meta = metadata(&mut object);
        if meta
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            let prefix = meta
                .get("generateName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    resource,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                ));
            }
            meta["name"] = json!(format!("{prefix}{}", random_suffix()));
        }
        let name = meta["name"].as_str().unwrap_or_default().to_owned();
        if resource.namespaced {
            if !inner
                .objects
                .contains_key(&("namespaces", String::new(), namespace.to_owned()))
            {
                return Err(ApiError::new(
                    404,
                    "NotFound",
                    format!("namespaces \"{namespace}\" not found"),
                ));
            }
            meta["namespace"] = json!(namespace);
        }
        let key = key(
            resource,
            if resource.namespaced { namespace } else { "" },
            &name,
        );
        if inner.objects.contains_key(&key) {
            return Err(ApiError::already_exists(resource, &name));
        }
        meta["uid"] = json!(uuid::Uuid::new_v4().to_string());
        meta["creationTimestamp"] = json!(crate::now());
        if object.get("spec").is_some() {
            object["metadata"]["generation"] = json!(1);
        }
        object["apiVersion"] = json!(resource.api_version());
        object["kind"] = json!(resource.kind);
        // Defaults go in before the first write; some (a Job's selector) name the uid.
        crate::defaults::apply(resource.kind, &mut object);
        Ok(inner.commit(resource, key, object, ChangeKind::Added, &self.latest))
    }

    /// Replaces an object. A `resourceVersion` in `object` must be the current one; the
    /// uid and creation time stay, and the generation moves when the spec changes.
    pub fn replace(
        &self,
        resource: &'static Resource,
        namespace: &str,
        name: &str,
        mut object: Value,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let key = key(resource, namespace, name);
        let current = inner
            .objects
            .get(&key)
            .ok_or_else(|| ApiError::not_found(resource, name))?;
        let sent = object["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default();
        if !sent.is_empty() && sent != current["metadata"]["resourceVersion"] {
            return Err(ApiError::stale(resource, name));
        }
        let meta = metadata(&mut object);
        for field in [
            "uid",
            "creationTimestamp",
            "namespace",
            "name",
            "deletionTimestamp",
        ] {
            match current["metadata"].get(field) {
                Some(value) => meta[field] = value.clone(),
                None => {
                    if let Some(meta) = meta.as_object_mut() {
                        meta.remove(field);
                    }
                }
            }
        }
        let generation = current["metadata"]["generation"].as_i64();
        if let Some(generation) = generation {
            let moved = object.get("spec") != current.get("spec");
            object["metadata"]["generation"] = json!(generation + i64::from(moved));
        }
        object["apiVersion"] = json!(resource.api_version());
        object["kind"] = json!(resource.kind);
        Ok(inner.commit(resource, key, object, ChangeKind::Modified, &self.latest))
    }

    /// Deletes an object and, unless `orphan`, everything it owns (as the garbage
    /// collector would, at once).
    pub fn delete(
        &self,
        resource: &'static Resource,
        namespace: &str,
        name: &str,
        orphan: bool,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let key = key(resource, namespace, name);
        let object = inner
            .objects
            .remove(&key)
            .ok_or_else(|| ApiError::not_found(resource, name))?;
        inner.resource_version += 1;
        let resource_version = inner.resource_version;
        let mut gone = object.clone();
        gone["metadata"]["resourceVersion"] = json!(resource_version.to_string());
        inner.history.push(Change {
            resource_version,
            kind: ChangeKind::Deleted,
            storage: resource.storage(),
            object: gone.clone(),
        });
        let uid = object["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let dependents: Vec<Key> = inner
            .objects
            .iter()
            .filter(|(_, o)| owned_by(o, &uid))
            .map(|(k, _)| k.clone())
            .collect();
        drop(inner);
        for (storage, ns, dependent) in dependents {
            let Some(kind) = crate::resources::RESOURCES
                .iter()
                .find(|r| r.storage() == storage)
            else {
                continue;
            };
            if orphan {
                if let Some(mut o) = self.get(kind, &ns, &dependent) {
                    if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
                        refs.retain(|r| r["uid"] != uid.as_str());
                    }
                    let _ = self.replace(kind, &ns, &dependent, o);
                }
            } else {
                let _ = self.delete(kind, &ns, &dependent, false);
            }
        }
        self.latest.send_replace(resource_version);
        Ok(gone)
    }
}

impl Inner {
    fn commit(
        &mut self,
        resource: &'static Resource,
        key: Key,
        mut object: Value,
        kind: ChangeKind,
        latest: &watch::Sender<u64>,
    ) -> Value {
        self.resource_version += 1;
        object["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        self.objects.insert(key, object.clone());
        self.history.push(Change {
            resource_version: self.resource_version,
            kind,
            storage: resource.storage(),
            object: object.clone(),
        });
        latest.send_replace(self.resource_version);
        object
    }
}

fn metadata(object: &mut Value) -> &mut Value {
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    &mut object["metadata"]
}

fn owned_by(object: &Value, uid: &str) -> bool {
    object["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
}

/// Five characters as the API server's name generator uses (no vowels, no ambiguous digits).
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .take(5)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}
