//! The attempt limits kept in Redis: shared by every replica, and standing in-process
//! while Redis is away. These tests need `REDIS_URL` (`cargo xtask test` provides one).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::helpers::{
    PASSWORD, TestApp, database_url, expect_json, required_redis_url, sign_in_via,
};

#[sqlx::test]
async fn two_api_processes_behind_a_trusted_proxy_share_one_sign_in_limit(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let url = database_url(&db);
    let redis = required_redis_url();
    let prefix = format!("test:{}:", uuid::Uuid::new_v4());
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("TRUSTED_PROXIES", "127.0.0.0/8"),
    ];
    let (first, first_address) = crate::cli::serve(&env).await;
    let (second, second_address) = crate::cli::serve(&env).await;
    let replicas = [
        format!("http://{first_address}"),
        format!("http://{second_address}"),
    ];
    let created = reqwest::Client::new()
        .post(format!("{}/api/v1/users", replicas[0]))
        .json(&crate::helpers::new_user("kim"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    // Five guesses from one client, spread over both replicas as a Service would.
    for i in 0..5 {
        let status = sign_in_via(&replicas[i % 2], "198.51.100.9", "kim", "wrong password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    for replica in &replicas {
        assert_eq!(
            sign_in_via(replica, "198.51.100.9", "kim", PASSWORD).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{replica} knows of the guesses the other one saw"
        );
    }
    assert_eq!(
        sign_in_via(&replicas[1], "198.51.100.10", "kim", PASSWORD).await,
        StatusCode::OK
    );
    drop((first, second));
}

#[sqlx::test]
async fn sign_ups_are_limited_per_client_address(pool: PgPool) {
    let app = TestApp::behind_proxy(pool, &[("SIGN_UPS_PER_ADDRESS_PER_HOUR", "2")]).await;
    let sign_up = |client: &'static str, name: &str| {
        app.client
            .post(app.url("/api/v1/users"))
            .header("x-forwarded-for", client)
            .json(&crate::helpers::new_user(name))
            .send()
    };
    for name in ["lena", "lars"] {
        assert_eq!(
            sign_up("203.0.113.5", name).await.unwrap().status(),
            StatusCode::CREATED
        );
    }
    let limited = sign_up("203.0.113.5", "lukas").await.unwrap();
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    crate::helpers::expect_error(limited, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    assert_eq!(
        sign_up("203.0.113.6", "lukas").await.unwrap().status(),
        StatusCode::CREATED,
        "another address signs up"
    );
}

/// A TCP relay to Redis that the test can cut and restore on the same port, as if Redis
/// stopped and came back.
struct Relay {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
    target: String,
}

impl Relay {
    async fn start(target: String) -> Self {
        let mut relay = Self {
            port: 0,
            task: None,
            target,
        };
        relay.open().await;
        relay
    }

    async fn open(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.port = listener.local_addr().unwrap().port();
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            loop {
                let (mut inbound, _) = listener.accept().await.unwrap();
                let target = target.clone();
                links.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    /// Stops listening and drops every open connection (the JoinSet aborts its links).
    fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn readiness_store(base: &str) -> serde_json::Value {
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    expect_json(ready, StatusCode::OK).await["checks"]["rate_limits"].clone()
}

async fn fallback_gauge(base: &str) -> String {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|line| line.starts_with("rate_limit_fallback "))
        .unwrap_or_else(|| panic!("no rate_limit_fallback in\n{text}"))
        .to_owned()
}

#[sqlx::test]
async fn when_redis_stops_the_limits_fall_back_in_process_and_recover(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let redis = reqwest::Url::parse(&required_redis_url()).unwrap();
    let target = format!(
        "{}:{}",
        redis.host_str().unwrap(),
        redis.port().unwrap_or(6379)
    );
    let mut relay = Relay::start(target).await;
    let url = database_url(&db);
    let redis_url = format!("redis://127.0.0.1:{}{}", relay.port, redis.path());
    let prefix = format!("test:{}:", uuid::Uuid::new_v4());
    let (child, address, log) = crate::cli::serve_logged(&[
        ("DATABASE_URL", url.as_str()),
        ("REDIS_URL", redis_url.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("REDIS_TIMEOUT", "300ms"),
    ])
    .await;
    let base = format!("http://{address}");
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{base}/api/v1/users"))
        .json(&crate::helpers::new_user("mona"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let sign_in = |password: &'static str| {
        client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "mona", "password": password}))
            .send()
    };
    assert_eq!(sign_in(PASSWORD).await.unwrap().status(), StatusCode::OK);
    assert_eq!(readiness_store(&base).await["store"], "redis");
    assert_eq!(fallback_gauge(&base).await, "rate_limit_fallback 0");

    relay.cut();
    // Sign-in keeps working, and the limit still holds, counted in-process.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(sign_in("wrong password").await.unwrap().status());
    }
    assert_eq!(
        statuses,
        [
            [StatusCode::UNAUTHORIZED; 5].as_slice(),
            &[StatusCode::TOO_MANY_REQUESTS]
        ]
        .concat()
    );
    let store = readiness_store(&base).await;
    assert_eq!(store["status"], "degraded", "{store}");
    assert_eq!(fallback_gauge(&base).await, "rate_limit_fallback 1");
    let warnings = |log: &std::sync::Mutex<Vec<String>>| {
        log.lock()
            .unwrap()
            .iter()
            .filter(|line| line.contains("Redis is unreachable"))
            .count()
    };
    assert_eq!(warnings(&log), 1, "logged once");

    relay.open().await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    // After the retry interval Redis is tried again; reconnecting may take a moment on a
    // busy machine, so wait (up to 5 s) for readiness to see it.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while readiness_store(&base).await["store"] != "redis" && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Back on Redis, where this client's earlier window is untouched.
    assert_eq!(sign_in(PASSWORD).await.unwrap().status(), StatusCode::OK);
    assert_eq!(readiness_store(&base).await["store"], "redis");
    assert_eq!(fallback_gauge(&base).await, "rate_limit_fallback 0");
    assert_eq!(warnings(&log), 1);
    assert!(
        log.lock()
            .unwrap()
            .iter()
            .any(|line| line.contains("Redis answers again")),
        "recovery is logged"
    );
    drop(child);
}

/// A Redis user of its own, allowed only its own keys, like a managed Redis hands out.
async fn redis_user(admin: &mut redis::aio::MultiplexedConnection, name: &str, password: &str) {
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg(name)
        .arg("on")
        .arg(format!(">{password}"))
        .arg(format!("~test:{name}:*"))
        .arg("+@all")
        .query_async::<()>(admin)
        .await
        .unwrap();
}

#[sqlx::test]
async fn a_password_protected_redis_is_reached_with_the_password_file(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let base = reqwest::Url::parse(&required_redis_url()).unwrap();
    let mut admin = redis::Client::open(base.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let user = format!("limits-{}", uuid::Uuid::new_v4().simple());
    let password = uuid::Uuid::new_v4().to_string();
    redis_user(&mut admin, &user, &password).await;
    let folder = std::env::temp_dir().join(&user);
    std::fs::create_dir_all(&folder).unwrap();
    let (right, wrong) = (folder.join("right"), folder.join("wrong"));
    std::fs::write(&right, format!("{password}\n")).unwrap();
    std::fs::write(&wrong, "not-the-password").unwrap();
    let mut url = base.clone();
    url.set_username(&user).unwrap();
    let (url, prefix, database) = (url.to_string(), format!("test:{user}:"), database_url(&db));
    for (file, store) in [
        (&right, "redis"),
        (&wrong, "in-process (redis unreachable)"),
    ] {
        let file = file.to_string_lossy().into_owned();
        let (child, address) = crate::cli::serve(&[
            ("DATABASE_URL", database.as_str()),
            ("REDIS_URL", url.as_str()),
            ("REDIS_PASSWORD_FILE", file.as_str()),
            ("REDIS_KEY_PREFIX", prefix.as_str()),
        ])
        .await;
        let base = format!("http://{address}");
        assert_eq!(readiness_store(&base).await["store"], store);
        let status = reqwest::Client::new()
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "nobody", "password": "wrong password"}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        drop(child);
    }
    // The sign-in with the right password file counted in Redis: its pair, address and
    // account counters, under the prefix, as fixed-size digests.
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(
        keys.iter().all(|key| key.len() == prefix.len() + 32),
        "{keys:?}"
    );
    redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&user)
        .query_async::<()>(&mut admin)
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(folder);
}
