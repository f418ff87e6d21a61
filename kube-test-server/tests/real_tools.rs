//! The server as the real, pinned helm and kubectl see it: a chart installed, upgraded,
//! rolled back and uninstalled by helm; kubectl's reads, writes, watches and logs; and
//! the scenario's controllers and kubelet moving objects as a cluster's would.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use kube_test_server::{Pods, Scenario, TestServer};
use serde_json::Value;

/// `.tools/bin` with the pinned helm and kubectl.
fn tools() -> PathBuf {
    kube_test_server::tools::pinned()
        .unwrap_or_else(|why| panic!("{why}"))
        .join("bin")
}

/// A server, a kubeconfig for it, and a chart made by `helm create demo`.
struct Bed {
    server: TestServer,
    dir: PathBuf,
}

impl Bed {
    fn new(name: &str, scenario: Scenario) -> Self {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let server = TestServer::start(scenario).unwrap();
        server
            .write_kubeconfig(&dir.join("kubeconfig"), &["test"])
            .unwrap();
        let bed = Self { server, dir };
        bed.ok("helm", &["create", bed.dir.join("demo").to_str().unwrap()]);
        bed
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        Command::new(tools().join(tool))
            .args(args)
            .env("KUBECONFIG", self.dir.join("kubeconfig"))
            .env("HELM_CONFIG_HOME", self.dir.join("helm/config"))
            .env("HELM_CACHE_HOME", self.dir.join("helm/cache"))
            .env("HELM_DATA_HOME", self.dir.join("helm/data"))
            .output()
            .unwrap()
    }

    /// Runs the tool, asserts it succeeded and returns its stdout.
    /// `kubectl rollout status` of the demo Deployment, which must report success.
    fn rollout_status(&self, timeout: &str) {
        let out = self.ok(
            "kubectl",
            &[
                "--namespace",
                "apps",
                "rollout",
                "status",
                "deployment/demo",
                "--timeout",
                timeout,
            ],
        );
        assert!(out.contains("successfully rolled out"), "{out}");
    }

