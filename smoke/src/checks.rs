//! The smoke checks themselves: plain HTTP, judged by status codes and bodies.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use super::{CheckResult, SmokeOptions, SmokeReport, timed};

/// Runs every check in order; the user round trip only when readiness passed.
pub async fn run_all(options: &SmokeOptions) -> SmokeReport {
    let base = options.base_url.trim_end_matches('/').to_owned();
    let client = match Client::builder().timeout(options.request_timeout).build() {
        Ok(client) => client,
        Err(err) => {
            let failed = CheckResult {
                name: "http client",
                passed: false,
                duration_ms: 0.0,
                detail: err.to_string(),
            };
            return SmokeReport {
                base_url: base,
                passed: false,
                checks: vec![failed],
            };
        }
    };
    let api = Api {
        client,
        base: base.clone(),
    };
    let mut checks = vec![
        timed(
            "liveness",
            api.poll("/healthz", options.ready_deadline, Retry::OnlyUnreachable),
        )
        .await,
        timed(
            "readiness",
            api.poll("/readyz", options.ready_deadline, Retry::UntilOk),
        )
        .await,
    ];
    let ready = checks.iter().all(|c| c.passed);
    if options.database_check {
        checks.push(timed("database check", api.db_check()).await);
    }
    if ready {
        checks.push(timed("web app", api.web_app()).await);
        checks.push(timed("user round trip", api.user_round_trip()).await);
        checks.push(
            timed(
                "banking round trip",
                api.banking_round_trip(options.notification_deadline),
            )
            .await,
        );
    }
    let passed = checks.iter().all(|c| c.passed);
    SmokeReport {
        base_url: base,
        passed,
        checks,
    }
}

struct Api {
    client: Client,
    base: String,
}

/// Which failures a poll waits out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Only an unreachable server; any answer other than 200 fails at once.
    OnlyUnreachable,
    /// Any failure.
    UntilOk,
}

