//! Namespaces: created only where the overlay says so, and a first install that needs
//! no rights on namespaces.

use kube_test_server::Scenario;

use super::{assert_contains_all, deploy_tag, writes};
use crate::real_api::RealApi;
use crate::testbed::TestBed;

#[test]
fn a_missing_namespace_is_refused_with_how_to_create_it() {
    let mut bed = TestBed::new("namespace-missing", Scenario::new());
    bed.overlay("test", "protected: false\nonFailedInstall: keep\n");
    bed.image_exists();
    bed.commit();
    let (code, _, stderr) = deploy_tag(&bed, "first", &[]);
    assert_eq!(code, Some(3), "{stderr}");
    assert_contains_all(
        &stderr,
        &[
            "namespace api-test does not exist",
            "kubectl --context kind-test create namespace api-test",
        ],
    );
    assert_eq!(writes(&bed.server), 0, "{}", bed.server.request_log());
}

#[test]
fn a_first_install_needs_no_rights_on_namespaces() {
    let api = RealApi::start(true);
    let scenario = Scenario::new()
        .forbid("patch", "namespaces")
        .forbid("create", "namespaces")
        .forbid("get", "namespaces");
    let mut bed = TestBed::new("namespace-scoped", scenario);
    bed.overlay("test", "protected: false\nonFailedInstall: keep\n");
    bed.image_exists().forward_to(&api.address);
    bed.commit();
    bed.server
        .create(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "api-test"}}))
        .unwrap();
    let (code, _, stderr) = deploy_tag(&bed, "first", &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let log = bed.server.request_log();
    assert!(
        !log.lines()
            .any(|l| l.starts_with("PATCH /api/v1/namespaces/api-test?")),
        "{log}"
    );
    let upgrade = bed
        .calls()
        .into_iter()
        .find(|c| c.starts_with("helm upgrade"))
        .unwrap();
    assert!(!upgrade.contains("--create-namespace"), "{upgrade}");
}
