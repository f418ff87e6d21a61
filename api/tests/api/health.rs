use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};

use crate::helpers::{TestApp, closed_port, expect_error, expect_json};

/// A loopback port that accepts TCP connections and never says a word, like a
/// black-holed database address.
async fn silent_database_port() -> u16 {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    port
}

/// A pool aimed at `port` on loopback, connecting lazily like the real one.
fn pool_for_port(port: u16) -> PgPool {
    PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(
            PgConnectOptions::new()
                .host("127.0.0.1")
                .port(port)
                .username("nobody"),
        )
}

async fn expect_database_unavailable(app: &TestApp, path: &str) -> serde_json::Value {
    expect_error(
        app.get(path).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
    )
    .await
}

#[sqlx::test]
async fn index_names_the_service_and_links_its_endpoints(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let body = expect_json(app.get("/").await, StatusCode::OK).await;
    assert_eq!(body["name"], "api");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["environment"], "test");
    for link in ["/healthz", "/readyz", "/db-check", "/api/v1/users"] {
        assert!(
            body["links"]
                .as_object()
                .unwrap()
                .values()
                .any(|v| v == link),
            "{link} in {body}"
        );
    }
}

#[sqlx::test]
async fn liveness_readiness_and_their_api_v1_aliases_answer(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for path in ["/healthz", "/api/v1/health/live"] {
        let body = expect_json(app.get(path).await, StatusCode::OK).await;
        assert_eq!(body["status"], "ok", "{path}");
    }
    for path in ["/readyz", "/api/v1/health", "/api/v1/health/ready"] {
        let body = expect_json(app.get(path).await, StatusCode::OK).await;
        assert_eq!(body["status"], "ready", "{path}");
        assert_eq!(body["checks"]["database"]["status"], "ok", "{path}");
    }
}

#[sqlx::test]
async fn db_check_reports_round_trip_server_version_and_schema_version(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let body = expect_json(app.get("/db-check").await, StatusCode::OK).await;
    let database = &body["database"];
    assert!(database["round_trip_ms"].as_f64().unwrap() >= 0.0, "{body}");
    assert!(
        database["server_version"]
            .as_str()
            .unwrap()
            .chars()
            .next()
            .unwrap()
            .is_ascii_digit(),
        "{body}"
    );
    let newest = api::db::migrations::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap();
    assert_eq!(database["migration_version"], newest, "{body}");
}

#[tokio::test]
async fn an_unreachable_database_fails_readiness_but_not_liveness() {
    let app = TestApp::spawn(pool_for_port(closed_port())).await;
    expect_json(app.get("/healthz").await, StatusCode::OK).await;
    let error = expect_database_unavailable(&app, "/readyz").await;
    assert!(
        error["message"].as_str().unwrap().contains("not ready"),
        "{error}"
    );
    expect_database_unavailable(&app, "/db-check").await;
    // A client's request is not the client's fault: 503, never 500.
    let keys =
        api::auth::token::TokenKeys::new(crate::helpers::test_config(&[]).jwt.as_ref().unwrap());
    app.use_token(
        keys.issue(
            api::auth::token::Bearer {
                user: uuid::Uuid::new_v4(),
                version: 0,
            },
            api::auth::token::now_seconds(),
        )
        .unwrap(),
    );
    expect_database_unavailable(&app, "/api/v1/users").await;
    expect_json(app.get("/healthz").await, StatusCode::OK).await;
}

#[tokio::test]
async fn readiness_never_hangs_on_a_database_that_does_not_answer() {
    let port = silent_database_port().await;
    let app = TestApp::spawn_with(pool_for_port(port), &[("READINESS_TIMEOUT", "300ms")]).await;
    let started = Instant::now();
    let error = expect_database_unavailable(&app, "/readyz").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        error["message"].as_str().unwrap().contains("300ms"),
        "{error}"
    );
}

#[sqlx::test]
async fn request_ids_are_echoed_generated_or_replaced(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let sent = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-abc.123")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.headers()["x-request-id"], "trace-abc.123");

    let generated = app.get("/healthz").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

    let hostile = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "a".repeat(500))
        .send()
        .await
        .unwrap();
    let id = hostile.headers()["x-request-id"].to_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "an over-long id is replaced, got {id}"
    );
}

#[tokio::test]
async fn a_request_past_the_request_timeout_gets_a_503_in_the_error_shape() {
    // A database that never answers keeps readiness busy past the request timeout.
    let port = silent_database_port().await;
    let app = TestApp::spawn_with(
        pool_for_port(port),
        &[("READINESS_TIMEOUT", "5s"), ("REQUEST_TIMEOUT", "300ms")],
    )
    .await;
    let started = Instant::now();
    let error = expect_error(
        app.get("/readyz").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "request_timeout",
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        error["message"].as_str().unwrap().contains("300ms"),
        "{error}"
    );
}

#[sqlx::test]
async fn a_connection_the_server_closed_while_idle_is_replaced_before_a_request_uses_it(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let url = crate::helpers::database_url(&db);
    let config = crate::helpers::test_config(&[("DATABASE_URL", &url)]);
    let pool = api::db::lazy_pool(&config.database);
    sqlx::query("SELECT 1").execute(&pool).await.unwrap();
    // The pool takes the connection back in a task of its own.
    let deadline = Instant::now() + Duration::from_secs(5);
    while pool.num_idle() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(pool.num_idle(), 1, "one connection, back in the pool");
    // A server restart or failover, as the idle connection sees it.
    let mut admin = sqlx::PgConnection::connect_with(&db).await.unwrap();
    let closed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(closed, [true]);
    tokio::time::sleep(api::db::CHECK_AFTER_IDLE + Duration::from_millis(300)).await;
    sqlx::query("SELECT 1")
        .execute(&pool)
        .await
        .expect("the closed connection is found before use and replaced");
}
