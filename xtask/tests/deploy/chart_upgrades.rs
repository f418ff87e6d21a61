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
