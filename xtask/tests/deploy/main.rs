//! `cargo xtask deploy` against stand-in helm and kubectl (no cluster exists here): call
//! order and flags, refusals that change nothing, diagnoses, rollbacks, exit codes and the
//! deploy record. The smoke step runs for real against the api through the stand-in
//! port-forward; `--dry-run` runs the real helm on the real chart.
#![allow(clippy::unwrap_used)]

mod image;
mod real_api;
mod standin;

use real_api::RealApi;
use serde_json::{Value, json};
use standin::Cluster;

const TAG: &str = "abc123def456";
const NOT_FOUND: &str = "Error: release: not found";

fn history(entries: &[(u32, &str)]) -> String {
    let items: Vec<Value> = entries
        .iter()
        .map(|(revision, status)| json!({"revision": revision, "status": status, "chart": "api-platform-0.1.0", "app_version": "0.1.0", "description": ""}))
        .collect();
    serde_json::to_string(&items).unwrap()
}

fn deployments(desired: u64, updated: u64, ready: u64, total: u64) -> String {
    json!({"items": [{"metadata": {"name": "api", "generation": 2}, "spec": {"replicas": desired},
        "status": {"observedGeneration": 2, "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": ready, "replicas": total}}]})
    .to_string()
}

fn job(revision: u32, state: &str) -> String {
    let status = match state {
        "running" => json!({"active": 1}),
        "succeeded" => {
            json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})
        }
        _ => {
            json!({"failed": 3, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]})
        }
    };
    json!({"items": [{"metadata": {"name": format!("api-migrate-{revision}")}, "status": status}]})
        .to_string()
}

