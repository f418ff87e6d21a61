//! What the server knows of the shape of Kubernetes objects beyond plain JSON: which
//! lists are maps keyed by some of their items' fields. Server-side apply tracks
//! ownership per item of such a list, and strategic merge patch merges them by key;
//! every other list is atomic (replaced whole). The table covers the kinds the chart
//! renders and the fields kubectl changes.

/// The key fields of the list at `path` (field names from the object's root, list
/// positions left out), or `None` when the list is atomic.
pub fn list_map_keys(path: &[&str]) -> Option<&'static [&'static str]> {
    let (last, parents) = path.split_last()?;
    let in_container = parents
        .last()
        .is_some_and(|p| matches!(*p, "containers" | "initContainers" | "ephemeralContainers"));
    Some(match *last {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "env" => &["name"],
        "volumeMounts" | "volumeDevices" => &["mountPath"],
        "ports" if in_container => &["containerPort", "protocol"],
        "ports" if parents == ["spec"] => &["port", "protocol"],
        "conditions" => &["type"],
        "ownerReferences" => &["uid"],
        "topologySpreadConstraints" => &["topologyKey", "whenUnsatisfiable"],
        _ => return None,
    })
}

/// The key strategic merge patch merges the list at `path` by (its `patchMergeKey`: the
/// first of the list's map keys), or `None` when a patch replaces the list whole.
pub fn patch_merge_key(path: &[&str]) -> Option<&'static str> {
    list_map_keys(path).and_then(|keys| keys.first().copied())
}

/// Lists of scalars that strategic merge patch treats as sets (merged, not replaced).
pub fn is_primitive_set(path: &[&str]) -> bool {
    path == ["metadata", "finalizers"]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_and_service_ports_have_different_keys() {
        assert_eq!(
            list_map_keys(&["spec", "template", "spec", "containers", "ports"]),
            Some(&["containerPort", "protocol"][..])
        );
        assert_eq!(
            list_map_keys(&["spec", "ports"]),
            Some(&["port", "protocol"][..])
        );
        assert_eq!(
            list_map_keys(&["spec", "template", "spec", "containers", "args"]),
            None
        );
        assert_eq!(
            patch_merge_key(&["spec", "template", "spec", "containers"]),
            Some("name")
        );
    }
}