    fn ok(&self, tool: &str, args: &[&str]) -> String {
        let output = self.run(tool, args);
        assert!(
            output.status.success(),
            "{tool} {args:?}: {}\nrequests:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.server.request_log()
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn json(&self, tool: &str, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(tool, args)).unwrap()
    }

    fn chart(&self) -> String {
        self.dir.join("demo").display().to_string()
    }

    fn install(&self, extra: &[&str]) -> Output {
        let chart = self.chart();
        let mut args = vec![
            "upgrade",
            "--install",
            "demo",
            &chart,
            "--namespace",
            "apps",
            "--create-namespace",
        ];
        args.extend_from_slice(extra);
        self.run("helm", &args)
    }

    fn deployment(&self) -> Value {
        self.server
            .get("apps/v1", "Deployment", "apps", "demo")
            .unwrap()
    }

    fn wait_for(&self, what: &str, ready: impl Fn(&Self) -> bool) {
        let started = Instant::now();
        while !ready(self) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}\n{}",
                self.server.request_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn rolled_out(&self) -> bool {
        let d = self.deployment();
        let s = &d["status"];
        s["observedGeneration"] == d["metadata"]["generation"]
            && s["updatedReplicas"] == d["spec"]["replicas"]
            && s["availableReplicas"] == d["spec"]["replicas"]
            && s["replicas"] == d["spec"]["replicas"]
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[test]
fn helm_installs_upgrades_rolls_back_and_uninstalls() {
    let bed = Bed::new("helm-lifecycle", Scenario::new());
    let output = bed.install(&[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let log = bed.server.request_log();
    // Helm's writes: the namespace applied server-side, the release record as protobuf,
    // every object applied server-side by the field manager "helm".
    for line in [
        "PATCH /api/v1/namespaces/apps?fieldManager=helm&fieldValidation=Strict&force=false 200 [application/apply-patch+yaml]",
        "POST /api/v1/namespaces/apps/secrets 201 [application/vnd.kubernetes.protobuf] (Helm/4.1.4)",
        "PATCH /apis/apps/v1/namespaces/apps/deployments/demo?fieldManager=helm&fieldValidation=Strict&force=false 200 [application/apply-patch+yaml]",
        "PUT /api/v1/namespaces/apps/secrets/sh.helm.release.v1.demo.v1 200 [application/vnd.kubernetes.protobuf]",
    ] {
        assert!(log.contains(line), "{line} not in\n{log}");
    }
    let managed = &bed.deployment()["metadata"]["managedFields"];
    assert_eq!(managed[0]["manager"], "helm");
    assert_eq!(managed[0]["operation"], "Apply");
    bed.wait_for("the rollout", Bed::rolled_out);
    bed.rollout_status("10s");

    let upgrade = bed.install(&["--set", "image.tag=2.0"]);
    assert!(
        upgrade.status.success(),
        "{}",
        String::from_utf8_lossy(&upgrade.stderr)
    );
    bed.wait_for("the second rollout", Bed::rolled_out);
    let sets = bed.server.list("apps/v1", "ReplicaSet", Some("apps"));
    assert_eq!(sets.len(), 2, "a ReplicaSet per pod template");
    let rollback = bed.run(
        "helm",
        &[
            "rollback",
            "demo",
            "1",
            "--namespace",
            "apps",
            "--wait=watcher",
            "--timeout",
            "20s",
        ],
    );
    assert!(
        rollback.status.success(),
        "{}",
        String::from_utf8_lossy(&rollback.stderr)
    );
    let history = bed.json(
        "helm",
        &["history", "demo", "--namespace", "apps", "--output", "json"],
    );
    let statuses: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap(),
                r["description"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("superseded", "Install complete"),
            ("superseded", "Upgrade complete"),
            ("deployed", "Rollback to 1")
        ]
    );
    let image = bed.deployment()["spec"]["template"]["spec"]["containers"][0]["image"].clone();
    assert!(!image.as_str().unwrap().ends_with(":2.0"), "{image}");
    let releases = bed.server.helm_releases("apps", "demo");
    assert_eq!(releases.len(), 3);
    assert_eq!(releases[2]["info"]["status"], "deployed");

    bed.ok(
        "helm",
        &[
            "uninstall",
            "demo",
            "--namespace",
            "apps",
            "--wait",
            "--timeout",
            "20s",
        ],
    );
    assert!(
        bed.server
            .get("apps/v1", "Deployment", "apps", "demo")
            .is_none()
    );
    assert!(
        bed.server.list("v1", "Pod", Some("apps")).is_empty(),
        "the garbage collector took the pods"
    );
    assert!(bed.server.helm_releases("apps", "demo").is_empty());
}

#[test]
fn a_field_changed_by_kubectl_conflicts_with_helms_next_apply_until_forced() {
    let bed = Bed::new("ssa-conflict", Scenario::new());
    assert!(bed.install(&[]).status.success());
    bed.ok(
        "kubectl",
        &[
            "--namespace",
            "apps",
            "scale",
            "deployment/demo",
            "--replicas",
            "3",
        ],
    );
    let managers: Vec<Value> = bed.deployment()["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| serde_json::json!([m["manager"], m["operation"], m["subresource"]]))
        .collect();
    assert!(
        managers.contains(&serde_json::json!(["kubectl", "Update", "scale"])),
        "{managers:?}"
    );

    let upgrade = bed.install(&["--set", "podAnnotations.changed=yes"]);
    let stderr = String::from_utf8_lossy(&upgrade.stderr);
    assert!(!upgrade.status.success());
    assert!(
        stderr.contains("Apply failed with 1 conflict: conflict with \"kubectl\" with subresource \"scale\" using apps/v1: .spec.replicas"),
        "{stderr}"
    );
    assert_eq!(
        bed.deployment()["spec"]["replicas"],
        3,
        "the conflicting apply changed nothing"
    );

    let forced = bed.install(&["--set", "podAnnotations.changed=yes", "--force-conflicts"]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert_eq!(
        bed.deployment()["spec"]["replicas"],
        1,
        "helm took .spec.replicas back"
    );
}

#[test]
fn kubectl_set_image_rolls_out_a_new_replicaset_keeping_old_pods_until_new_are_ready() {
    let scenario = Scenario::new().pods(
        Pods::of("Deployment")
            .with_image(":slow")
            .ready_after(Duration::from_millis(800)),
    );
    let bed = Bed::new("set-image", scenario);
    assert!(bed.install(&["--set", "replicaCount=2"]).status.success());
    bed.wait_for("the first rollout", Bed::rolled_out);
    let patch =
        "{\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxUnavailable\":0,\"maxSurge\":1}}}}";
    bed.ok(
        "kubectl",
        &[
            "--namespace",
            "apps",
            "patch",
            "deployment/demo",
            "--type",
            "merge",
            "--patch",
            patch,
        ],
    );
    bed.ok(
        "kubectl",
        &[
            "--namespace",
            "apps",
            "set",
            "image",
            "deployment/demo",
            "demo=nginx:slow",
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let pods = bed.json(
        "kubectl",
        &[
            "--namespace",
            "apps",
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/name in (demo),!missing",
            "--chunk-size",
            "1",
            "-o",
            "json",
        ],
    );
    let pods = pods["items"].as_array().unwrap();
    let hashes: std::collections::BTreeSet<&str> = pods
        .iter()
        .filter_map(|p| p["metadata"]["labels"]["pod-template-hash"].as_str())
        .collect();
    assert_eq!(
        hashes.len(),
        2,
        "old and new pods side by side while the new one is not ready"
    );
    assert_eq!(
        pods.len(),
        3,
        "maxSurge 1 over 2 replicas, maxUnavailable 0"
    );
    bed.rollout_status("20s");
    assert_eq!(bed.server.list("v1", "Pod", Some("apps")).len(), 2);

    bed.ok(
        "kubectl",
        &["--namespace", "apps", "delete", "deployment/demo"],
    );
    assert!(
        bed.server
            .list("apps/v1", "ReplicaSet", Some("apps"))
            .is_empty()
    );
    assert!(bed.server.list("v1", "Pod", Some("apps")).is_empty());
}

#[test]
fn crash_loops_image_pulls_logs_and_events_look_as_the_kubelet_makes_them() {
    let scenario = Scenario::new()
        .pods(
            Pods::of("Deployment")
                .with_image(":crash")
                .crash_loop("OOMKilled", 137)
                .log("demo", "out of memory\n"),
        )
        .pods(Pods::any().with_image(":gone").init_image_pull_backoff());
    let bed = Bed::new("kubelet", scenario);
    assert!(bed.install(&["--set", "image.tag=crash"]).status.success());
    bed.wait_for("three restarts", |b| {
        b.server
            .list("v1", "Pod", Some("apps"))
            .iter()
            .any(|p| p["status"]["containerStatuses"][0]["restartCount"].as_u64() >= Some(3))
    });
    let pod = bed.server.list("v1", "Pod", Some("apps")).pop().unwrap();
    let name = pod["metadata"]["name"].as_str().unwrap().to_owned();
    let status = &pod["status"]["containerStatuses"][0];
    assert_eq!(status["state"]["waiting"]["reason"], "CrashLoopBackOff");
    assert_eq!(status["lastState"]["terminated"]["reason"], "OOMKilled");
    assert_eq!(
        bed.ok(
            "kubectl",
            &["--namespace", "apps", "logs", &name, "--previous"]
        ),
        "out of memory\n"
    );
    let events = bed.json(
        "kubectl",
        &["--namespace", "apps", "get", "events", "-o", "json"],
    );
    let backoff = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["reason"] == "BackOff")
        .unwrap();
    assert!(
        backoff["count"].as_u64() >= Some(2),
        "the kubelet counts repeats: {backoff}"
    );
    let scheduled = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["reason"] == "Scheduled")
        .unwrap();
    assert!(
        scheduled["count"].is_null() && scheduled["eventTime"].is_string(),
        "the scheduler writes events.k8s.io events: {scheduled}"
    );
    let new_events = bed.json(
        "kubectl",
        &[
            "--namespace",
            "apps",
            "get",
            "events.v1.events.k8s.io",
            "-o",
            "json",
        ],
    );
    assert!(new_events["items"].as_array().unwrap().iter().any(|e| {
        e["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("Back-off restarting"))
    }));

    // A pod whose init container cannot pull its image: the main container waits, and
    // its log is refused the way the kubelet refuses it.
    let mut pod = pod.clone();
    pod["spec"]["initContainers"] = serde_json::json!([{"name": "init", "image": "nginx:gone"}]);
    pod["metadata"] = serde_json::json!({"name": "waiting", "namespace": "apps"});
    pod["status"] = Value::Null;
    bed.server.create(pod).unwrap();
    bed.wait_for("the pull back-off", |b| {
        b.server
            .get("v1", "Pod", "apps", "waiting")
            .is_some_and(|p| {
                p["status"]["initContainerStatuses"][0]["state"]["waiting"]["reason"]
                    == "ImagePullBackOff"
            })
    });
    let refused = bed.run(
        "kubectl",
        &[
            "--namespace",
            "apps",
            "logs",
            "waiting",
            "--container",
            "demo",
        ],
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("container \"demo\" in pod \"waiting\" is waiting to start: PodInitializing")
    );
}

#[test]
fn a_failing_job_retries_up_to_its_backoff_limit() {
    let scenario = Scenario::new().pods(Pods::of("Job").fail(1).log("work", "boom\n"));
    let bed = Bed::new("job", scenario);
    bed.ok("kubectl", &["create", "namespace", "batch-work"]);
    let job = serde_json::json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "work", "namespace": "batch-work"},
        "spec": {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "work", "image": "busybox"}]}}}});
    bed.server.create(job).unwrap();
    bed.wait_for("the Job to fail", |b| {
        b.server
            .get("batch/v1", "Job", "batch-work", "work")
            .is_some_and(|j| {
                j["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["type"] == "Failed"))
            })
    });
    let job = bed
        .server
        .get("batch/v1", "Job", "batch-work", "work")
        .unwrap();
    assert_eq!(job["status"]["failed"], 3);
    let failed = job["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Failed")
        .unwrap()
        .clone();
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    assert_eq!(
        bed.ok(
            "kubectl",
            &["--namespace", "batch-work", "logs", "job/work"]
        ),
        "boom\n"
    );
}

#[test]
fn a_stale_progress_deadline_stays_until_the_controller_sees_the_new_generation() {
    let scenario = Scenario::new().deployment_controller_delay(Duration::from_millis(600));
    let bed = Bed::new("stale-deadline", scenario);
    assert!(bed.install(&[]).status.success());
    bed.wait_for("the rollout", Bed::rolled_out);
    // A change the controller has not seen yet, over a status left from a rollout that
    // timed out.
    bed.ok(
        "kubectl",
        &[
            "--namespace",
            "apps",
            "set",
            "env",
            "deployment/demo",
            "CHANGED=1",
        ],
    );
    let mut stale = bed.deployment();
    stale["status"]["conditions"] = serde_json::json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]);
    bed.server.replace(stale).unwrap();
    let d = bed.deployment();
    assert!(d["status"]["observedGeneration"].as_i64() < d["metadata"]["generation"].as_i64());
    assert_eq!(
        d["status"]["conditions"][0]["reason"],
        "ProgressDeadlineExceeded"
    );
    bed.wait_for("the controller to catch up", Bed::rolled_out);
    let reasons: Vec<Value> = bed.deployment()["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reason"].clone())
        .collect();
    assert!(
        reasons.contains(&Value::from("NewReplicaSetAvailable")),
        "{reasons:?}"
    );
}
