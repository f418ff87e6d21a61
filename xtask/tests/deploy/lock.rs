//! The deploy lock: a Lease in the release's namespace held for the whole deploy.

use std::time::{Duration, Instant};

use kube_test_server::{Pods, Scenario};

use super::{WATCHING, bed, deploy_tag, interrupt, seed_release, start_deploy};

/// The `test` release's deploy lock, if one is held.
fn deploy_lock(bed: &crate::testbed::TestBed) -> Option<serde_json::Value> {
    bed.server.get(
        "coordination.k8s.io/v1",
        "Lease",
        "api-test",
        "api-deploy-lock",
    )
}

#[test]
fn a_second_deploy_waits_for_the_lock_then_refuses_naming_the_holder() {
    // The first deploy's migration never finishes, so it holds the lock while watching.
    let scenario = Scenario::new().pods(Pods::of("Job").with_image(":slow").never_ready());
    let bed = bed("lock-busy", scenario);
    seed_release(&bed, "test", "good");
    let earlier = bed.calls().len();
    let first = start_deploy(&bed, "slow");
    bed.wait_for_call(earlier, WATCHING);
    let lease = deploy_lock(&bed).expect("the lock is a Lease");
    assert!(
        lease["spec"]["holderIdentity"]
            .as_str()
            .unwrap()
            .contains("deploy test"),
        "{lease}"
    );

    let waited = Instant::now();
    let (code, _, stderr) = deploy_tag(&bed, "second", &["--lock-wait", "1s"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        waited.elapsed() >= Duration::from_secs(1),
        "it waited first"
    );
    assert!(
        stderr.contains("another deploy holds the lock") && stderr.contains("since"),
        "{stderr}"
    );
    assert!(
        !bed.calls()
            .iter()
            .any(|c| c.contains("upgrade --install") && c.contains("second"))
    );

    let (code, stderr) = interrupt(first);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(deploy_lock(&bed).is_none(), "released on Ctrl-C");
}

#[test]
fn a_lock_nobody_renews_is_refused_until_broken() {
    let api = crate::real_api::RealApi::start(true);
    let mut bed = crate::testbed::TestBed::new("lock-stale", Scenario::new());
    bed.image_exists().forward_to(&api.address);
    bed.commit();
    seed_release(&bed, "test", "good");
    bed.server
        .create(serde_json::json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "api-deploy-lock", "namespace": "api-test"},
            "spec": {"holderIdentity": "deploy test by ci@runner-7 (git 0123456789ab)", "leaseDurationSeconds": 30,
                "acquireTime": "2026-11-20T10:00:00.000000Z", "renewTime": "2026-11-20T10:05:00.000000Z"}}))
        .unwrap();
    let (code, _, stderr) = deploy_tag(&bed, "next", &["--lock-wait", "0s"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("ci@runner-7")
            && stderr.contains("not renewed since 2026-11-20T10:05:00")
            && stderr.contains("--break-lock"),
        "{stderr}"
    );

    let (code, _, stderr) = deploy_tag(&bed, "next", &["--break-lock"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("took over the lock from deploy test by ci@runner-7"),
        "{stderr}"
    );
    assert!(deploy_lock(&bed).is_none(), "released at the end");
}
