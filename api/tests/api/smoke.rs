//! The smoke suite (`api smoke`) against a real server.

use std::time::Duration;

use smoke::{SmokeOptions, run_all};
use sqlx::PgPool;

use crate::helpers::TestApp;

fn options(app: &TestApp, ready_deadline: Duration) -> SmokeOptions {
    SmokeOptions {
        base_url: format!("http://{}/", app.address),
        ready_deadline,
        request_timeout: Duration::from_secs(10),
        database_check: true,
        // No worker in these tests (the worker's own tests cover the notification).
        notification_deadline: None,
    }
}

#[sqlx::test]
async fn every_check_passes_on_a_healthy_service_and_cleans_up(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let report = run_all(&options(&app, Duration::from_secs(10))).await;
    assert!(report.passed, "{}", report.to_table());
    let names: Vec<&str> = report.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "liveness",
            "readiness",
            "database check",
            "web app",
            "user round trip",
            "banking round trip"
        ]
    );
    // The user round trip's user is deleted again; the banking one, whose accounts the
    // ledger keeps, is left deactivated with its accounts empty and closed.
    let (users, active): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(*) FILTER (WHERE is_active) FROM users")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((users, active), (1, 0));
    let (accounts, open, money): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE closed_at IS NULL), sum(balance)::bigint \
         FROM accounts WHERE kind = 'customer'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((accounts, open, money), (2, 0, 0));
}

#[sqlx::test(migrations = false)]
async fn an_unmigrated_database_fails_the_database_check(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let report = run_all(&options(&app, Duration::from_secs(5))).await;
    assert!(!report.passed);
    let db = report
        .checks
        .iter()
        .find(|c| c.name == "database check")
        .unwrap();
    assert!(
        !db.passed && db.detail.contains("api migrate"),
        "{}",
        report.to_table()
    );
}

#[tokio::test]
async fn a_service_that_never_gets_ready_fails_within_the_deadline() {
    let port = crate::helpers::closed_port();
    let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy_with(
        sqlx::postgres::PgConnectOptions::new()
            .host("127.0.0.1")
            .port(port),
    );
    let app = TestApp::spawn(pool).await;
    let started = std::time::Instant::now();
    let report = run_all(&options(&app, Duration::from_secs(1))).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(!report.passed);
    let readiness = report
        .checks
        .iter()
        .find(|c| c.name == "readiness")
        .unwrap();
    assert!(
        !readiness.passed && readiness.detail.contains("not ready within"),
        "{}",
        report.to_table()
    );
    assert!(
        report.checks.iter().all(|c| c.name != "user round trip"),
        "no round trip when not ready"
    );
}

/// A server that comes up while the suite already runs (a first deploy's ingress, a
/// port-forward still connecting) is waited for, liveness included.
#[sqlx::test]
async fn a_server_that_comes_up_late_is_waited_for(pool: PgPool) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        TestApp::spawn_with(pool, &[("PORT", &address.port().to_string())]).await
    });
    let report = run_all(&SmokeOptions {
        base_url: format!("http://{address}/"),
        ready_deadline: Duration::from_secs(10),
        request_timeout: Duration::from_secs(10),
        database_check: true,
        notification_deadline: None,
    })
    .await;
    let _app = late.await.unwrap();
    assert!(report.passed, "{}", report.to_table());
    assert!(
        report.checks[0].detail.contains("after"),
        "{}",
        report.to_table()
    );
}

#[sqlx::test]
async fn through_the_public_ingress_the_database_check_is_left_out(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let report = run_all(&SmokeOptions {
        database_check: false,
        ..options(&app, Duration::from_secs(10))
    })
    .await;
    assert!(report.passed, "{}", report.to_table());
    let names: Vec<&str> = report.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "liveness",
            "readiness",
            "web app",
            "user round trip",
            "banking round trip"
        ]
    );
}
