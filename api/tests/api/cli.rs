//! The `api` binary itself: configuration errors, `migrate`, `wait-db`, and `serve`
//! starting without a database and draining on SIGTERM.

use std::process::Stdio;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{closed_port, database_url};

/// The binary with a clean environment: only what a test sets reaches it.
pub fn api(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_api"));
    command
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

pub struct Finished {
    pub success: bool,
    pub code: Option<i32>,
    pub output: String,
}

pub async fn finish(mut command: Command) -> Finished {
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the api command finished within 60s")
        .unwrap();
    Finished {
        success: output.status.success(),
        code: output.status.code(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

#[tokio::test]
async fn a_malformed_setting_stops_start_up_with_one_line_naming_it() {
    let result = api(
        &["serve"],
        &[
            ("DB_HOST", "db"),
            ("DB_NAME", "app"),
            ("DB_USER", "app"),
            ("DB_PORT", "five"),
        ],
    )
    .output()
    .await
    .unwrap();
    assert_eq!(result.status.code(), Some(2));
    let stderr = String::from_utf8(result.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("DB_PORT") && stderr.contains("port number"),
        "{stderr}"
    );

    let result = api(&["migrate"], &[]).output().await.unwrap();
    let stderr = String::from_utf8(result.stderr).unwrap();
    assert_eq!(result.status.code(), Some(2));
    assert!(
        stderr.contains("DATABASE_URL") && stderr.contains("DB_HOST"),
        "{stderr}"
    );
}

#[sqlx::test(migrations = false)]
async fn migrate_twice_in_a_row_is_a_no_op_the_second_time(_: PgPoolOptions, db: PgConnectOptions) {
    let url = database_url(&db);
    let first = finish(api(&["migrate"], &[("DATABASE_URL", &url)])).await;
    assert!(first.success, "{}", first.output);
    assert!(
        first.output.contains("applied migration"),
        "{}",
        first.output
    );
    let second = finish(api(&["migrate"], &[("DATABASE_URL", &url)])).await;
    assert!(second.success, "{}", second.output);
    assert!(
        second.output.contains("already up to date"),
        "{}",
        second.output
    );
    assert_applied_once(&db).await;
}

#[sqlx::test(migrations = false)]
async fn migrate_leaves_migrations_of_a_newer_release_alone(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let url = database_url(&db);
    let first = finish(api(&["migrate"], &[("DATABASE_URL", &url)])).await;
    assert!(first.success, "{}", first.output);
    // A later release applied a migration this binary does not embed; then it was
    // rolled back, and the old release's migration Job runs this binary.
    let mut conn = sqlx::PgConnection::connect_with(&db).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (20991231000000, 'from a newer release', true, '\\x00', 1)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let again = finish(api(&["migrate"], &[("DATABASE_URL", &url)])).await;
    assert!(again.success, "{}", again.output);
    assert!(
        again
            .output
            .contains("migration applied by a newer release")
            && again.output.contains("20991231000000"),
        "{}",
        again.output
    );
}

#[sqlx::test(migrations = false)]
async fn migrate_twice_at_once_applies_each_migration_once(_: PgPoolOptions, db: PgConnectOptions) {
    let url = database_url(&db);
    let (a, b) = tokio::join!(
        finish(api(&["migrate"], &[("DATABASE_URL", &url)])),
        finish(api(&["migrate"], &[("DATABASE_URL", &url)]))
    );
    assert!(a.success && b.success, "{}\n---\n{}", a.output, b.output);
    assert_applied_once(&db).await;
}

async fn assert_applied_once(db: &PgConnectOptions) {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(db.clone())
        .await
        .unwrap();
    let rows: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&pool)
            .await
            .unwrap();
    let expected: Vec<(i64, bool)> = api::db::migrations::MIGRATOR
        .iter()
        .map(|m| (m.version, true))
        .collect();
    assert_eq!(rows, expected);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 0);
    pool.close().await;
}

#[sqlx::test(migrations = false)]
async fn wait_db_returns_as_soon_as_postgres_answers(_: PgPoolOptions, db: PgConnectOptions) {
    let url = database_url(&db);
    let started = Instant::now();
    let result = finish(api(
        &["wait-db", "--timeout", "30s"],
        &[("DATABASE_URL", &url)],
    ))
    .await;
    assert!(result.success, "{}", result.output);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        result.output.contains("PostgreSQL is answering"),
        "{}",
        result.output
    );
}

#[sqlx::test(migrations = false)]
async fn wait_db_for_migrations_waits_until_the_schema_is_current(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let url = database_url(&db);
    let env = [("DATABASE_URL", url.as_str())];
    let early = finish(api(
        &["wait-db", "--for-migrations", "--timeout", "1s"],
        &env,
    ))
    .await;
    assert_eq!(early.code, Some(1), "{}", early.output);
    assert!(early.output.contains("not applied yet"), "{}", early.output);

    let waiting = tokio::spawn(finish(api(
        &["wait-db", "--for-migrations", "--timeout", "30s"],
        &env,
    )));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let migrated = finish(api(&["migrate"], &env)).await;
    assert!(migrated.success, "{}", migrated.output);
    let waited = waiting.await.unwrap();
    assert!(waited.success, "{}", waited.output);
}

#[tokio::test]
async fn wait_db_gives_up_after_its_timeout_and_says_why() {
    let url = format!("postgres://nobody@127.0.0.1:{}/none", closed_port());
    let started = Instant::now();
    let result = finish(api(
        &["wait-db", "--timeout", "1500ms"],
        &[("DATABASE_URL", &url)],
    ))
    .await;
    let elapsed = started.elapsed();
    assert_eq!(result.code, Some(1), "{}", result.output);
    assert!(
        elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
    assert!(
        result.output.contains("was not ready within"),
        "{}",
        result.output
    );
    assert!(
        result.output.contains("retrying"),
        "each failed attempt is reported: {}",
        result.output
    );

    let bad = finish(api(
        &["wait-db", "--timeout", "forever"],
        &[("DATABASE_URL", &url)],
    ))
    .await;
    assert_eq!(bad.code, Some(2), "clap rejects the flag: {}", bad.output);
    assert!(bad.output.contains("--timeout"), "{}", bad.output);
}

/// Starts `api serve` on a free port and returns it once it logs that it listens.
pub async fn serve(env: &[(&str, &str)]) -> (Child, String) {
    let (child, address, _) = serve_logged(env).await;
    (child, address)
}

/// Like [`serve`], also keeping every log line the server prints.
pub async fn serve_logged(
    env: &[(&str, &str)],
) -> (Child, String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let mut env = env.to_vec();
    env.extend([
        ("PORT", "0"),
        ("HOST", "127.0.0.1"),
        ("APP_ENV", "test"),
        ("JWT_SECRET", crate::helpers::JWT_SECRET),
    ]);
    let mut child = api(&["serve"], &env).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
            if entry["message"] == "listening" {
                return entry["address"].as_str().unwrap().to_owned();
            }
        }
        panic!("api serve exited before listening");
    })
    .await
    .expect("api serve started listening within 20s");
    // Keep draining its output so it never blocks on a full pipe.
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            kept.lock().unwrap().push(line);
        }
    });
    (child, address, log)
}

