//! The rollout verdict and the diagnosis, as the real objects make them.

use std::time::Duration;

use kube_test_server::{Pods, Scenario};

use super::{assert_contains_all, bed, deploy_tag, seed_release, seed_release_unready};
use crate::real_api::RealApi;
use crate::testbed::TestBed;

#[test]
fn deploying_a_fix_over_a_crash_looping_release_succeeds() {
    let api = RealApi::start(true);
    // The fix's pods take a while to get ready, so the old crashing pod is still there.
    let scenario = Scenario::new()
        .pods(
            Pods::of("Deployment")
                .with_image(":crashing")
                .crash_loop("Error", 1),
        )
        .pods(
            Pods::of("Deployment")
                .with_image(":fixed")
                .ready_after(Duration::from_millis(1500)),
        );
    let mut bed = TestBed::new("fix-over-crashloop", scenario);
    bed.image_exists().forward_to(&api.address);
    bed.commit();
    seed_release_unready(&bed, "test", "crashing");
    bed.wait_for("the old pod to crash three times", |server| {
        server
            .list("v1", "Pod", Some("api-test"))
            .iter()
            .any(|p| p["status"]["containerStatuses"][0]["restartCount"].as_u64() >= Some(3))
    });
    let (code, _, stderr) = deploy_tag(&bed, "fixed", &[]);
    assert_eq!(
        code,
        Some(0),
        "the old ReplicaSet's crashing pod is not the new revision's: {stderr}"
    );
    assert_eq!(bed.deployed_image("test"), "localhost:5001/api:fixed");
}

#[test]
fn a_stale_progress_deadline_is_ignored_until_the_controller_catches_up() {
    let api = RealApi::start(true);
    let scenario = Scenario::new()
        .pods(Pods::of("Deployment").with_image(":stuck").never_ready())
        .deployment_controller_delay(Duration::from_secs(3));
    let mut bed = TestBed::new("stale-deadline", scenario);
    bed.image_exists().forward_to(&api.address);
    bed.commit();
    // The live revision's rollout timed out long ago (its pods never got ready); the
    // next deploy fixes it, but the controller takes a moment to look at the new spec.
    seed_release_unready(&bed, "test", "stuck");
    bed.wait_for("the stuck rollout", |server| {
        server
            .get("apps/v1", "Deployment", "api-test", "api")
            .is_some_and(|d| {
                d["status"]["observedGeneration"] == 1 && d["status"]["updatedReplicas"] == 1
            })
    });
    let mut deployment = bed
        .server
        .get("apps/v1", "Deployment", "api-test", "api")
        .unwrap();
    deployment["status"]["conditions"] = serde_json::json!([{"type": "Progressing", "status": "False",
        "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"api-old\" has timed out progressing."}]);
    bed.server.replace(deployment).unwrap();
    let (code, _, stderr) = deploy_tag(&bed, "next", &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(bed.deployed_image("test"), "localhost:5001/api:next");
}

#[test]
fn a_forbidden_read_fails_the_watch_at_once_without_a_rollback() {
    let scenario = Scenario::new().forbid("list", "pods");
    let bed = bed("forbidden", scenario);
    seed_release(&bed, "test", "good");
    let started = std::time::Instant::now();
    let (code, _, stderr) = deploy_tag(&bed, "next", &[]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "it did not wait for the 20s rollout timeout"
    );
    assert_contains_all(
        &stderr,
        &[
            "pods is forbidden: User \"system:serviceaccount:ci:deployer\" cannot list resource \"pods\"",
            "revision 2 stays applied",
        ],
    );
    assert!(
        !bed.calls().iter().any(|c| c.starts_with("helm rollback")),
        "a rollout it cannot see is not judged"
    );
}

#[test]
fn the_diagnosis_shows_init_containers_and_the_jobs_failing_container() {
    let wait_log = "waiting for db:5432 (connection refused); retrying\ngave up after 300s: db:5432 unreachable\n";
    let scenario = Scenario::new()
        .pods(
            Pods::of("Job")
                .with_image(":nodb")
                .init_fails(1)
                .log("wait-for-database", wait_log),
        )
        .pods(
            Pods::of("Deployment")
                .with_image(":nodb")
                .stuck_in_init()
                .log("wait-for-database", "waiting for migrations (2 pending)\n"),
        );
    let bed = bed("init-diagnosis", scenario);
    seed_release(&bed, "test", "good");
    let (code, _, stderr) = deploy_tag(&bed, "nodb", &[]);
    assert_eq!(code, Some(4), "{stderr}");
    assert_contains_all(
        &stderr,
        &[
            "the migration Job api-migrate-2 failed (BackoffLimitExceeded",
            "last log lines of wait-for-database in api-migrate-2-",
            "| gave up after 300s: db:5432 unreachable",
            "init container wait-for-database: running: has not finished",
            "container api: PodInitializing",
            "| waiting for migrations (2 pending)",
        ],
    );
    assert!(
        !stderr.contains("is waiting to start"),
        "no log is asked of a container that never started:\n{stderr}"
    );
}

#[test]
fn scheduler_warnings_show_their_repeat_count() {
    let scenario = Scenario::new().pods(Pods::of("Deployment").with_image(":huge").unschedulable());
    let bed = bed("unschedulable", scenario);
    seed_release(&bed, "test", "good");
    let (code, _, stderr) = deploy_tag(&bed, "huge", &["--timeout", "2s"]);
    assert_eq!(code, Some(4), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("event FailedScheduling"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        line.contains("0/1 nodes are available: 1 Insufficient memory") && line.contains("(x"),
        "{line}"
    );
}

#[test]
fn an_upgrade_that_hangs_is_stopped_at_the_deploy_timeout() {
    let scenario = Scenario::new().delay("patch", "deployments", Duration::from_secs(4));
    let bed = bed("hung-helm", scenario);
    bed.overlay(
        "test",
        "protected: false\ncreateNamespace: true\nonFailedInstall: uninstall\n",
    );
    let deploy = bed.root.join("overlays/test/deploy.yaml");
    let text = std::fs::read_to_string(&deploy)
        .unwrap()
        .replace("deploy: 1m", "deploy: 2s");
    std::fs::write(&deploy, text).unwrap();
    bed.commit();
    let started = std::time::Instant::now();
    let (code, _, stderr) = deploy_tag(&bed, "first", &[]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("helm upgrade did not finish within 2s"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}
