//! `cargo xtask deploy`, `rollback` and `status` against a Kubernetes API test server,
//! through the real helm and kubectl (no cluster exists here; the server plays the
//! cluster's controllers as each test scripts them). The tests assert on what xtask
//! printed and recorded, on the commands it ran, and on what the server holds
//! afterwards: objects, Helm's stored revisions, and the requests it received. The
//! smoke step runs for real against the api through a port-forward stand-in.
#![allow(clippy::unwrap_used)]

mod chart_upgrades;
mod image;
mod interrupts;
mod lock;
mod namespaces;
mod real_api;
mod recovery;
mod rollout_watch;
mod testbed;

use kube_test_server::{Pods, Scenario, TestServer};
use real_api::RealApi;
use serde_json::Value;
use testbed::TestBed;

const TAG: &str = "abc123def456";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// `cargo xtask deploy <env> <args>` with the docker stand-in and a quick poll.
fn xtask_deploy(bed: &TestBed, env: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec![
        "deploy",
        env,
        "--engine",
        "docker",
        "--poll-interval",
        "50ms",
    ];
    all.extend_from_slice(args);
    bed.xtask(&all)
}

fn deploy_tag(bed: &TestBed, tag: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["--tag", tag];
    args.extend_from_slice(extra);
    let output = xtask_deploy(bed, "test", &args);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn deploy(bed: &TestBed, extra: &[&str]) -> (Option<i32>, String, String) {
    deploy_tag(bed, TAG, extra)
}

/// A test bed with a committed tree and an image that exists.
fn bed(name: &str, scenario: Scenario) -> TestBed {
    let mut bed = TestBed::new(name, scenario);
    bed.image_exists();
    bed.commit();
    bed
}

/// Installs `tag` into `api-<env>` as Helm would for a deploy (values rendered by
/// xtask, `helm upgrade --install`), and waits until its rollout is done: a healthy
/// release to deploy over.
fn seed_release(bed: &TestBed, env: &str, tag: &str) {
    seed_release_unready(bed, env, tag);
    let namespace = format!("api-{env}");
    bed.wait_for("the seeded rollout", |server| {
        rollout_done(server, &namespace)
    });
}

/// Installs `tag` as `seed_release` does, without waiting for its rollout.
fn seed_release_unready(bed: &TestBed, env: &str, tag: &str) {
    let render = bed.xtask(&["render", env, "--tag", tag]);
    assert!(
        render.status.success(),
        "{}",
        String::from_utf8_lossy(&render.stderr)
    );
    let values = bed.root.join("target/deploy").join(env).join("values.yaml");
    let chart = bed.root.join("charts/api-platform");
    let namespace = format!("api-{env}");
    let install = bed.tool(
        "helm",
        &[
            "upgrade",
            "--install",
            "api",
            chart.to_str().unwrap(),
            "--namespace",
            &namespace,
            "--kube-context",
            "kind-test",
            "--values",
            values.to_str().unwrap(),
            "--create-namespace",
        ],
    );
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
}

/// Starts `deploy test --tag <tag>` in the background. Its rollout timeout is long, so
/// a watch that is meant to be interrupted does not end by itself on a slow machine.
fn start_deploy(bed: &TestBed, tag: &str) -> std::process::Child {
    bed.command(&[
        "deploy",
        "test",
        "--tag",
        tag,
        "--engine",
        "docker",
        "--poll-interval",
        "50ms",
        "--timeout",
        "5m",
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap()
}

/// The rollout watch's read of the Deployment (the drift check reads several kinds).
const WATCHING: &str = "get deployments -l";

/// Sends SIGINT to a background deploy; its exit code and stderr.
fn interrupt(child: std::process::Child) -> (Option<i32>, String) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Deploys `tag`, interrupts it while it watches the rollout, and checks it exits 130.
fn interrupt_while_watching(bed: &TestBed, tag: &str) -> String {
    let earlier = bed.calls().len();
    let child = start_deploy(bed, tag);
    bed.wait_for_call(earlier, WATCHING);
    let (code, stderr) = interrupt(child);
    assert_eq!(code, Some(130), "{stderr}");
    stderr
}

fn rollout_done(server: &TestServer, namespace: &str) -> bool {
    server
        .get("apps/v1", "Deployment", namespace, "api")
        .is_some_and(|d| {
            let status = &d["status"];
            status["observedGeneration"] == d["metadata"]["generation"]
                && status["updatedReplicas"] == d["spec"]["replicas"]
                && status["availableReplicas"] == d["spec"]["replicas"]
                && status["replicas"] == d["spec"]["replicas"]
        })
}

fn position(calls: &[String], needle: &str) -> usize {
    calls
        .iter()
        .position(|c| c.contains(needle))
        .unwrap_or_else(|| panic!("no call containing {needle:?} in:\n{}", calls.join("\n")))
}

/// How many writes (anything but GET) the server has served.
fn writes(server: &TestServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .count()
}

fn assert_contains_all(text: &str, expected: &[&str]) {
    for e in expected {
        assert!(text.contains(e), "missing {e:?} in:\n{text}");
    }
}

fn revisions(bed: &TestBed) -> Vec<(u64, String)> {
    bed.revisions("test")
        .into_iter()
        .map(|(r, s, _)| (r, s))
        .collect()
}

#[test]
fn a_healthy_deploy_runs_every_step_in_order_and_records_it() {
    let api = RealApi::start(true);
    let mut bed = TestBed::new("healthy", Scenario::new());
    bed.image_exists().forward_to(&api.address);
    bed.commit();

    let (code, stdout, stderr) = deploy(&bed, &["--output", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let calls = bed.calls();
    let order = [
        "helm version",
        "kubectl config current-context",
        "helm history api",
        "docker image inspect localhost:5001/api:abc123def456",
        "helm upgrade --install api",
        "get deployments -l app.kubernetes.io/instance=api",
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
    for call in calls.iter().filter(|c| {
        c.starts_with("kubectl")
            && !c.contains("current-context")
            && !c.contains("version --client")
    }) {
        assert!(
            call.contains("--context kind-test --namespace api-test"),
            "{call}"
        );
    }
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("helm rollback") || c.starts_with("helm uninstall"))
    );
    assert_contains_all(
        &stderr,
        &[
            "1/1 ready",
            "worker 1/1 ready",
            "web app",
            "user round trip",
            "banking round trip",
            "notified after",
            "6 passed, 0 failed",
        ],
    );

    // What the server holds: Helm's revision, the applied objects, a finished migration.
    assert_eq!(revisions(&bed), [(1, "deployed".to_owned())]);
    assert_eq!(
        bed.deployed_image("test"),
        format!("localhost:5001/api:{TAG}")
    );
    let job = bed
        .server
        .get("batch/v1", "Job", "api-test", "api-migrate-1")
        .unwrap();
    assert_eq!(job["status"]["succeeded"], 1);
    // helm's own writes and kubectl's reads, as the request log shows them.
    let log = bed.server.request_log();
    assert_contains_all(
        &log,
        &[
            "POST /api/v1/namespaces/api-test/secrets 201 [application/vnd.kubernetes.protobuf] (Helm/4.1.4)",
            "PATCH /apis/apps/v1/namespaces/api-test/deployments/api?fieldManager=helm&fieldValidation=Strict&force=false 200 [application/apply-patch+yaml] (Helm/4.1.4)",
            "PATCH /apis/batch/v1/namespaces/api-test/jobs/api-migrate-1?fieldManager=helm",
            "GET /apis/apps/v1/namespaces/api-test/deployments?labelSelector=app.kubernetes.io%2Finstance%3Dapi&limit=500&timeout=30s 200 (kubectl/v1.35.2",
        ],
    );

    let printed: Value = serde_json::from_str(&stdout).unwrap();
    let record = bed.last_record("test");
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
        [
            "preflight",
            "lock",
            "render",
            "helm upgrade",
            "rollout",
            "smoke"
        ]
    );
    assert_eq!(
        record["git_revision"].as_str().unwrap().len(),
        40,
        "a clean tree's full revision"
    );
}

#[test]
fn the_wrong_kube_context_is_refused_before_anything_changes() {
    let mut bed =
        TestBed::with_contexts("context", Scenario::new(), &["prod-cluster", "kind-test"]);
    bed.image_exists();
    bed.commit();
    let (code, _, stderr) = deploy(&bed, &[]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("'prod-cluster'") && stderr.contains("'kind-test'"),
        "{stderr}"
    );
    let calls = bed.calls();
    assert!(
        !calls.iter().any(|c| c.starts_with("helm history")),
        "the wrong cluster is not even asked"
    );
    assert_eq!(writes(&bed.server), 0, "{}", bed.server.request_log());
    assert_eq!(bed.last_record("test")["outcome"], "preflight_refused");
}

/// A release whose last revision Helm left `pending-upgrade` (a helm killed mid-upgrade).
fn leave_pending(bed: &TestBed) -> u64 {
    let last = bed.server.helm_releases("api-test", "api").pop().unwrap();
    let mut pending = last.clone();
    let revision = last["version"].as_u64().unwrap() + 1;
    pending["version"] = revision.into();
    pending["info"]["status"] = "pending-upgrade".into();
    pending["info"]["description"] = "Preparing upgrade".into();
    bed.server.store_helm_release(&pending).unwrap();
    revision
}

#[test]
fn a_release_stuck_in_pending_is_refused_with_the_fix() {
    let bed = bed("pending", Scenario::new());
    seed_release(&bed, "test", "good");
    leave_pending(&bed);
    let before = writes(&bed.server);
    let (code, _, stderr) = deploy(&bed, &[]);
    assert_eq!(code, Some(3), "{stderr}");
    assert_contains_all(
        &stderr,
        &["pending-upgrade", "cargo xtask rollback test", "revision 1"],
    );
    assert_eq!(writes(&bed.server), before, "a refusal writes nothing");
}

#[test]
fn protected_environments_need_a_tag_a_clean_tree_and_a_confirmation() {
    let api = RealApi::start(true);
    let mut bed = TestBed::new("protected", Scenario::new());
    bed.image_exists().forward_to(&api.address);
    bed.commit();
    let run = |args: &[&str]| {
        let output = xtask_deploy(&bed, "guarded", args);
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
        bed.root.join("overlays/guarded/values.yaml.j2"),
        "# edited\n",
    )
    .unwrap();
    let (code, stderr) = run(&["--yes", "--tag", TAG]);
    assert_eq!(code, Some(3));
    assert!(stderr.contains("uncommitted changes"), "{stderr}");
    assert_eq!(writes(&bed.server), 0, "refusals write nothing");

    std::process::Command::new("git")
        .args(["checkout", "-q", "--", "."])
        .current_dir(&bed.root)
        .status()
        .unwrap();
    let (code, stderr) = run(&["--yes", "--tag", TAG]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(bed.revisions("guarded").len(), 1);
}

#[test]
fn a_crash_looping_pod_is_diagnosed_before_the_rollback() {
    let scenario = Scenario::new().pods(
        Pods::of("Deployment")
            .with_image(":crashing")
            .crash_loop("OOMKilled", 137)
            .log("api", "{\"level\":\"INFO\",\"message\":\"listening\"}\nmemory allocation of 1073741824 bytes failed\n"),
    );
    let bed = bed("crashloop", scenario);
    seed_release(&bed, "test", "good");

    let (code, _, stderr) = deploy_tag(&bed, "crashing", &[]);
    assert_eq!(code, Some(4), "{stderr}");
    assert_contains_all(
        &stderr,
        &[
            "diagnosis: CrashLoopBackOff (last exit: OOMKilled) in pod api-",
            "container api: CrashLoopBackOff (last exit: OOMKilled): back-off",
            "event BackOff: Back-off restarting failed container api in pod api-",
            "| memory allocation of 1073741824 bytes failed",
            "rolled back to revision 1",
        ],
    );
    let calls = bed.calls();
    assert!(
        position(&calls, "--previous") < position(&calls, "helm rollback"),
        "evidence first, then rollback"
    );
    assert_eq!(
        calls[position(&calls, "helm rollback")],
        "helm rollback api 1 --namespace api-test --kube-context kind-test --wait=watcher --force-conflicts --timeout 20s"
    );
    let record = bed.last_record("test");
    assert_eq!(record["outcome"], "deploy_failed");
    assert_eq!(record["recovery"], "rolled back to revision 1");
    assert_eq!(record["revision"], 2);
    // Helm rolled the Deployment back to the good image, as revision 3.
    let history = bed.revisions("test");
    assert_eq!(history.last().unwrap().2, "Rollback to 1", "{history:?}");
    assert_eq!(bed.deployed_image("test"), "localhost:5001/api:good");
}

#[test]
fn a_rollout_stuck_on_readiness_times_out_with_the_probe_failures() {
    let scenario = Scenario::new().pods(Pods::of("Deployment").with_image(":stuck").never_ready());
    let bed = bed("stuck", scenario);
    seed_release(&bed, "test", "good");

    let (code, _, stderr) = deploy_tag(&bed, "stuck", &["--timeout", "1s"]);
    assert_eq!(code, Some(4), "{stderr}");
    assert_contains_all(
        &stderr,
        &[
            "the rollout did not complete within 1s",
            "container api: not ready: running but failing its readiness probe",
            "event Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503",
            "rolled back to revision 1",
        ],
    );
    assert_eq!(bed.deployed_image("test"), "localhost:5001/api:good");
}

#[test]
fn a_failed_migration_prints_its_log_and_rolls_back() {
    let scenario = Scenario::new()
        .pods(Pods::of("Job").with_image(":badmigration").fail(1)
            .log("migrate", "api: error: migrating db:5432/api: database error: column \"email\" contains null values\n"))
        .pods(Pods::of("Deployment").with_image(":badmigration").stuck_in_init());
    let bed = bed("migration", scenario);
    seed_release(&bed, "test", "good");

    let (code, _, stderr) = deploy_tag(&bed, "badmigration", &[]);
    assert_eq!(code, Some(4), "{stderr}");
    assert_contains_all(
        &stderr,
        &[
            "the migration Job api-migrate-2 failed (BackoffLimitExceeded",
            "| api: error: migrating db:5432/api: database error: column \"email\" contains null values",
            "rolled back to revision 1",
        ],
    );
    let job = bed
        .server
        .get("batch/v1", "Job", "api-test", "api-migrate-2");
    assert!(
        job.is_none() || job.unwrap()["status"]["failed"] == 3,
        "backoffLimit 2: three pods failed"
    );
}

#[test]
fn a_failed_first_install_is_uninstalled_when_the_overlay_says_so() {
    let scenario = Scenario::new().pods(
        Pods::of("Deployment")
            .with_image(":missing")
            .init_image_pull_backoff(),
    );
    let bed = bed("first-install", scenario);
    let (code, _, stderr) = deploy_tag(&bed, "missing", &[]);
    assert_eq!(code, Some(4), "{stderr}");
    assert_contains_all(
        &stderr,
        &[
            "ImagePullBackOff in pod api-",
            "event Failed: Failed to pull image \"localhost:5001/api:missing\"",
            "uninstalled the failed first install",
        ],
    );
    let calls = bed.calls();
    assert!(
        calls[position(&calls, "helm uninstall")]
            .starts_with("helm uninstall api --namespace api-test --kube-context kind-test")
    );
    assert!(revisions(&bed).is_empty(), "no release left");
    assert!(
        bed.server
            .get("apps/v1", "Deployment", "api-test", "api")
            .is_none()
    );
    let uninstall = calls
        .iter()
        .find(|c| c.starts_with("helm uninstall"))
        .unwrap();
    assert!(
        uninstall.contains("--ignore-not-found") && uninstall.contains("--wait"),
        "waits until the objects are gone: {uninstall}"
    );
    assert!(
        bed.server.list("v1", "Pod", Some("api-test")).is_empty(),
        "nothing left terminating"
    );
}

#[test]
fn a_smoke_failure_rolls_back_and_exits_5() {
    let unmigrated = RealApi::start(false);
    let mut bed = TestBed::new("smoke", Scenario::new());
    bed.image_exists().forward_to(&unmigrated.address);
    bed.commit();
    seed_release(&bed, "test", "good");

    let (code, _, stderr) = deploy(&bed, &[]);
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
    let calls = bed.calls();
    assert!(position(&calls, "port-forward") < position(&calls, "helm rollback"));
    assert_eq!(bed.last_record("test")["outcome"], "smoke_failed");
    assert_eq!(bed.deployed_image("test"), "localhost:5001/api:good");
}

#[test]
fn a_dry_run_asks_the_server_and_changes_nothing() {
    let bed = bed("dry-run", Scenario::new());
    seed_release(&bed, "test", "good");
    let before = writes(&bed.server);
    let (code, _, stderr) = deploy(&bed, &["--dry-run"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("dry run ok:") && stderr.contains("nothing was applied"),
        "{stderr}"
    );
    assert!(bed.calls().iter().any(|c| c.contains("--dry-run=server")));
    assert_eq!(writes(&bed.server), before, "{}", bed.server.request_log());
    assert_eq!(revisions(&bed), [(1, "deployed".to_owned())]);
    assert_eq!(bed.last_record("test")["outcome"], "dry_run_ok");
}

#[test]
fn a_dry_run_without_a_reachable_server_renders_client_side() {
    let bed = bed("dry-run-offline", Scenario::new());
    // The kubeconfig now points at a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let kubeconfig = std::fs::read_to_string(bed.root.join("kubeconfig")).unwrap();
    std::fs::write(
        bed.root.join("kubeconfig"),
        kubeconfig.replace(bed.server.url(), &format!("http://{closed}")),
    )
    .unwrap();
    let (code, _, stderr) = deploy(&bed, &["--dry-run"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("cannot reach the cluster") && stderr.contains("client-side"),
        "{stderr}"
    );
    assert!(
        stderr.contains("dry run ok:") && stderr.contains("nothing was applied"),
        "{stderr}"
    );
    assert!(
        bed.calls()
            .iter()
            .all(|c| !c.contains(" get ") && !c.contains("port-forward"))
    );
    assert_eq!(bed.last_record("test")["outcome"], "dry_run_ok");
    let values = std::fs::read_to_string(bed.root.join("target/deploy/test/values.yaml")).unwrap();
    assert!(values.contains("tag: \"abc123def456\""), "{values}");
}

#[test]
fn rollback_recovers_a_release_stuck_in_pending_upgrade() {
    let bed = bed("rollback", Scenario::new());
    seed_release(&bed, "test", "first");
    seed_release(&bed, "test", "second");
    let pending = leave_pending(&bed);
    assert_eq!(pending, 3);
    let output = bed.xtask(&["rollback", "test"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("from revision 3 (pending-upgrade) to 2"),
        "{stderr}"
    );
    let calls = bed.calls();
    assert_eq!(
        calls[position(&calls, "helm rollback")],
        "helm rollback api 2 --namespace api-test --kube-context kind-test --wait=watcher --force-conflicts --timeout 20s"
    );
    let history = bed.revisions("test");
    assert_eq!(
        history.last().unwrap(),
        &(4, "deployed".to_owned(), "Rollback to 2".to_owned()),
        "{history:?}"
    );
    assert_eq!(bed.deployed_image("test"), "localhost:5001/api:second");

    let output = bed.xtask(&["rollback", "test", "--revision", "9"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("revision 9 is not in the release history")
    );
}

#[test]
fn rollback_of_a_protected_environment_needs_a_confirmation_and_the_right_context() {
    let bed = bed("rollback-guarded", Scenario::new());
    seed_release(&bed, "guarded", "first");
    seed_release(&bed, "guarded", "second");
    let before = writes(&bed.server);
    let output = bed.xtask(&["rollback", "guarded"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("pass --yes"));
    assert_eq!(writes(&bed.server), before);
    let output = bed.xtask(&["rollback", "guarded", "--yes"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(bed.deployed_image("guarded"), "localhost:5001/api:first");

    let elsewhere =
        TestBed::with_contexts("rollback-context", Scenario::new(), &["other", "kind-test"]);
    elsewhere.commit();
    let output = elsewhere.xtask(&["rollback", "test"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("'other'"));
    assert_eq!(writes(&elsewhere.server), 0);
}

#[test]
fn status_reports_revision_image_and_pods() {
    let bed = bed("status", Scenario::new());
    seed_release(&bed, "test", "first");
    seed_release(&bed, "test", TAG);
    bed.scale_api(3);
    bed.wait_for("three ready pods", |server| {
        rollout_done(server, "api-test")
            && server
                .get("apps/v1", "Deployment", "api-test", "api")
                .unwrap()["status"]["readyReplicas"]
                == 3
    });
    let output = bed.xtask(&["status", "test", "--output", "json"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["revision"], 2);
    assert_eq!(status["release_status"], "deployed");
    assert_eq!(status["images"][0], format!("localhost:5001/api:{TAG}"));
    assert_eq!(
        (
            status["pods_ready"].as_u64(),
            status["pods_desired"].as_u64()
        ),
        (Some(3), Some(3))
    );
    let calls = bed.calls();
    assert!(
        calls[position(&calls, "get deployments")]
            .contains("--context kind-test --namespace api-test")
    );
}

#[test]
fn xtask_smoke_runs_the_suite_against_a_url() {
    let api = RealApi::start(true);
    let bed = TestBed::new("smoke-command", Scenario::new());
    let output = bed.xtask(&["smoke", "--url", &format!("http://{}", api.address)]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_contains_all(
        &stdout,
        &[
            "liveness",
            "readiness",
            "database check",
            "web app",
            "user round trip",
            "banking round trip",
            "6 passed, 0 failed",
        ],
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let output = bed.xtask(&[
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
    // The migration never finishes, so the watch goes on until interrupted.
    let scenario = Scenario::new().pods(Pods::of("Job").with_image(":slow").never_ready());
    let bed = bed("interrupt", scenario);
    seed_release(&bed, "test", "good");
    let stderr = interrupt_while_watching(&bed, "slow");
    assert!(
        stderr.contains("revision 2 stays applied") && stderr.contains("cargo xtask status test"),
        "{stderr}"
    );
    let calls = bed.calls();
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("helm rollback") || c.starts_with("helm uninstall")),
        "{calls:?}"
    );
    assert_eq!(bed.last_record("test")["outcome"], "interrupted");
    assert_eq!(
        bed.deployed_image("test"),
        "localhost:5001/api:slow",
        "left as it was"
    );
}

#[test]
fn a_bad_flag_is_refused_before_anything_changes() {
    let bed = bed("bad-flag", Scenario::new());
    seed_release(&bed, "test", "good");
    let before = writes(&bed.server);
    let (code, _, stderr) = deploy(&bed, &["--timeout", "five-minutes"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--timeout") && stderr.contains("90s, 5m or 1h"),
        "{stderr}"
    );
    assert_eq!(writes(&bed.server), before);
    assert!(!bed.calls().iter().any(|c| c.starts_with("helm upgrade")));
}

/// docker stand-ins for a build and push that report `DIGEST`.
fn registry(bed: &mut TestBed) {
    bed.rule("docker", "build *", &[("STEP 1/1: built\n", 0)])
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
}

fn head_revision(root: &std::path::Path) -> String {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root)
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn build_labels_tags_with_the_revision_and_pushes_with_a_digest() {
    let mut bed = TestBed::new("build", Scenario::new());
    registry(&mut bed);
    bed.commit();
    let binary = bed.root.join("Cargo-built-api");
    std::fs::write(&binary, "not really a binary").unwrap();
    bed.commit();
    let revision = head_revision(&bed.root);

    let output = bed.xtask(&[
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
    let calls = bed.calls();
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
        std::fs::read_to_string(bed.root.join("target/image/api")).unwrap(),
        "not really a binary"
    );
    assert!(bed.root.join("target/image/ca-certificates.crt").is_file());

    std::fs::write(bed.root.join("overlays/test/values.yaml.j2"), "# edited\n").unwrap();
    let output = bed.xtask(&[
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
        bed.calls()
            .iter()
            .filter(|c| c.starts_with("docker build"))
            .count(),
        1,
        "no second build"
    );
}

#[test]
fn build_stages_the_image_in_the_repository_wherever_cargo_builds() {
    let mut bed = TestBed::new("build-target-dir", Scenario::new());
    registry(&mut bed);
    bed.commit();
    let binary = std::env::current_exe().unwrap();
    let outside = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("outside-target-{}", std::process::id()));
    let output = bed
        .command(&[
            "build",
            "--engine",
            "docker",
            "--binary",
            binary.to_str().unwrap(),
        ])
        .env("CARGO_TARGET_DIR", &outside)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        bed.root.join("target/image/api").is_file(),
        "the Dockerfile copies target/image/ of the build context"
    );
    assert!(!outside.join("image/api").exists());
    let calls = bed.calls();
    assert!(calls[position(&calls, "docker build")].ends_with(&bed.root.display().to_string()));
}

#[test]
fn deploy_build_pushes_first_and_deploys_by_digest() {
    let api = RealApi::start(true);
    let mut bed = TestBed::new("deploy-build", Scenario::new());
    registry(&mut bed);
    bed.forward_to(&api.address);
    bed.commit();
    let binary = std::env::current_exe().unwrap();
    let output = bed.xtask(&[
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
    let calls = bed.calls();
    assert!(position(&calls, "docker push") < position(&calls, "helm upgrade"));
    let values = std::fs::read_to_string(bed.root.join("target/deploy/test/values.yaml")).unwrap();
    assert!(
        values.contains(&format!("digest: \"{DIGEST}\"")),
        "{values}"
    );
    assert_eq!(
        bed.last_record("test")["image"],
        format!("localhost:5001/api@{DIGEST}")
    );
    assert_eq!(
        bed.deployed_image("test"),
        format!("localhost:5001/api@{DIGEST}")
    );
}

#[test]
fn cluster_up_creates_only_when_absent_and_load_side_loads_the_image() {
    let mut bed = TestBed::new("kind", Scenario::new());
    bed.rule("kind", "get clusters", &[("", 0), ("api-dev\n", 0)])
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
    bed.commit();
    let revision = head_revision(&bed.root);

    let first = bed.xtask(&["cluster", "up"]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = bed.xtask(&["cluster", "up"]);
    assert!(String::from_utf8_lossy(&second.stderr).contains("exists already"));
    let load = bed.xtask(&["cluster", "load", "--engine", "podman"]);
    assert_eq!(
        load.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
    let down = bed.xtask(&["cluster", "down"]);
    assert_eq!(down.status.code(), Some(0));

    let calls = bed.calls();
    let creates: Vec<&String> = calls
        .iter()
        .filter(|c| c.starts_with("kind create"))
        .collect();
    assert_eq!(creates.len(), 1, "created once: {calls:?}");
    let config = bed.root.join("overlays/dev/kind-cluster.yaml");
    assert_eq!(
        creates[0],
        &format!(
            "kind create cluster --name api-dev --wait 120s --config {}",
            config.display()
        )
    );
    let archive = bed.root.join("target/image/kind-load.tar");
    let image = format!("localhost:5001/api:{}", &revision[..12]);
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