#[tokio::test]
async fn serve_starts_and_stays_live_without_a_database() {
    let url = format!("postgres://nobody@127.0.0.1:{}/none", closed_port());
    let (mut child, address) = serve(&[("DATABASE_URL", &url)]).await;
    let client = reqwest::Client::new();
    let live = client
        .get(format!("http://{address}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let ready = client
        .get(format!("http://{address}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert!(child.try_wait().unwrap().is_none(), "still running");
    terminate(&child).await;
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

#[sqlx::test]
async fn sigterm_lets_an_in_flight_request_finish(_: PgPoolOptions, db: PgConnectOptions) {
    let url = database_url(&db);
    let (mut child, address) =
        serve(&[("DATABASE_URL", &url), ("SHUTDOWN_GRACE_PERIOD", "10s")]).await;

    // Send the headers and half the body, so the request is in flight when SIGTERM lands.
    let body = serde_json::to_vec(&crate::helpers::new_user("drain")).unwrap();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let headers = format!(
        "POST /api/v1/users HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(headers.as_bytes()).await.unwrap();
    stream.write_all(head).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    terminate(&child).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "waits for the in-flight request"
    );

    stream.write_all(tail).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");

    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

/// The URL of the test's database, migrated by `api migrate`.
async fn migrated_database(db: &PgConnectOptions) -> String {
    let url = database_url(db);
    let migrated = finish(api(&["migrate"], &[("DATABASE_URL", &url)])).await;
    assert!(migrated.success, "{}", migrated.output);
    url
}

/// Signs `user` (a sign-up body) up and in at `base`: the created user and its token.
async fn sign_up_and_in(
    client: &reqwest::Client,
    base: &str,
    user: &serde_json::Value,
) -> (serde_json::Value, String) {
    let created = client
        .post(format!("{base}/api/v1/users"))
        .json(user)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.unwrap();
    let token = sign_in(client, base, &user["username"], &user["password"]).await;
    (created, token)
}

/// An access token for `username` and `password` from the server at `base`.
async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    username: &serde_json::Value,
    password: &serde_json::Value,
) -> String {
    let token: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_owned()
}

/// SIGTERM, then up to 10 s for the server to drain and exit.
async fn stop(mut child: Child) {
    terminate(&child).await;
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
}

pub async fn terminate(child: &Child) {
    let pid = child.id().unwrap().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
}

#[sqlx::test]
async fn create_admin_makes_one_administrator_and_refuses_a_taken_name(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let url = database_url(&db);
    let without_password = finish(api(&["create-admin"], &[("DATABASE_URL", &url)])).await;
    assert_eq!(
        without_password.code,
        Some(1),
        "{}",
        without_password.output
    );
    assert!(
        without_password.output.contains("set ADMIN_PASSWORD"),
        "{}",
        without_password.output
    );

    let env = [
        ("DATABASE_URL", url.as_str()),
        ("ADMIN_PASSWORD", crate::helpers::PASSWORD),
        ("ADMIN_USERNAME", "boss"),
    ];
    let created = finish(api(&["create-admin"], &env)).await;
    assert!(created.success, "{}", created.output);
    assert!(
        created.output.contains("created an administrator"),
        "{}",
        created.output
    );
    assert!(
        !created.output.contains(crate::helpers::PASSWORD),
        "the password is never logged"
    );
    let again = finish(api(&["create-admin"], &env)).await;
    assert_eq!(again.code, Some(1));
    assert!(
        again.output.contains("taken") || again.output.contains("exists"),
        "{}",
        again.output
    );
}

#[sqlx::test]
async fn request_logs_never_contain_passwords_or_tokens(_: PgPoolOptions, db: PgConnectOptions) {
    let url = migrated_database(&db).await;
    let (child, address, log) =
        serve_logged(&[("DATABASE_URL", &url), ("LOG_LEVEL", "debug")]).await;
    let client = reqwest::Client::new();
    let base = format!("http://{address}");
    let secret = "a-very-secret-passphrase-42";
    let (_, token) = sign_up_and_in(
        &client,
        &base,
        &serde_json::json!({"email": "log@example.com", "username": "logger", "password": secret}),
    )
    .await;
    let me = client
        .get(format!("{base}/api/v1/users/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let wrong = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "logger", "password": "wrong-but-also-private"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    stop(child).await;

    let lines = log.lock().unwrap().clone();
    let text = lines.join("\n");
    assert!(
        lines
            .iter()
            .filter(|l| l.contains("\"message\":\"request\""))
            .count()
            >= 4,
        "{text}"
    );
    for private in [
        secret,
        "wrong-but-also-private",
        token.as_str(),
        "Bearer",
        "authorization",
    ] {
        assert!(
            !text.contains(private),
            "{private:?} appears in the log:\n{text}"
        );
    }
}

#[sqlx::test]
async fn every_log_line_of_a_request_carries_its_request_id(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let url = migrated_database(&db).await;
    let (child, address, log) = serve_logged(&[("DATABASE_URL", &url)]).await;
    let created = reqwest::Client::new()
        .post(format!("http://{address}/api/v1/users"))
        .header("x-request-id", "trace-me-42")
        .json(&crate::helpers::new_user("traced"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    stop(child).await;
    let lines: Vec<serde_json::Value> = log
        .lock()
        .unwrap()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let handler_line = lines
        .iter()
        .find(|line| line["message"] == "user created")
        .unwrap_or_else(|| panic!("no \"user created\" line: {lines:?}"));
    assert_eq!(
        handler_line["span"]["request_id"], "trace-me-42",
        "{handler_line}"
    );
    let access_line = lines
        .iter()
        .find(|line| line["message"] == "request" && line["route"] == "/api/v1/users")
        .unwrap();
    assert_eq!(access_line["request_id"], "trace-me-42", "{access_line}");
}

/// The statements sqlx ran for the request `request_id`, from its debug log lines.
fn statements_of(log: &[String], request_id: &str) -> Vec<String> {
    log.iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["target"] == "sqlx::query" && line["span"]["request_id"] == request_id)
        .map(|line| line["summary"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[sqlx::test]
async fn reading_a_user_or_a_list_page_with_a_token_is_one_query(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let url = migrated_database(&db).await;
    let admin = finish(api(
        &["create-admin"],
        &[
            ("DATABASE_URL", &url),
            ("ADMIN_USERNAME", "counter"),
            ("ADMIN_PASSWORD", crate::helpers::PASSWORD),
        ],
    ))
    .await;
    assert!(admin.success, "{}", admin.output);
    let (child, address, log) = serve_logged(&[
        ("DATABASE_URL", &url),
        ("RUST_LOG", "info,sqlx::query=debug"),
    ])
    .await;
    let client = reqwest::Client::new();
    let base = format!("http://{address}");
    let (created, token) =
        sign_up_and_in(&client, &base, &crate::helpers::new_user("counted")).await;
    let admin_token = sign_in(
        &client,
        &base,
        &"counter".into(),
        &crate::helpers::PASSWORD.into(),
    )
    .await;
    let admin_token = admin_token.as_str();
    let get = |path: String, token: &str, request_id: &'static str| {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .header("x-request-id", request_id)
            .send()
    };
    let user = created["id"].as_str().unwrap();
    let read = get(format!("/api/v1/users/{user}"), &token, "read")
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let me = get("/api/v1/users/me".into(), &token, "me").await.unwrap();
    assert_eq!(me.status(), 200);
    let refused = get("/api/v1/users".into(), &token, "refused")
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let page = get("/api/v1/users?size=1".into(), admin_token, "page")
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let next: serde_json::Value = page.json().await.unwrap();
    let next = next["next"].as_str().unwrap().to_owned();
    let after = get(
        format!("/api/v1/users?size=1&after={next}"),
        admin_token,
        "after",
    )
    .await
    .unwrap();
    assert_eq!(after.status(), 200);
    stop(child).await;
    let lines = log.lock().unwrap().clone();
    for request in ["me", "read", "refused", "page", "after"] {
        let statements = statements_of(&lines, request);
        assert_eq!(
            statements.len(),
            1,
            "{request}: the caller's check and what it reads come in one statement: {statements:#?}"
        );
    }
}

/// wrk, as `cargo xtask test` finds or installs it.
fn wrk() -> String {
    std::env::var("API_TEST_WRK").expect(
        "API_TEST_WRK names wrk, the HTTP load generator: run these tests through `cargo xtask test` (which installs it), or install wrk (Debian: apt-get install wrk) and set API_TEST_WRK",
    )
}

/// SIGTERM while wrk keeps 16 connections busy: the api keeps serving through the
/// shutdown delay (as a pod does while endpoints and ingresses stop routing to it), so
/// not one request fails or is refused.
#[sqlx::test(migrations = false)]
async fn sigterm_under_load_loses_no_request_during_the_shutdown_delay(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let url = database_url(&db);
    let (mut child, address) = serve(&[
        ("DATABASE_URL", &url),
        ("SHUTDOWN_DELAY", "6s"),
        ("SHUTDOWN_GRACE_PERIOD", "5s"),
    ])
    .await;
    let load = Command::new(wrk())
        .args([
            "--threads",
            "2",
            "--connections",
            "16",
            "--duration",
            "4s",
            "--latency",
        ])
        .arg(format!("http://{address}/healthz"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    terminate(&child).await;
    let output = load.wait_with_output().await.unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("requests in"), "{report}");
    assert!(
        !report.contains("Socket errors"),
        "connections were refused or cut:\n{report}"
    );
    assert!(!report.contains("Non-2xx"), "requests failed:\n{report}");
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

/// Only `serve` signs tokens: it refuses to start without a key outside dev, while
/// `migrate` (the Job, which gets only the database password) runs without one.
#[sqlx::test(migrations = false)]
async fn only_serve_needs_the_signing_key(_: PgPoolOptions, db: PgConnectOptions) {
    let url = database_url(&db);
    let serve = finish(api(
        &["serve"],
        &[("DATABASE_URL", &url), ("APP_ENV", "prod")],
    ))
    .await;
    assert_eq!(serve.code, Some(2), "{}", serve.output);
    assert!(serve.output.contains("JWT_SECRET"), "{}", serve.output);
    let migrate = finish(api(
        &["migrate"],
        &[("DATABASE_URL", &url), ("APP_ENV", "prod")],
    ))
    .await;
    assert!(migrate.success, "{}", migrate.output);
}