impl Api {
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(StatusCode, Value), String> {
        let (status, text) = self.send_text(request).await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, body))
    }

    /// The status and the body as text, whatever its type.
    async fn send_text(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, String), String> {
        let response = request.send().await.map_err(|err| describe(&err))?;
        let status = response.status();
        let text = response.text().await.map_err(|err| describe(&err))?;
        Ok((status, text))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Polls `path` with backoff until it answers 200 or the deadline passes. A server not
    /// reachable yet (connection refused, the ingress's certificate not issued yet on a
    /// first deploy) is always waited for; a wrong answer only with `Retry::UntilOk`.
    async fn poll(&self, path: &str, deadline: Duration, retry: Retry) -> Result<String, String> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(250);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let last = match self.send(self.client.get(self.url(path))).await {
                Ok((StatusCode::OK, _)) if attempts == 1 => {
                    return Ok(format!("GET {path}: 200 OK"));
                }
                Ok((StatusCode::OK, _)) => {
                    return Ok(format!("GET {path}: 200 OK after {attempts} attempt(s)"));
                }
                Ok((status, body)) if retry == Retry::OnlyUnreachable => {
                    return Err(format!(
                        "GET {path}: expected 200 OK, got {status}: {}",
                        error_message(&body)
                    ));
                }
                Ok((status, body)) => format!("{status}: {}", error_message(&body)),
                Err(err) => err,
            };
            if started.elapsed() + backoff > deadline {
                let state = if retry == Retry::UntilOk {
                    "not ready"
                } else {
                    "not reachable"
                };
                return Err(format!(
                    "GET {path}: {state} within {deadline:?} ({attempts} attempts); last: {last}"
                ));
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    async fn db_check(&self) -> Result<String, String> {
        let (status, body) = self.send(self.client.get(self.url("/db-check"))).await?;
        if status != StatusCode::OK {
            return Err(format!("GET /db-check: {status}: {}", error_message(&body)));
        }
        let database = &body["database"];
        match database["migration_version"].as_i64() {
            Some(version) => Ok(format!(
                "PostgreSQL {}, schema {version}, {:.1}ms round trip",
                database["server_version"].as_str().unwrap_or("?"),
                database["round_trip_ms"].as_f64().unwrap_or(0.0)
            )),
            None => Err("the database has no migrations applied; run `api migrate`".into()),
        }
    }

    /// The web app's entry page under `/app/`, and the script it loads: an image built
    /// without the app answers 404 there.
    async fn web_app(&self) -> Result<String, String> {
        let entry = self.fetch_text("/app/").await?;
        if !entry.contains("id=\"root\"") {
            return Err(format!(
                "GET /app/ is not the web app's entry page: {}; build the image with `cargo xtask build`, which builds the app into the api",
                entry.chars().take(120).collect::<String>()
            ));
        }
        let script = entry
            .split('"')
            .find(|part| part.starts_with("/app/assets/") && part.ends_with(".js"))
            .ok_or("the entry page at /app/ loads no script from /app/assets/")?;
        let code = self.fetch_text(script).await?;
        Ok(format!("entry page and {script} ({} bytes)", code.len()))
    }

    /// GET `path` as text, failing on any status but 200.
    async fn fetch_text(&self, path: &str) -> Result<String, String> {
        let (status, text) = self
            .send_text(self.client.get(self.url(path)))
            .await
            .map_err(|err| format!("GET {path}: {err}"))?;
        if status != StatusCode::OK {
            let hint = if text.contains("cargo xtask build") {
                "; this api was built without the web app: build it with `cargo xtask build`"
            } else {
                ""
            };
            return Err(format!("GET {path}: {status}{hint}"));
        }
        Ok(text)
    }

    /// Sign up, sign in, read, update and delete a user of its own (always trying to
    /// delete it), check that it may not list other users (only administrators may), and
    /// that it can no longer sign in once deleted.
    async fn user_round_trip(&self) -> Result<String, String> {
        let (name, password, created) = self.sign_up("smoke").await?;
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        let token = self.sign_in(&name, &password).await?;
        let path = format!("/api/v1/users/{id}");
        let steps = self.read_list_update(&path, &id, &token).await;
        let cleanup = self
            .send(self.client.delete(self.url(&path)).bearer_auth(&token))
            .await;
        steps?;
        match cleanup {
            Ok((StatusCode::NO_CONTENT, _)) => {}
            Ok((status, body)) => {
                return Err(format!(
                    "delete: expected 204, got {status}: {}",
                    error_message(&body)
                ));
            }
            Err(err) => return Err(format!("delete: {err}")),
        }
        match self.sign_in(&name, &password).await {
            Err(_) => Ok(format!(
                "signed up, signed in, read, was refused the user list, updated and deleted {name}"
            )),
            Ok(_) => Err("after delete, the user could still sign in".into()),
        }
    }

    /// Signs up a user of its own, named `<prefix>-<random>`: its name, password and the
    /// created user.
    async fn sign_up(&self, prefix: &str) -> Result<(String, String, Value), String> {
        let name = format!(
            "{prefix}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let password = uuid::Uuid::new_v4().to_string();
        let (status, created) = self
            .send(self.client.post(self.url("/api/v1/users")).json(&json!({
                "email": format!("{name}@smoke.invalid"),
                "username": name,
                "full_name": "Smoke Test",
                "password": password,
            })))
            .await?;
        if status != StatusCode::CREATED {
            return Err(format!(
                "create: expected 201, got {status}: {}",
                error_message(&created)
            ));
        }
        Ok((name, password, created))
    }

    async fn sign_in(&self, username: &str, password: &str) -> Result<String, String> {
        let (status, body) = self
            .send(
                self.client
                    .post(self.url("/api/v1/auth/login"))
                    .json(&json!({"username": username, "password": password})),
            )
            .await?;
        match body["access_token"].as_str() {
            Some(token) if status == StatusCode::OK => Ok(token.to_owned()),
            _ => Err(format!(
                "sign in: expected 200 with a token, got {status}: {}",
                error_message(&body)
            )),
        }
    }

    async fn read_list_update(&self, path: &str, id: &str, token: &str) -> Result<(), String> {
        let (status, fetched) = self
            .send(self.client.get(self.url(path)).bearer_auth(token))
            .await?;
        if status != StatusCode::OK || fetched["id"] != id {
            return Err(format!(
                "read: expected 200 with the user, got {status}: {}",
                error_message(&fetched)
            ));
        }
        let (status, page) = self
            .send(
                self.client
                    .get(self.url("/api/v1/users?page=1&size=100"))
                    .bearer_auth(token),
            )
            .await?;
        if status != StatusCode::FORBIDDEN {
            return Err(format!(
                "list: expected 403 for a user who is not an administrator (user data is \
                 private), got {status}: {}",
                error_message(&page)
            ));
        }
        let (status, updated) = self
            .send(
                self.client
                    .patch(self.url(path))
                    .bearer_auth(token)
                    .json(&json!({"full_name": "Smoke Test Updated"})),
            )
            .await?;
        if status != StatusCode::OK || updated["full_name"] != "Smoke Test Updated" {
            return Err(format!(
                "update: expected 200 with the new name, got {status}: {}",
                error_message(&updated)
            ));
        }
        Ok(())
    }

    /// A user of its own opens two accounts, deposits into one, transfers to the other,
    /// waits for the transfer's notification (when a worker runs), then withdraws the
    /// money, closes both accounts and deactivates itself (the ledger keeps users who
    /// held accounts, so it cannot be deleted).
    async fn banking_round_trip(&self, deadline: Option<Duration>) -> Result<String, String> {
        let (_, index) = self.send(self.client.get(self.url("/"))).await?;
        let currency = index["currencies"][0].as_str().unwrap_or("EUR").to_owned();
        let (name, password, created) = self.sign_up("smoke-bank").await?;
        let customer = Customer {
            api: self,
            token: self.sign_in(&name, &password).await?,
        };
        let outcome = customer.move_money(&currency, deadline).await;
        let id = created["id"].as_str().unwrap_or_default();
        let deactivated = self
            .send(
                self.client
                    .patch(self.url(&format!("/api/v1/users/{id}")))
                    .bearer_auth(&customer.token)
                    .json(&json!({"is_active": false})),
            )
            .await;
        let detail = outcome?;
        match deactivated {
            Ok((StatusCode::OK, _)) => Ok(format!("{detail}; deactivated {name}")),
            Ok((status, body)) => Err(format!(
                "deactivate: expected 200, got {status}: {}",
                error_message(&body)
            )),
            Err(err) => Err(format!("deactivate: {err}")),
        }
    }
}

/// A signed-in user of the banking round trip.
struct Customer<'a> {
    api: &'a Api,
    token: String,
}

impl Customer<'_> {
    /// POSTs `body` to `path` and expects `expected`; the answer's body.
    async fn post(
        &self,
        what: &str,
        path: &str,
        body: Value,
        expected: StatusCode,
    ) -> Result<Value, String> {
        let request = self
            .api
            .client
            .post(self.api.url(path))
            .bearer_auth(&self.token)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&body);
        let (status, answer) = self.api.send(request).await?;
        if status == expected {
            Ok(answer)
        } else {
            Err(format!(
                "{what}: expected {expected}, got {status}: {}",
                error_message(&answer)
            ))
        }
    }

    /// Waits until a notification about `movement` arrives; how long it took.
    async fn notified(&self, movement: &str, deadline: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        loop {
            let request = self
                .api
                .client
                .get(self.api.url("/api/v1/notifications"))
                .bearer_auth(&self.token);
            let (status, page) = self.api.send(request).await?;
            if status != StatusCode::OK {
                return Err(format!(
                    "notifications: expected 200, got {status}: {}",
                    error_message(&page)
                ));
            }
            let arrived = page["notifications"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|n| n["data"]["movement_id"] == movement);
            if arrived {
                return Ok(started.elapsed());
            }
            if started.elapsed() > deadline {
                return Err(format!(
                    "the transfer's notification did not arrive within {deadline:?}: is `api worker` \
                     running, and connected to RabbitMQ (its /readyz says)?"
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn move_money(
        &self,
        currency: &str,
        deadline: Option<Duration>,
    ) -> Result<String, String> {
        let open = |name: &'static str| {
            self.post(
                "open an account",
                "/api/v1/accounts",
                json!({"name": name, "currency": currency}),
                StatusCode::CREATED,
            )
        };
        let from = open("Smoke from").await?["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let to = open("Smoke to").await?["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.post(
            "deposit",
            &format!("/api/v1/accounts/{from}/deposits"),
            json!({"amount": 100, "description": "smoke test"}),
            StatusCode::CREATED,
        )
        .await?;
        let transfer = self
            .post(
                "transfer",
                "/api/v1/transfers",
                json!({"from_account_id": from, "to_account_id": to, "amount": 100, "description": "smoke test"}),
                StatusCode::CREATED,
            )
            .await?;
        if transfer["balance_after"] != 0 {
            return Err(format!(
                "transfer: expected the source emptied, got {transfer}"
            ));
        }
        let movement = transfer["id"].as_str().unwrap_or_default();
        let notified = match deadline {
            Some(deadline) => {
                let took = self.notified(movement, deadline).await?;
                format!("notified after {:.1}s", took.as_secs_f64())
            }
            None => "no worker: notification not awaited".to_owned(),
        };
        self.post(
            "withdraw",
            &format!("/api/v1/accounts/{to}/withdrawals"),
            json!({"amount": 100}),
            StatusCode::CREATED,
        )
        .await?;
        for account in [&from, &to] {
            self.post(
                "close an account",
                &format!("/api/v1/accounts/{account}/close"),
                json!({}),
                StatusCode::OK,
            )
            .await?;
        }
        Ok(format!(
            "opened two {currency} accounts, deposited, transferred, {notified}, withdrew and closed them"
        ))
    }
}

fn error_message(body: &Value) -> String {
    body["error"]["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| body.to_string().chars().take(200).collect())
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "request timed out".to_owned()
    } else if err.is_connect() {
        format!("cannot connect: {err}")
    } else {
        err.to_string()
    }
}
