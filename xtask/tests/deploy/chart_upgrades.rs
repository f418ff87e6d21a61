//! The chart's own behaviour across upgrades and rollbacks, with the real helm on the
//! test server (what `helm template` alone cannot show: `lookup` of live Secrets).

use kube_test_server::Scenario;

use super::{bed, seed_release};

fn generation(bed: &crate::testbed::TestBed, kind: &str, name: &str) -> serde_json::Value {
    bed.server.get("apps/v1", kind, "api-test", name).unwrap()["metadata"]["generation"].clone()
}

#[test]
fn an_upgrade_with_unchanged_values_changes_no_pod_template() {
    let bed = bed("chart-stable-upgrade", Scenario::new());
    seed_release(&bed, "test", "good");
    let password = bed
        .server
        .get("v1", "Secret", "api-test", "api-database")
        .unwrap()["data"]["password"]
        .clone();
    let before = (
        generation(&bed, "Deployment", "api"),
        generation(&bed, "StatefulSet", "api-postgresql"),
    );
    seed_release(&bed, "test", "good");
    let after = (
        generation(&bed, "Deployment", "api"),
        generation(&bed, "StatefulSet", "api-postgresql"),
    );
    assert_eq!(
        before, after,
        "no restart of the api or of PostgreSQL (and no lost dev database)"
    );
    assert_eq!(
        bed.server
            .get("v1", "Secret", "api-test", "api-database")
            .unwrap()["data"]["password"],
        password
    );
    assert_eq!(bed.revisions("test").len(), 2);
}

/// `helm upgrade` of the `test` overlay's last render with `--set` overrides.
fn upgrade_with(bed: &crate::testbed::TestBed, sets: &[&str]) -> (bool, String) {
    let values = bed.root.join("target/deploy/test/values.yaml");
    let chart = bed.root.join("charts/api-platform");
    let mut args = vec![
        "upgrade",
        "api",
        chart.to_str().unwrap(),
        "--namespace",
        "api-test",
        "--kube-context",
        "kind-test",
        "--values",
        values.to_str().unwrap(),
    ];
    for set in sets {
        args.extend(["--set", set]);
    }
    let output = bed.tool("helm", &args);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_new_database_password_is_refused_with_how_to_change_it() {
    let bed = bed("chart-password", Scenario::new());
    seed_release(&bed, "test", "good");
    let (ok, stderr) = upgrade_with(&bed, &["database.password=something-new"]);
    assert!(!ok);
    assert!(
        stderr.contains(
            "database.password differs from the password PostgreSQL was initialised with"
        ) && stderr.contains("ALTER ROLE api PASSWORD"),
        "{stderr}"
    );
    assert_eq!(
        bed.revisions("test").len(),
        1,
        "refused before anything was stored"
    );

    bed.kubectl(&[
        "--namespace",
        "api-test",
        "delete",
        "secret",
        "api-database",
    ]);
    let (ok, stderr) = upgrade_with(&bed, &[]);
    assert!(!ok);
    assert!(
        stderr.contains("the Secret api-database holding the database password is gone"),
        "{stderr}"
    );
}

#[test]
fn a_volume_change_the_statefulset_cannot_take_is_refused_with_the_procedure() {
    let bed = bed("chart-volume", Scenario::new());
    seed_release(&bed, "test", "good");
    let (ok, stderr) = upgrade_with(&bed, &["postgresql.persistence.enabled=false"]);
    assert!(!ok);
    assert!(
        stderr.contains("postgresql.persistence.enabled cannot change on an installed release"),
        "{stderr}"
    );
}

#[test]
fn a_volume_size_change_is_refused_with_the_procedure() {
    let bed = bed("chart-volume-size", Scenario::new());
    seed_release(&bed, "test", "good");
    let (ok, stderr) = upgrade_with(&bed, &["postgresql.persistence.size=2Gi"]);
    assert!(!ok);
    assert!(
        stderr.contains(
            "postgresql.persistence.size cannot change on an installed release (1Gi now, 2Gi asked)"
        ) && stderr.contains("kubectl delete statefulset api-postgresql --cascade=orphan"),
        "{stderr}"
    );
    let (ok, stderr) = upgrade_with(&bed, &[]);
    assert!(ok, "an unchanged volume upgrades: {stderr}");
}
