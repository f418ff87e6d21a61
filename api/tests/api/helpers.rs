//! Spawning the app on a test database, and small request/assertion helpers.

use std::collections::HashMap;
use std::net::SocketAddr;

use api::Application;
use api::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub pool: PgPool,
    /// The bearer token `get`, `send_json` and `delete` send, once a test signs in.
    token: std::sync::Mutex<Option<String>>,
}

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple";

/// The signing secret of every test server.
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// Settings for a test server: a free port on loopback, short timeouts, the attempt
/// counters in `REDIS_URL` under a prefix of its own when that is set (`cargo xtask
/// test` sets it), and sign-ups not limited (tests make many users from loopback).
/// `extra` overrides.
pub fn test_config(extra: &[(&str, &str)]) -> Config {
    let redis = redis_env();
    let mut vars: HashMap<&str, &str> = HashMap::from([
        // The pool is handed in separately; this only has to parse.
        ("DATABASE_URL", "postgres://unused@127.0.0.1:1/unused"),
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("APP_ENV", "test"),
        ("READINESS_TIMEOUT", "1s"),
        ("JWT_SECRET", JWT_SECRET),
        ("SIGN_UPS_PER_ADDRESS_PER_HOUR", "100000"),
    ]);
    vars.extend(redis.iter().map(|(k, v)| (*k, v.as_str())));
    vars.extend(extra.iter().copied());
    Config::from_lookup(|name| vars.get(name).map(|v| (*v).to_owned())).unwrap()
}

/// `REDIS_URL` and a fresh `REDIS_KEY_PREFIX`, when `REDIS_URL` is set.
pub fn redis_env() -> Vec<(&'static str, String)> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => vec![
            ("REDIS_URL", url),
            (
                "REDIS_KEY_PREFIX",
                format!("test:{}:", uuid::Uuid::new_v4()),
            ),
        ],
        _ => vec![],
    }
}

/// `REDIS_URL`, for the tests that are about Redis itself.
pub fn required_redis_url() -> String {
    std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .expect("set REDIS_URL=redis://127.0.0.1:6379 for the Redis tests (cargo xtask test does)")
}

impl TestApp {
    pub async fn spawn(pool: PgPool) -> Self {
        Self::spawn_with(pool, &[]).await
    }

    pub async fn spawn_with(pool: PgPool, extra: &[(&str, &str)]) -> Self {
        let config = test_config(extra);
        let app = Application::build(&config, pool.clone()).await.unwrap();
        let address = app.local_addr();
        tokio::spawn(app.run_until(std::future::pending()));
        Self {
            address,
            client: reqwest::Client::new(),
            pool,
            token: std::sync::Mutex::new(None),
        }
    }

    /// A server behind a trusted proxy on loopback: `X-Forwarded-For` names the client.
    pub async fn behind_proxy(pool: PgPool, extra: &[(&str, &str)]) -> Self {
        let mut settings = vec![("TRUSTED_PROXIES", "127.0.0.0/8")];
        settings.extend_from_slice(extra);
        Self::spawn_with(pool, &settings).await
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.token.lock().unwrap().as_deref() {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Signs in as `username` (with [`PASSWORD`]); later requests carry the token.
    pub async fn sign_in_as(&self, username: &str) -> String {
        let response = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        let body = expect_json(response, StatusCode::OK).await;
        let token = body["access_token"].as_str().unwrap().to_owned();
        *self.token.lock().unwrap() = Some(token.clone());
        token
    }

    /// Creates an administrator named `name` and signs in as it.
    pub async fn sign_in_as_admin(&self, name: &str) -> String {
        let admin = api::config::AdminBootstrap {
            username: name.to_owned(),
            email: format!("{name}@example.com"),
            password: PASSWORD.to_owned(),
        };
        api::auth::admin::create_admin(&self.pool, &admin)
            .await
            .unwrap();
        self.sign_in_as(name).await
    }

    /// Sends `token` from now on.
    pub fn use_token(&self, token: String) {
        *self.token.lock().unwrap() = Some(token);
    }

    pub fn sign_out(&self) {
        *self.token.lock().unwrap() = None;
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.authorized(self.client.delete(self.url(path)))
            .send()
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.authorized(self.client.get(self.url(path)))
            .send()
            .await
            .unwrap()
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.authorized(self.client.request(method, self.url(path)))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    /// Posts `body` with `Idempotency-Key: key`.
    pub async fn post_with_key(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.authorized(self.client.post(self.url(path)))
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Opens an account for the signed-in user; its JSON.
    pub async fn open_account(&self, name: &str, currency: &str) -> Value {
        let body = json!({"name": name, "currency": currency});
        expect_json(
            self.post_json("/api/v1/accounts", &body).await,
            StatusCode::CREATED,
        )
        .await
    }

    /// Deposits `amount` into `account` under a fresh key; the movement's JSON.
    pub async fn deposit(&self, account: &str, amount: i64) -> Value {
        let key = uuid::Uuid::new_v4().to_string();
        let path = format!("/api/v1/accounts/{account}/deposits");
        let response = self
            .post_with_key(&path, &key, &json!({"amount": amount}))
            .await;
        expect_json(response, StatusCode::CREATED).await
    }

    /// The balance of `account`, as its owner (signed in) reads it.
    pub async fn balance(&self, account: &str) -> i64 {
        let response = self.get(&format!("/api/v1/accounts/{account}")).await;
        expect_json(response, StatusCode::OK).await["balance"]
            .as_i64()
            .unwrap()
    }

    /// Creates a user named `name` (email `name@example.com`) and returns its JSON.
    pub async fn create_user(&self, name: &str) -> Value {
        let response = self.post_json("/api/v1/users", &new_user(name)).await;
        expect_json(response, StatusCode::CREATED).await
    }
}

pub fn new_user(name: &str) -> Value {
    json!({
        "email": format!("{name}@example.com"),
        "username": name,
        "full_name": format!("{name} Example"),
        "password": PASSWORD,
    })
}

/// Asserts the status and returns the JSON body.
pub async fn expect_json(response: reqwest::Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("body is not JSON ({err}): {text}"))
}

/// Asserts an error response in the one shared shape, and returns its `error` object.
pub async fn expect_error(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    let echoed_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = expect_json(response, status).await;
    let error = body["error"].clone();
    assert_eq!(error["code"], code, "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(
        error["request_id"].as_str().map(str::to_owned),
        echoed_id,
        "{body}"
    );
    error
}

/// The `field` names of a validation error, in order.
pub fn bad_fields(error: &Value) -> Vec<String> {
    error["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect()
}

/// A `DATABASE_URL` for the database behind a `#[sqlx::test]`'s connect options.
pub fn database_url(options: &sqlx::postgres::PgConnectOptions) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set by the test harness");
    let mut url = reqwest::Url::parse(&base).unwrap();
    url.set_path(options.get_database().unwrap());
    url.to_string()
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A sign-in at the server at `base` (`http://host:port`) that came through a proxy which
/// set `X-Forwarded-For: client`; its status.
pub async fn sign_in_via(base: &str, client: &str, username: &str, password: &str) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .header("x-forwarded-for", client)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}
