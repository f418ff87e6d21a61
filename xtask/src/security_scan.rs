//! The security scan `cargo xtask lint` runs over each overlay's rendered manifests:
//! checkov's Kubernetes checks, with the few findings this chart accepts listed here,
//! each with its reason. Anything else fails the lint, named by check and resource.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde::Deserialize;

/// A finding the chart accepts in the overlays `envs`, for every object of `kind` (the
/// chart renders one object of each workload kind, so the kind names it whatever the
/// release is called).
pub struct Accepted {
    pub check: &'static str,
    pub kinds: &'static [&'static str],
    pub envs: &'static [&'static str],
    pub reason: &'static str,
}

pub const ACCEPTED: &[Accepted] = &[
    Accepted {
        check: "CKV_K8S_43",
        kinds: &["Deployment", "Job", "Pod"],
        envs: &["dev"],
        reason: "image by digest: dev's image is side-loaded into kind, never pushed, so it has \
                 no registry digest (staging and prod deploy only by digest)",
    },
    Accepted {
        check: "CKV_K8S_43",
        kinds: &["StatefulSet"],
        envs: &["dev", "staging"],
        reason: "PostgreSQL, Redis and RabbitMQ by digest: set `postgresql.image.digest`, \
                 `redis.image.digest` and `rabbitmq.image.digest` to your registry's digests for \
                 the tags; the chart cannot know them",
    },
    Accepted {
        check: "CKV_K8S_15",
        kinds: &["Deployment", "Job", "Pod", "StatefulSet"],
        envs: &["dev"],
        reason: "pull policy Always: dev is a local kind cluster; its api image is side-loaded \
                 (there is no registry to pull from) and PostgreSQL's and Redis's are used as cached, so it \
                 starts offline (staging and prod pull Always)",
    },
    Accepted {
        check: "CKV_K8S_8",
        kinds: &["Pod"],
        envs: &["dev", "staging", "prod"],
        reason: "liveness probe on the `helm test` Pod: it runs to completion; it stays a Pod \
                 because `helm test --logs` reads logs from Pods named after the hook",
    },
    Accepted {
        check: "CKV_K8S_9",
        kinds: &["Pod"],
        envs: &["dev", "staging", "prod"],
        reason: "readiness probe on the `helm test` Pod: nothing routes to it",
    },
];

/// One failed check: `resource` is `Kind.namespace.name`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Finding {
    pub check_id: String,
    pub check_name: String,
    pub resource: String,
}

impl Finding {
    fn kind(&self) -> &str {
        self.resource.split('.').next().unwrap_or_default()
    }

    /// The entry of [`ACCEPTED`] covering this finding in the overlay `env`.
    pub fn accepted(&self, env: &str) -> Option<&'static Accepted> {
        ACCEPTED.iter().find(|a| {
            a.check == self.check_id && a.kinds.contains(&self.kind()) && a.envs.contains(&env)
        })
    }
}

#[derive(Deserialize)]
struct Report {
    results: Results,
}

#[derive(Deserialize)]
struct Results {
    #[serde(default)]
    failed_checks: Vec<Finding>,
    #[serde(default)]
    parsing_errors: Vec<String>,
}

/// The failed checks in checkov's JSON report (one framework: an object; several: a list).
pub fn parse(json: &str) -> anyhow::Result<Vec<Finding>> {
    let value: serde_json::Value =
        serde_json::from_str(json).context("reading the scanner's JSON report")?;
    let reports = match value {
        serde_json::Value::Array(list) => list,
        other => vec![other],
    };
    let mut findings = Vec::new();
    for report in reports {
        let report: Report =
            serde_json::from_value(report).context("reading the scanner's JSON report")?;
        if !report.results.parsing_errors.is_empty() {
            bail!(
                "the scanner could not parse {}",
                report.results.parsing_errors.join(", ")
            );
        }
        findings.extend(report.results.failed_checks);
    }
    Ok(findings)
}