fn ready_pods() -> String {
    json!({"items": [{"metadata": {"name": "api-new-1"}, "status": {"phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "api", "ready": true, "restartCount": 0, "state": {"running": {}}}]}}]})
    .to_string()
}

fn events(object: &str, entries: &[(&str, &str)]) -> String {
    let items: Vec<Value> = entries
        .iter()
        .enumerate()
        .map(|(i, (reason, message))| {
            json!({"type": "Warning", "reason": reason, "message": message, "count": 3,
            "lastTimestamp": format!("2026-11-22T10:00:0{i}Z"), "involvedObject": {"name": object}})
        })
        .collect();
    json!({ "items": items }).to_string()
}

/// A cluster where every tool answers "all is well" unless a test adds earlier rules.
fn cluster(name: &str, context: &str) -> Cluster {
    let mut cluster = Cluster::new(name);
    cluster
        .rule("helm", "version*", &[("v4.1.4", 0)])
        .rule(
            "helm",
            "upgrade --install api *",
            &[("Release \"api\" has been upgraded. Happy Helming!\n", 0)],
        )
        .rule(
            "helm",
            "rollback api *",
            &[("Rollback was a success! Happy Helming!\n", 0)],
        )
        .rule(
            "helm",
            "uninstall api *",
            &[("release \"api\" uninstalled\n", 0)],
        )
        .rule(
            "kubectl",
            "version*",
            &[("Client Version: v1.35.2\nKustomize Version: v5.7.1\n", 0)],
        )
        .rule(
            "kubectl",
            "config current-context",
            &[(&format!("{context}\n"), 0)],
        )
        .rule("docker", "build *", &[("STEP 1/1: built\n", 0)])
        .rule(
            "docker",
            "push *",
            &[("Writing manifest to image destination\n", 0)],
        )
        .rule(
            "docker",
            "image inspect --format*",
            &[(&format!("localhost:5001/api@{DIGEST}\n"), 0)],
        )
        .rule("docker", "image inspect *", &[("[{}]", 0)]);
    cluster
}

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Rules for a release at revision 1 that this deploy takes to revision 2.
fn upgrade_history(cluster: &mut Cluster) {
    cluster.rule(
        "helm",
        "history api *",
        &[
            (&history(&[(1, "deployed")]), 0),
            (&history(&[(1, "superseded"), (2, "deployed")]), 0),
        ],
    );
}

fn healthy_rollout(cluster: &mut Cluster, revision: u32) {
    cluster
        .rule(
            "kubectl",
            "*get deployments*",
            &[(&deployments(1, 0, 0, 1), 0), (&deployments(1, 1, 1, 1), 0)],
        )
        .rule(
            "kubectl",
            "*get jobs*",
            &[
                (&job(revision, "running"), 0),
                (&job(revision, "succeeded"), 0),
            ],
        )
        .rule("kubectl", "*get pods*", &[(&ready_pods(), 0)])
        .rule("kubectl", "*get events*", &[("{\"items\": []}", 0)]);
}

/// A first install that goes well: no release yet, a healthy rollout, smoke tests through
/// the port-forward against `api`.
fn healthy_first_install(name: &str, api: &RealApi) -> Cluster {
    let mut cluster = cluster(name, "kind-test");
    cluster.rule(
        "helm",
        "history api *",
        &[(NOT_FOUND, 1), (&history(&[(1, "deployed")]), 0)],
    );
    healthy_rollout(&mut cluster, 1);
    cluster.forward_to(&api.address);
    cluster.commit();
    cluster
}

fn deploy(cluster: &Cluster, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec![
        "deploy",
        "test",
        "--tag",
        TAG,
        "--engine",
        "docker",
        "--poll-interval",
        "50ms",
    ];
    args.extend_from_slice(extra);
    let output = cluster.xtask(&args);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn position(calls: &[String], needle: &str) -> usize {
    calls
        .iter()
        .position(|c| c.contains(needle))
        .unwrap_or_else(|| panic!("no call containing {needle:?} in:\n{}", calls.join("\n")))
}

const MUTATING: [&str; 4] = [
    "helm upgrade",
    "helm rollback",
    "helm uninstall",
    "port-forward",
];

fn assert_nothing_changed(calls: &[String]) {
    for call in calls {
        assert!(
            !MUTATING
                .iter()
                .any(|m| call.starts_with(m) || call.contains(m)),
            "a refusal made a changing call: {call}"
        );
    }
}

#[test]
fn a_healthy_deploy_runs_every_step_in_order_and_records_it() {
    let api = RealApi::start(true);
    let cluster = healthy_first_install("healthy", &api);

    let (code, stdout, stderr) = deploy(&cluster, &["--output", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let calls = cluster.calls();
    let order = [
        "helm version",
        "kubectl config current-context",
        "helm history api",
        "docker image inspect localhost:5001/api:abc123def456",
        "helm upgrade --install api",
        "get deployments -l app.kubernetes.io/instance=api,app.kubernetes.io/component=api",
        "port-forward service/api",
    ];
    let positions: Vec<usize> = order.iter().map(|step| position(&calls, step)).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "calls out of order:\n{}",
        calls.join("\n")
    );

    let upgrade = &calls[position(&calls, "helm upgrade")];
    for flag in [
        "--namespace api-test",
        "--kube-context kind-test",
        "--create-namespace",
        "--timeout 1m",
        "--values ",
    ] {
        assert!(upgrade.contains(flag), "{flag} missing: {upgrade}");
    }
    for flag in ["--wait", "--atomic", "--rollback-on-failure"] {
        assert!(
            !upgrade.contains(flag),
            "xtask watches and rolls back itself, not helm: {upgrade}"
        );
    }
    for call in &calls {
        if call.starts_with("kubectl")
            && !call.contains("version")
            && !call.contains("current-context")
        {
            assert!(
                call.contains("--context kind-test --namespace api-test"),
                "{call}"
            );
        }
    }
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("helm rollback") || c.starts_with("helm uninstall"))
    );

    assert!(stderr.contains("1/1 ready"), "{stderr}");
    assert!(
        stderr.contains("user round trip") && stderr.contains("4 passed, 0 failed"),
        "{stderr}"
    );
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    let record = cluster.last_record("test");
    assert_eq!(printed, record);
    assert_eq!(record["outcome"], "succeeded");
    assert_eq!(record["revision"], 1);
    assert_eq!(record["image"], "localhost:5001/api:abc123def456");
    assert_eq!(record["kube_context"], "kind-test");
    let steps: Vec<&str> = record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["preflight", "render", "helm upgrade", "rollout", "smoke"]
    );
    assert_eq!(
        record["git_revision"].as_str().unwrap().len(),
        40,
        "a clean tree's full revision"
    );
}

#[test]
fn the_wrong_kube_context_is_refused_before_anything_changes() {
    let mut cluster = cluster("context", "prod-cluster");
    cluster.rule("helm", "history api *", &[(NOT_FOUND, 1)]);
    cluster.commit();
    let (code, _, stderr) = deploy(&cluster, &[]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("'prod-cluster'") && stderr.contains("'kind-test'"),
        "{stderr}"
    );
    let calls = cluster.calls();
    assert_nothing_changed(&calls);
    assert!(
        !calls.iter().any(|c| c.starts_with("helm history")),
        "the wrong cluster is not even asked"
    );
    assert_eq!(cluster.last_record("test")["outcome"], "preflight_refused");
}

#[test]
fn a_release_stuck_in_pending_is_refused_with_the_fix() {
    let mut cluster = cluster("pending", "kind-test");
    cluster.rule(
        "helm",
        "history api *",
        &[(&history(&[(1, "deployed"), (2, "pending-upgrade")]), 0)],
    );
    cluster.commit();
    let (code, _, stderr) = deploy(&cluster, &[]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("pending-upgrade")
            && stderr.contains("cargo xtask rollback test")
            && stderr.contains("revision 1"),
        "{stderr}"
    );
    assert_nothing_changed(&cluster.calls());
}

#[test]
fn protected_environments_need_a_tag_a_clean_tree_and_a_confirmation() {
    let api = RealApi::start(true);
    let mut cluster = cluster("protected", "kind-test");
    cluster.rule(
        "helm",
        "history api *",
        &[
            (NOT_FOUND, 1),
            (NOT_FOUND, 1),
            (NOT_FOUND, 1),
            (NOT_FOUND, 1),
            (&history(&[(1, "deployed")]), 0),
        ],
    );
    healthy_rollout(&mut cluster, 1);
    cluster.forward_to(&api.address);
    cluster.commit();
    let run = |args: &[&str]| {
        let mut all = vec![
            "deploy",
            "guarded",
            "--engine",
            "docker",
            "--poll-interval",
            "50ms",
        ];
        all.extend_from_slice(args);
        let output = cluster.xtask(&all);
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let (code, stderr) = run(&["--yes"]);
    assert_eq!(code, Some(3));
    assert!(
        stderr.contains("guarded is protected: name the image with --tag"),
        "{stderr}"
    );
    let (code, stderr) = run(&["--yes", "--tag", "latest"]);
    assert_eq!(code, Some(3));
    assert!(stderr.contains("moves"), "{stderr}");
    let (code, stderr) = run(&["--tag", TAG]);
    assert_eq!(code, Some(3));
    assert!(
        stderr.contains("no terminal to confirm on; pass --yes"),
        "{stderr}"
    );
    std::fs::write(
        cluster.root.join("overlays/guarded/values.yaml.j2"),
        "# edited\n",
    )
    .unwrap();
    let (code, stderr) = run(&["--yes", "--tag", TAG]);
    assert_eq!(code, Some(3));
    assert!(stderr.contains("uncommitted changes"), "{stderr}");
    assert_nothing_changed(&cluster.calls());

    std::process::Command::new("git")
        .args(["checkout", "-q", "--", "."])
        .current_dir(&cluster.root)
        .status()
        .unwrap();
    let (code, stderr) = run(&["--yes", "--tag", TAG]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn a_crash_looping_pod_is_diagnosed_before_the_rollback() {
    let mut cluster = cluster("crashloop", "kind-test");
    upgrade_history(&mut cluster);
    let pods = json!({"items": [{"metadata": {"name": "api-new-1"}, "status": {"phase": "Running",
        "conditions": [{"type": "Ready", "status": "False"}],
        "containerStatuses": [{"name": "api", "ready": false, "restartCount": 4,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container=api"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}}]});
    cluster
        .rule("kubectl", "*get deployments*", &[(&deployments(1, 1, 0, 2), 0)])
        .rule("kubectl", "*get jobs*", &[(&job(2, "succeeded"), 0)])
        .rule("kubectl", "*get pods*", &[(&pods.to_string(), 0)])
        .rule("kubectl", "*get events*", &[(&events("api-new-1", &[("BackOff", "Back-off restarting failed container api")]), 0)])
        .rule("kubectl", "*logs api-new-1 --container api --tail 20 --previous", &[("{\"level\":\"INFO\",\"message\":\"listening\"}\nmemory allocation of 1073741824 bytes failed\n", 0)]);
    cluster.commit();

    let (code, _, stderr) = deploy(&cluster, &[]);
    assert_eq!(code, Some(4), "{stderr}");
    for expected in [
        "diagnosis: CrashLoopBackOff (last exit: OOMKilled) in pod api-new-1 (api)",
        "pod api-new-1 (Running)",
        "container api: CrashLoopBackOff (last exit: OOMKilled): back-off 40s",
        "event BackOff: Back-off restarting failed container api (x3)",
        "| memory allocation of 1073741824 bytes failed",
        "rolled back to revision 1",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    let calls = cluster.calls();
    assert!(
        position(&calls, "logs api-new-1") < position(&calls, "helm rollback"),
        "evidence first, then rollback"
    );
    let rollback = &calls[position(&calls, "helm rollback")];
    assert_eq!(
        rollback,
        "helm rollback api 1 --namespace api-test --kube-context kind-test --wait=watcher --timeout 20s"
    );
    let record = cluster.last_record("test");
    assert_eq!(record["outcome"], "deploy_failed");
    assert_eq!(record["recovery"], "rolled back to revision 1");
    assert_eq!(record["revision"], 2);
}

#[test]
fn a_rollout_stuck_on_readiness_times_out_with_the_probe_failures() {
    let mut cluster = cluster("stuck", "kind-test");
    upgrade_history(&mut cluster);
    let pods = json!({"items": [{"metadata": {"name": "api-new-1"}, "status": {"phase": "Running",
        "conditions": [{"type": "Ready", "status": "False"}],
        "containerStatuses": [{"name": "api", "ready": false, "restartCount": 0, "state": {"running": {}}}]}}]});
    cluster
        .rule(
            "kubectl",
            "*get deployments*",
            &[(&deployments(1, 1, 0, 2), 0)],
        )
        .rule("kubectl", "*get jobs*", &[(&job(2, "succeeded"), 0)])
        .rule("kubectl", "*get pods*", &[(&pods.to_string(), 0)])
        .rule(
            "kubectl",
            "*get events*",
            &[(
                &events(
                    "api-new-1",
                    &[(
                        "Unhealthy",
                        "Readiness probe failed: HTTP probe failed with statuscode: 503",
                    )],
                ),
                0,
            )],
        )
        .rule(
            "kubectl",
            "*logs api-new-1*",
            &[(
                "{\"level\":\"WARN\",\"message\":\"request\",\"status\":503}\n",
                0,
            )],
        );
    cluster.commit();

    let (code, _, stderr) = deploy(&cluster, &["--timeout", "1s"]);
    assert_eq!(code, Some(4), "{stderr}");
    for expected in [
        "the rollout did not complete within 1s",
        "0/1 ready, 1/1 updated",
        "container api: not ready: running but failing its readiness probe",
        "event Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503",
        "rolled back to revision 1",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}

#[test]
fn a_failed_migration_prints_its_log_and_rolls_back() {
    let mut cluster = cluster("migration", "kind-test");
    upgrade_history(&mut cluster);
    cluster
        .rule("kubectl", "*get deployments*", &[(&deployments(1, 1, 0, 2), 0)])
        .rule("kubectl", "*get jobs*", &[(&job(2, "failed"), 0)])
        .rule("kubectl", "*get pods*", &[(&ready_pods(), 0)])
        .rule("kubectl", "*get events*", &[("{\"items\": []}", 0)])
        .rule("kubectl", "*logs job/api-migrate-2 --container migrate --tail 30", &[("api: error: migrating db:5432/api: database error: column \"email\" contains null values\n", 0)]);
    cluster.commit();

    let (code, _, stderr) = deploy(&cluster, &[]);
    assert_eq!(code, Some(4), "{stderr}");
    for expected in [
        "the migration Job api-migrate-2 failed (BackoffLimitExceeded",
        "| api: error: migrating db:5432/api: database error: column \"email\" contains null values",
        "rolled back to revision 1",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}

#[test]
fn a_failed_first_install_is_uninstalled_when_the_overlay_says_so() {
    let mut cluster = cluster("first-install", "kind-test");
    let pods = json!({"items": [{"metadata": {"name": "api-new-1"}, "status": {"phase": "Pending",
        "containerStatuses": [{"name": "api", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"localhost:5001/api:abc123def456\""}}}]}}]});
    cluster
        .rule(
            "helm",
            "history api *",
            &[(NOT_FOUND, 1), (&history(&[(1, "deployed")]), 0)],
        )
        .rule(
            "kubectl",
            "*get deployments*",
            &[(&deployments(1, 1, 0, 1), 0)],
        )
        .rule("kubectl", "*get jobs*", &[(&job(1, "succeeded"), 0)])
        .rule("kubectl", "*get pods*", &[(&pods.to_string(), 0)])
        .rule(
            "kubectl",
            "*get events*",
            &[(
                &events(
                    "api-new-1",
                    &[("Failed", "Failed to pull image: not found")],
                ),
                0,
            )],
        );
    cluster.commit();

    let (code, _, stderr) = deploy(&cluster, &[]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("ImagePullBackOff in pod api-new-1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("event Failed: Failed to pull image: not found"),
        "{stderr}"
    );
    assert!(
        stderr.contains("uninstalled the failed first install"),
        "{stderr}"
    );
    let calls = cluster.calls();
    assert_eq!(
        calls[position(&calls, "helm uninstall")],
        "helm uninstall api --namespace api-test --kube-context kind-test"
    );
    assert!(
        !calls.iter().any(|c| c.contains("logs api-new-1")),
        "no log to read from an image that never ran"
    );
}

#[test]
fn a_smoke_failure_rolls_back_and_exits_5() {
    let unmigrated = RealApi::start(false);
    let mut cluster = cluster("smoke", "kind-test");
    upgrade_history(&mut cluster);
    healthy_rollout(&mut cluster, 2);
    cluster.forward_to(&unmigrated.address);
    cluster.commit();

    let (code, _, stderr) = deploy(&cluster, &[]);
    assert_eq!(code, Some(5), "{stderr}");
    let db_check = stderr
        .lines()
        .find(|l| l.contains("database check"))
        .unwrap_or_default();
    assert!(
        db_check.contains("FAIL") && db_check.contains("api migrate"),
        "{stderr}"
    );
    assert!(stderr.contains("rolled back to revision 1"), "{stderr}");
    let calls = cluster.calls();
    assert!(position(&calls, "port-forward") < position(&calls, "helm rollback"));
    assert_eq!(cluster.last_record("test")["outcome"], "smoke_failed");
}

#[test]
fn a_dry_run_uses_the_real_helm_and_changes_nothing() {
    let mut cluster = cluster("dry-run", "kind-test");
    cluster.real_helm();
    cluster.commit();
    let (code, _, stderr) = deploy(&cluster, &["--dry-run"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("cannot reach the cluster") && stderr.contains("client-side"),
        "{stderr}"
    );
    assert!(
        stderr.contains("dry run ok:") && stderr.contains("nothing was applied"),
        "{stderr}"
    );
    let calls = cluster.calls();
    assert!(
        calls
            .iter()
            .all(|c| !c.contains(" get ") && !c.contains("port-forward")),
        "{calls:?}"
    );
    assert_eq!(cluster.last_record("test")["outcome"], "dry_run_ok");
    let values =
        std::fs::read_to_string(cluster.root.join("target/deploy/test/values.yaml")).unwrap();
    assert!(values.contains("tag: \"abc123def456\""), "{values}");
}

#[test]
fn rollback_recovers_a_release_stuck_in_pending_upgrade() {
    let mut cluster = cluster("rollback", "kind-test");
    cluster.rule(
        "helm",
        "history api *",
        &[(
            &history(&[(1, "superseded"), (2, "deployed"), (3, "pending-upgrade")]),
            0,
        )],
    );
    cluster.commit();
    let output = cluster.xtask(&["rollback", "test"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("from revision 3 (pending-upgrade) to 2"),
        "{stderr}"
    );
    let calls = cluster.calls();
    assert_eq!(
        calls[position(&calls, "helm rollback")],
        "helm rollback api 2 --namespace api-test --kube-context kind-test --wait=watcher --timeout 20s"
    );

    let output = cluster.xtask(&["rollback", "test", "--revision", "9"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("revision 9 is not in the release history")
    );
}

#[test]
fn rollback_of_a_protected_environment_needs_a_confirmation_and_the_right_context() {
    let mut cluster = cluster("rollback-guarded", "kind-test");
    cluster.rule(
        "helm",
        "history api *",
        &[(&history(&[(1, "superseded"), (2, "deployed")]), 0)],
    );
    cluster.commit();
    let output = cluster.xtask(&["rollback", "guarded"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("pass --yes"));
    assert_nothing_changed(&cluster.calls());
    let output = cluster.xtask(&["rollback", "guarded", "--yes"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut elsewhere = self::cluster("rollback-context", "other");
    elsewhere.rule(
        "helm",
        "history api *",
        &[(&history(&[(1, "superseded"), (2, "deployed")]), 0)],
    );
    elsewhere.commit();
    let output = elsewhere.xtask(&["rollback", "test"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("'other'"));
    assert_nothing_changed(&elsewhere.calls());
}

#[test]
fn status_reports_revision_image_and_pods() {
    let mut cluster = cluster("status", "kind-test");
    let deployment = json!({"items": [{"metadata": {"name": "api"}, "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "api", "image": "localhost:5001/api:abc123def456"}]}}},
        "status": {"readyReplicas": 2}}]});
    cluster
        .rule(
            "helm",
            "history api *",
            &[(&history(&[(1, "superseded"), (2, "deployed")]), 0)],
        )
        .rule(
            "kubectl",
            "*get deployments*",
            &[(&deployment.to_string(), 0)],
        );
    cluster.commit();
    let output = cluster.xtask(&["status", "test", "--output", "json"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["revision"], 2);
    assert_eq!(status["release_status"], "deployed");
    assert_eq!(status["images"][0], "localhost:5001/api:abc123def456");
    assert_eq!(
        (
            status["pods_ready"].as_u64(),
            status["pods_desired"].as_u64()
        ),
        (Some(2), Some(3))
    );
    let calls = cluster.calls();
    assert!(
        calls[position(&calls, "get deployments")]
            .contains("--context kind-test --namespace api-test")
    );
}

#[test]
fn xtask_smoke_runs_the_suite_against_a_url() {
    let api = RealApi::start(true);
    let cluster = Cluster::new("smoke-command");
    let output = cluster.xtask(&["smoke", "--url", &format!("http://{}", api.address)]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for check in [
        "liveness",
        "readiness",
        "database check",
        "user round trip",
        "4 passed, 0 failed",
    ] {
        assert!(stdout.contains(check), "{stdout}");
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    drop(std::net::TcpListener::bind(closed));
    let output = cluster.xtask(&[
        "smoke",
        "--url",
        &format!("http://{closed}"),
        "--ready-timeout",
        "1s",
        "--output",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["passed"], false);
}

#[test]
fn ctrl_c_while_watching_stops_cleanly_without_touching_the_release() {
    let mut cluster = cluster("interrupt", "kind-test");
    upgrade_history(&mut cluster);
    cluster
        .rule(
            "kubectl",
            "*get deployments*",
            &[(&deployments(1, 1, 0, 2), 0)],
        )
        .rule("kubectl", "*get jobs*", &[(&job(2, "running"), 0)])
        .rule("kubectl", "*get pods*", &[(&ready_pods(), 0)]);
    cluster.commit();
    let child = cluster
        .command(&[
            "deploy",
            "test",
            "--tag",
            TAG,
            "--engine",
            "docker",
            "--poll-interval",
            "50ms",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !cluster
        .calls()
        .iter()
        .any(|c| c.contains("get deployments"))
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the rollout watch never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("revision 2 stays applied") && stderr.contains("cargo xtask status test"),
        "{stderr}"
    );
    let calls = cluster.calls();
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("helm rollback") || c.starts_with("helm uninstall")),
        "{calls:?}"
    );
    assert_eq!(cluster.last_record("test")["outcome"], "interrupted");
}

#[test]
fn build_labels_tags_with_the_revision_and_pushes_with_a_digest() {
    let cluster = cluster("build", "kind-test");
    cluster.commit();
    let binary = cluster.root.join("Cargo-built-api");
    std::fs::write(&binary, "not really a binary").unwrap();
    std::fs::write(
        cluster.root.join(".gitignore"),
        "/target\n/.tools\n/standin\n/Cargo-built-api\n",
    )
    .unwrap();
    std::process::Command::new("git")
        .args([
            "-c",
            "user.email=t@e",
            "-c",
            "user.name=t",
            "commit",
            "-qam",
            "ignore",
        ])
        .current_dir(&cluster.root)
        .status()
        .unwrap();
    let revision = String::from_utf8(
        std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(&cluster.root)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();

    let output = cluster.xtask(&[
        "build",
        "--engine",
        "docker",
        "--repository",
        "localhost:5001/api",
        "--push",
        "--binary",
        binary.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("localhost:5001/api@{DIGEST}")
    );
    let calls = cluster.calls();
    let build = &calls[position(&calls, "docker build")];
    for expected in [
        "--target runtime --build-arg BINARY_SOURCE=prebuilt",
        &format!("--label org.opencontainers.image.revision={revision}"),
        "--label org.opencontainers.image.version=0.1.0",
        "--label org.opencontainers.image.created=20",
        &format!("--tag localhost:5001/api:{}", &revision[..12]),
    ] {
        assert!(build.contains(expected), "{expected} missing: {build}");
    }
    assert!(position(&calls, "docker build") < position(&calls, "docker push"));
    assert_eq!(
        std::fs::read_to_string(cluster.root.join("target/image/api")).unwrap(),
        "not really a binary"
    );
    assert!(
        cluster
            .root
            .join("target/image/ca-certificates.crt")
            .is_file()
    );

    std::fs::write(
        cluster.root.join("overlays/test/values.yaml.j2"),
        "# edited\n",
    )
    .unwrap();
    let output = cluster.xtask(&[
        "build",
        "--engine",
        "docker",
        "--push",
        "--binary",
        binary.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--allow-dirty"));
    assert_eq!(
        cluster
            .calls()
            .iter()
            .filter(|c| c.starts_with("docker build"))
            .count(),
        1,
        "no second build"
    );
}

#[test]
fn deploy_build_pushes_first_and_deploys_by_digest() {
    let api = RealApi::start(true);
    let cluster = healthy_first_install("deploy-build", &api);
    let binary = std::env::current_exe().unwrap();
    let output = cluster.xtask(&[
        "deploy",
        "test",
        "--build",
        "--binary",
        binary.to_str().unwrap(),
        "--engine",
        "docker",
        "--poll-interval",
        "50ms",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let calls = cluster.calls();
    assert!(position(&calls, "docker push") < position(&calls, "helm upgrade"));
    let values =
        std::fs::read_to_string(cluster.root.join("target/deploy/test/values.yaml")).unwrap();
    assert!(
        values.contains(&format!("digest: \"{DIGEST}\"")),
        "{values}"
    );
    assert_eq!(
        cluster.last_record("test")["image"],
        format!("localhost:5001/api@{DIGEST}")
    );
}

#[test]
fn cluster_up_creates_only_when_absent_and_load_side_loads_the_image() {
    let mut cluster = Cluster::new("kind");
    cluster
        .rule("kind", "get clusters", &[("", 0), ("api-dev\n", 0)])
        .rule(
            "kind",
            "create cluster *",
            &[("Creating cluster \"api-dev\" ...\n", 0)],
        )
        .rule("kind", "load image-archive *", &[("", 0)])
        .rule(
            "kind",
            "delete cluster *",
            &[("Deleting cluster \"api-dev\" ...\n", 0)],
        )
        .rule("podman", "--version", &[("podman version 4.3.1\n", 0)])
        .rule("podman", "save *", &[("", 0)]);
    cluster.commit();
    let revision = String::from_utf8(
        std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(&cluster.root)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();

    let first = cluster.xtask(&["cluster", "up"]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = cluster.xtask(&["cluster", "up"]);
    assert!(String::from_utf8_lossy(&second.stderr).contains("exists already"));
    let load = cluster.xtask(&["cluster", "load", "--engine", "podman"]);
    assert_eq!(
        load.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
    let down = cluster.xtask(&["cluster", "down"]);
    assert_eq!(down.status.code(), Some(0));

    let calls = cluster.calls();
    let creates: Vec<&String> = calls
        .iter()
        .filter(|c| c.starts_with("kind create"))
        .collect();
    assert_eq!(creates.len(), 1, "created once: {calls:?}");
    let config = cluster.root.join("overlays/dev/kind-cluster.yaml");
    assert_eq!(
        creates[0],
        &format!(
            "kind create cluster --name api-dev --wait 120s --config {}",
            config.display()
        )
    );
    let archive = cluster.root.join("target/image/kind-load.tar");
    let image = format!("localhost:5001/api:{}", &revision.trim()[..12]);
    assert!(
        calls.contains(&format!(
            "podman save --output {} {image}",
            archive.display()
        )),
        "{calls:?}"
    );
    assert!(
        calls.contains(&format!(
            "kind load image-archive {} --name api-dev",
            archive.display()
        )),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"kind delete cluster --name api-dev".to_owned()),
        "{calls:?}"
    );
}
