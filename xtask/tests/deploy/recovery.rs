//! What a failed deploy undoes, and what it rolls back to.

use kube_test_server::{Pods, Scenario};

use super::{assert_contains_all, bed, deploy_tag, seed_release};
use crate::testbed::TestBed;

/// Makes the next render ask for a ServiceMonitor, a kind this server (like a cluster
/// without the Prometheus Operator) does not serve: helm fails before storing anything.
fn ask_for_a_missing_kind(bed: &TestBed) {
    let template = bed.root.join("overlays/test/values.yaml.j2");
    let mut text = std::fs::read_to_string(&template).unwrap();
    text.push_str("\nmetrics:\n  serviceMonitor:\n    enabled: true\n");
    std::fs::write(&template, text).unwrap();
    bed.commit();
}

#[test]
fn a_failed_upgrade_that_stored_no_revision_changes_nothing() {
    let bed = bed("nothing-applied", Scenario::new());
    seed_release(&bed, "test", "good");
    ask_for_a_missing_kind(&bed);
    let (code, _, stderr) = deploy_tag(&bed, "next", &[]);
    assert_eq!(code, Some(4), "{stderr}");
    assert_contains_all(
        &stderr,
        &[
            "ServiceMonitor",
            "helm stored no new revision: nothing changed, nothing to undo",
        ],
    );
    let calls = bed.calls();
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("helm rollback") || c.starts_with("helm uninstall")),
        "{calls:?}"
    );
    assert_eq!(
        bed.revisions("test").len(),
        1,
        "the healthy revision is still the only one"
    );
    assert_eq!(bed.deployed_image("test"), "localhost:5001/api:good");
    assert_eq!(
        bed.last_record("test")["recovery"],
        "none: nothing was applied"
    );
}

#[test]
fn a_first_install_that_stored_nothing_is_not_uninstalled() {
    let bed = bed("first-install-nothing", Scenario::new());
    ask_for_a_missing_kind(&bed);
    let (code, _, stderr) = deploy_tag(&bed, "first", &[]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("nothing changed, nothing to undo"),
        "{stderr}"
    );
    assert!(!bed.calls().iter().any(|c| c.starts_with("helm uninstall")));
}

#[test]
fn the_rollback_target_is_the_last_revision_a_deploy_verified() {
    let api = crate::real_api::RealApi::start(true);
    let scenario = Scenario::new()
        .pods(Pods::of("Job").with_image(":slow").never_ready())
        .pods(
            Pods::of("Deployment")
                .with_image(":crashing")
                .crash_loop("Error", 1),
        );
    let mut bed = TestBed::new("verified-target", scenario);
    bed.image_exists().forward_to(&api.address);
    bed.commit();
    // Revision 1: deployed and verified. Revision 2: interrupted while its migration ran,
    // so Helm says `deployed` but nobody saw it healthy.
    let (code, _, stderr) = deploy_tag(&bed, "good", &[]);
    assert_eq!(code, Some(0), "{stderr}");
    super::interrupt_while_watching(&bed, "slow");
    assert_eq!(
        bed.revisions("test")[1].1,
        "deployed",
        "helm marks it deployed"
    );
    // Its migration never ends, so the chart refuses the next upgrade until it is gone.
    let (code, _, stderr) = deploy_tag(&bed, "crashing", &[]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("the migration Job api-migrate-2 is still running"),
        "{stderr}"
    );
    bed.kubectl(&["--namespace", "api-test", "delete", "job", "api-migrate-2"]);

    let (code, _, stderr) = deploy_tag(&bed, "crashing", &[]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("rolled back to revision 1"), "{stderr}");
    assert_eq!(bed.deployed_image("test"), "localhost:5001/api:good");
}

#[test]
fn fields_changed_by_kubectl_are_taken_back_and_named() {
    let bed = bed("conflict", Scenario::new());
    seed_release(&bed, "test", "good");
    bed.scale_api(2);
    let api = crate::real_api::RealApi::start(true);
    let mut bed = bed;
    bed.forward_to(&api.address);
    let (code, _, stderr) = deploy_tag(&bed, "next", &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_contains_all(
        &stderr,
        &["Deployment api: .spec.replicas was set by kubectl (scale); the deploy takes it back"],
    );
    assert_eq!(
        bed.server
            .get("apps/v1", "Deployment", "api-test", "api")
            .unwrap()["spec"]["replicas"],
        1
    );
    let upgrade = bed
        .calls()
        .into_iter()
        .find(|c| c.starts_with("helm upgrade"))
        .unwrap();
    assert!(upgrade.contains("--force-conflicts"), "{upgrade}");
}