/// Scans `env`'s `manifests`; the findings no entry of [`ACCEPTED`] covers fail, one per
/// line. Returns how many findings were accepted.
pub fn check(scanner: &Path, env: &str, manifests: &Path) -> anyhow::Result<usize> {
    let output = Command::new(scanner)
        .args([
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--quiet",
            "--compact",
        ])
        .arg("--file")
        .arg(manifests)
        .output()
        .with_context(|| format!("running {}", scanner.display()))?;
    // checkov exits 1 when a check fails: the report says which, so read it either way.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let findings = parse(&stdout).with_context(|| {
        format!(
            "the scanner failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
    })?;
    verdict(env, &findings)
}

/// How many of `env`'s `findings` are accepted, or an error naming each one that is not.
pub fn verdict(env: &str, findings: &[Finding]) -> anyhow::Result<usize> {
    let (accepted, rejected): (Vec<_>, Vec<_>) =
        findings.iter().partition(|f| f.accepted(env).is_some());
    if !rejected.is_empty() {
        let lines: Vec<String> = rejected
            .iter()
            .map(|f| format!("  {} {}: {}", f.check_id, f.resource, f.check_name))
            .collect();
        bail!(
            "security scan (checkov) found:\n{}\nfix the chart, or accept a finding with its reason in xtask/src/security_scan.rs",
            lines.join("\n")
        );
    }
    Ok(accepted.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(check: &str, resource: &str) -> Finding {
        Finding {
            check_id: check.to_owned(),
            check_name: "a check".to_owned(),
            resource: resource.to_owned(),
        }
    }

    #[test]
    fn accepts_only_the_listed_checks_on_the_listed_kinds_and_overlays() {
        let test_pod = finding("CKV_K8S_8", "Pod.api-prod.api-smoke-test");
        assert!(test_pod.accepted("prod").is_some());
        assert!(
            finding("CKV_K8S_8", "Deployment.api-dev.api")
                .accepted("dev")
                .is_none()
        );
        assert!(
            finding("CKV_K8S_20", "Pod.api-dev.api-smoke-test")
                .accepted("dev")
                .is_none()
        );
        let by_tag = finding("CKV_K8S_43", "Deployment.api-prod.api");
        assert!(by_tag.accepted("dev").is_some());
        assert!(
            by_tag.accepted("prod").is_none(),
            "prod deploys only by digest"
        );
        assert!(
            finding("CKV_K8S_43", "StatefulSet.api-staging.api-postgresql")
                .accepted("staging")
                .is_some_and(|a| a.reason.contains("postgresql.image.digest"))
        );
    }

    #[test]
    fn any_finding_not_accepted_fails_naming_check_and_resource() {
        let accepted = finding("CKV_K8S_9", "Pod.api-dev.api-smoke-test");
        assert_eq!(verdict("dev", std::slice::from_ref(&accepted)).unwrap(), 1);
        let privileged = finding("CKV_K8S_16", "Deployment.api-dev.api");
        let err = verdict("dev", &[accepted, privileged])
            .unwrap_err()
            .to_string();
        assert!(err.contains("CKV_K8S_16 Deployment.api-dev.api"), "{err}");
        assert!(!err.contains("CKV_K8S_9"), "{err}");
    }

    #[test]
    fn reads_one_report_or_several_and_refuses_garbage() {
        let one = r#"{"check_type": "kubernetes", "results": {"failed_checks": [
            {"check_id": "CKV_K8S_43", "check_name": "Image should use digest",
             "resource": "Deployment.api-dev.api", "guideline": null}],
            "passed_checks": []}, "summary": {}}"#;
        assert_eq!(
            parse(one).unwrap(),
            [Finding {
                check_id: "CKV_K8S_43".to_owned(),
                check_name: "Image should use digest".to_owned(),
                resource: "Deployment.api-dev.api".to_owned(),
            }]
        );
        assert_eq!(parse(&format!("[{one}, {one}]")).unwrap().len(), 2);
        let unparsed = r#"{"results": {"failed_checks": [], "parsing_errors": ["m.yaml"]}}"#;
        assert!(parse(unparsed).unwrap_err().to_string().contains("m.yaml"));
        assert!(parse("checkov crashed").is_err());
    }
}
