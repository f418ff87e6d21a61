//! The kinds the server serves: what discovery lists, what paths resolve to, and which
//! parts of an object belong to a subresource. The set is what the chart renders plus
//! what helm, kubectl and the controllers read and write.

/// One served resource type.
#[derive(Debug, PartialEq, Eq)]
pub struct Resource {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// `status` and `scale`, where the kind has them.
    pub subresources: &'static [&'static str],
}

impl Resource {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// How the API server names the type in messages: `deployments.apps`, `pods`.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn singular(&self) -> String {
        self.kind.to_lowercase()
    }

    pub fn has_status(&self) -> bool {
        self.subresources.contains(&"status")
    }

    /// Where objects of this type live in the store: events are one collection served
    /// under two groups.
    pub fn storage(&self) -> &'static str {
        if self.kind == "Event" {
            "events"
        } else {
            self.plural
        }
    }
}

const fn resource(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    subresources: &'static [&'static str],
) -> Resource {
    let version = match group.as_bytes() {
        b"autoscaling" => "v2",
        _ => "v1",
    };
    Resource {
        group,
        version,
        kind,
        plural,
        namespaced,
        short_names,
        subresources,
    }
}

const STATUS: &[&str] = &["status"];
const SCALABLE: &[&str] = &["status", "scale"];

pub const RESOURCES: &[Resource] = &[
    resource("", "Namespace", "namespaces", false, &["ns"], STATUS),
    resource("", "Pod", "pods", true, &["po"], &["status", "log"]),
    resource("", "Service", "services", true, &["svc"], STATUS),
    resource("", "Secret", "secrets", true, &[], &[]),
    resource("", "ConfigMap", "configmaps", true, &["cm"], &[]),
    resource("", "ServiceAccount", "serviceaccounts", true, &["sa"], &[]),
    resource("", "Event", "events", true, &["ev"], &[]),
    resource(
        "",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        &["pvc"],
        STATUS,
    ),
    resource(
        "apps",
        "Deployment",
        "deployments",
        true,
        &["deploy"],
        SCALABLE,
    ),
    resource("apps", "ReplicaSet", "replicasets", true, &["rs"], SCALABLE),
    resource(
        "apps",
        "StatefulSet",
        "statefulsets",
        true,
        &["sts"],
        SCALABLE,
    ),
    resource("batch", "Job", "jobs", true, &[], STATUS),
    resource(
        "autoscaling",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        &["hpa"],
        STATUS,
    ),
    resource(
        "policy",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &["pdb"],
        STATUS,
    ),
    resource(
        "networking.k8s.io",
        "Ingress",
        "ingresses",
        true,
        &["ing"],
        STATUS,
    ),
    resource(
        "networking.k8s.io",
        "NetworkPolicy",
        "networkpolicies",
        true,
        &["netpol"],
        &[],
    ),
    resource("coordination.k8s.io", "Lease", "leases", true, &[], &[]),
    resource("events.k8s.io", "Event", "events", true, &["ev"], &[]),
];

/// The resource at `group`/`version`/`plural`.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource an object's `apiVersion` and `kind` name.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.api_version() == api_version && r.kind == kind)
}

/// Every group-version served, `v1` first, as discovery lists them.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_kinds_resolve_to_the_same_resource() {
        let deployments = find("apps", "v1", "deployments").expect("served");
        assert_eq!(by_kind("apps/v1", "Deployment"), Some(deployments));
        assert_eq!(deployments.qualified(), "deployments.apps");
        assert_eq!(
            find("autoscaling", "v2", "horizontalpodautoscalers").map(|r| r.kind),
            Some("HorizontalPodAutoscaler")
        );
        assert_eq!(group_versions()[0], ("", "v1"));
        assert_eq!(
            find("events.k8s.io", "v1", "events").map(Resource::storage),
            Some("events")
        );
    }
}
