//! The chart's own behaviour across upgrades and rollbacks, with the real helm on the
//! test server (what `helm template` alone cannot show: `lookup` of live Secrets).

use kube_test_server::{Pods, Scenario};

use super::{bed, seed_release, seed_release_unready};

fn generation(bed: &crate::testbed::TestBed, kind: &str, name: &str) -> serde_json::Value {
    bed.server.get("apps/v1", kind, "api-test", name).unwrap()["metadata"]["generation"].clone()
}

#[test]
fn an_upgrade_with_unchanged_values_changes_no_pod_template() {
    let bed = bed("chart-stable-upgrade", Scenario::new());
    seed_release(&bed, "test", "good");
    // The owner's and the server role's passwords.
    let passwords = bed
        .server
        .get("v1", "Secret", "api-test", "api-database")
        .unwrap()["data"]
        .clone();
    assert!(passwords["app-password"].is_string(), "{passwords}");
    let redis_password = bed
        .server
        .get("v1", "Secret", "api-test", "api-redis")
        .unwrap()["data"]["redis-password"]
        .clone();
    assert!(redis_password.is_string(), "{redis_password}");
    let rabbitmq_password = bed
        .server
        .get("v1", "Secret", "api-test", "api-rabbitmq")
        .unwrap()["data"]["rabbitmq-password"]
        .clone();
    assert!(rabbitmq_password.is_string(), "{rabbitmq_password}");
    let generations = || {
        [
            generation(&bed, "Deployment", "api"),
            generation(&bed, "Deployment", "api-worker"),
            generation(&bed, "StatefulSet", "api-postgresql"),
            generation(&bed, "StatefulSet", "api-redis"),
            generation(&bed, "StatefulSet", "api-rabbitmq"),
        ]
    };
    let before = generations();
    seed_release(&bed, "test", "good");
    assert_eq!(
        before,
        generations(),
        "no restart of the api, the worker, PostgreSQL, Redis or RabbitMQ (and no lost dev database)"
    );
    assert_eq!(
        bed.server
            .get("v1", "Secret", "api-test", "api-rabbitmq")
            .unwrap()["data"]["rabbitmq-password"],
        rabbitmq_password,
        "the generated RabbitMQ password is kept"
    );
    assert_eq!(
        bed.server
            .get("v1", "Secret", "api-test", "api-redis")
            .unwrap()["data"]["redis-password"],
        redis_password,
        "the generated Redis password is kept"
    );
    assert_eq!(
        bed.server
            .get("v1", "Secret", "api-test", "api-database")
            .unwrap()["data"],
        passwords
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

#[test]
fn rabbitmq_refuses_a_lost_password_and_a_volume_it_cannot_take() {
    let bed = bed("chart-rabbitmq", Scenario::new());
    seed_release(&bed, "test", "good");
    let (ok, stderr) = upgrade_with(&bed, &["rabbitmq.persistence.size=5Gi"]);
    assert!(!ok);
    assert!(
        stderr.contains(
            "rabbitmq.persistence.size cannot change on an installed release (2Gi now, 5Gi asked)"
        ) && stderr.contains("kubectl delete statefulset api-rabbitmq --cascade=orphan"),
        "{stderr}"
    );
    bed.kubectl(&[
        "--namespace",
        "api-test",
        "delete",
        "secret",
        "api-rabbitmq",
    ]);
    let (ok, stderr) = upgrade_with(&bed, &[]);
    assert!(!ok);
    assert!(
        stderr.contains("the Secret api-rabbitmq holding the RabbitMQ password is gone")
            && stderr.contains("rabbitmqctl change_password bank"),
        "{stderr}"
    );
    assert_eq!(
        bed.revisions("test").len(),
        1,
        "refused before anything was stored"
    );
}

/// The name of the `test` release's newest migration Job, once its status passes `done`.
fn wait_for_migration(
    bed: &crate::testbed::TestBed,
    what: &str,
    done: fn(&serde_json::Value) -> bool,
) -> String {
    let newest = |server: &kube_test_server::TestServer| {
        server
            .list("batch/v1", "Job", Some("api-test"))
            .into_iter()
            .max_by_key(|job| job["metadata"]["name"].as_str().map(str::to_owned))
    };
    bed.wait_for(what, |server| {
        newest(server).is_some_and(|job| done(&job["status"]))
    });
    newest(&bed.server).unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn an_upgrade_is_refused_while_a_migration_runs_and_goes_ahead_over_a_failing_one() {
    let scenario = Scenario::new()
        .pods(Pods::of("Job").with_image(":slow").never_ready())
        .pods(Pods::of("Job").with_image(":broken").fail(1));
    let bed = bed("chart-migration-running", scenario);
    seed_release(&bed, "test", "good");
    seed_release_unready(&bed, "test", "slow");
    let running = wait_for_migration(&bed, "a running migration", |status| {
        status["active"] == 1 && status.get("failed").is_none()
    });
    let (ok, stderr) = upgrade_with(&bed, &[]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "the migration Job {running} is still running, and this upgrade would delete it mid-migration"
        )) && stderr.contains(&format!("kubectl -n api-test wait --for=condition=complete job/{running}")),
        "{stderr}"
    );
    assert_eq!(
        bed.revisions("test").len(),
        2,
        "refused before anything was stored"
    );
    assert!(
        bed.server
            .get("batch/v1", "Job", "api-test", &running)
            .is_some()
    );

    // A migration that keeps failing does not hold back the fix.
    bed.kubectl(&["--namespace", "api-test", "delete", "job", &running]);
    seed_release_unready(&bed, "test", "broken");
    wait_for_migration(&bed, "a failing migration", |status| {
        status.get("failed").is_some()
    });
    let (ok, stderr) = upgrade_with(&bed, &["image.tag=fixed"]);
    assert!(ok, "{stderr}");
}
