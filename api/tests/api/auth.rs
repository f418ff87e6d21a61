//! Sign-in, tokens, who may do what, and the limits on guessing passwords.

use std::time::{Duration, Instant};

use api::auth::token::{Bearer, TokenKeys, now_seconds};
use api::config::JwtSettings;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{JWT_SECRET, PASSWORD, TestApp, bad_fields, expect_error, expect_json};

async fn login(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn keys_for(secret: &str, ttl: u64, audience: &str) -> TokenKeys {
    TokenKeys::new(&JwtSettings {
        secret: secret.as_bytes().to_vec(),
        generated: false,
        ttl: Duration::from_secs(ttl),
        issuer: "api-platform".into(),
        audience: audience.into(),
    })
}

/// Keys as the test servers have them (the default issuer and audience).
fn keys(secret: &str, ttl: u64) -> TokenKeys {
    keys_for(secret, ttl, "api-platform/users")
}

/// A new user's first token version.
fn first_token(id: uuid::Uuid) -> Bearer {
    Bearer {
        user: id,
        version: 0,
    }
}

#[sqlx::test]
async fn signing_in_by_username_or_email_gives_a_working_bearer_token(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let created = app.create_user("ada").await;
    let body = expect_json(
        login(&app, json!({"username": "ada", "password": PASSWORD})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let by_email = expect_json(
        login(
            &app,
            json!({"email": "ADA@example.com", "password": PASSWORD}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app.use_token(by_email["access_token"].as_str().unwrap().to_owned());
    let me = expect_json(app.get("/api/v1/users/me").await, StatusCode::OK).await;
    assert_eq!(me, created);

    let both = login(
        &app,
        json!({"username": "ada", "email": "ada@example.com", "password": PASSWORD}),
    )
    .await;
    let error = expect_error(both, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(bad_fields(&error), ["username"]);
}

#[sqlx::test]
async fn failed_sign_ins_never_say_which_part_was_wrong(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("grace").await;
    app.create_user("sleepy").await;
    app.sign_in_as_admin("root").await;
    let path = format!(
        "/api/v1/users/{}",
        app.get("/api/v1/users?size=100")
            .await
            .json::<Value>()
            .await
            .unwrap()["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == "sleepy")
            .unwrap()["id"]
            .as_str()
            .unwrap()
    );
    expect_json(
        app.send_json(Method::PATCH, &path, &json!({"is_active": false}))
            .await,
        StatusCode::OK,
    )
    .await;

    let mut messages = Vec::new();
    for body in [
        json!({"username": "nobody", "password": PASSWORD}),
        json!({"username": "grace", "password": "wrong password"}),
        json!({"username": "sleepy", "password": PASSWORD}),
        json!({"email": "grace@example.com", "password": "short"}),
    ] {
        let error = expect_error(
            login(&app, body.clone()).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
        messages.push(error["message"].clone());
    }
    assert!(messages.windows(2).all(|w| w[0] == w[1]), "{messages:?}");
}

#[sqlx::test]
async fn missing_malformed_foreign_and_expired_tokens_are_401(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let created = app.create_user("linus").await;
    let id: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();

    let response = app.get("/api/v1/users/me").await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    expect_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let cases = [
        ("Bearer not-a-token".to_owned(), "garbage"),
        (
            format!(
                "Bearer {}",
                keys(&"other-secret-".repeat(4), 60)
                    .issue(first_token(id), now_seconds())
                    .unwrap()
            ),
            "another secret",
        ),
        (
            format!(
                "Bearer {}",
                keys_for(JWT_SECRET, 60, "another-service")
                    .issue(first_token(id), now_seconds())
                    .unwrap()
            ),
            "another audience",
        ),
        (
            format!(
                "Bearer {}",
                keys(JWT_SECRET, 60)
                    .issue(first_token(id), now_seconds() - 3600)
                    .unwrap()
            ),
            "expired",
        ),
        ("Basic bGludXM6cGFzc3dvcmQ=".to_owned(), "basic auth"),
    ];
    for (header, case) in cases {
        let response = app
            .client
            .get(app.url("/api/v1/users/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
    }
    let ours = keys(JWT_SECRET, 60)
        .issue(first_token(id), now_seconds())
        .unwrap();
    app.use_token(ours);
    expect_json(app.get("/api/v1/users/me").await, StatusCode::OK).await;
}

#[sqlx::test]
async fn anonymous_requests_are_401_before_their_path_or_body_is_read(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for (method, path) in [
        (Method::PATCH, "/api/v1/users/not-a-uuid"),
        (Method::GET, "/api/v1/users/not-a-uuid"),
        (Method::DELETE, "/api/v1/users/not-a-uuid"),
        (
            Method::PUT,
            "/api/v1/users/00000000-0000-0000-0000-000000000000",
        ),
        (Method::POST, "/api/v1/users/me/password"),
        (Method::GET, "/api/v1/users?page=0"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer",
            "{method} {path}"
        );
        expect_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
}

#[sqlx::test]
async fn only_administrators_read_list_or_change_other_users(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let bob_path = format!("/api/v1/users/{}", bob["id"].as_str().unwrap());

    app.sign_in_as("alice").await;
    // Another user's email and flags are private: not readable, not listable.
    for path in [bob_path.as_str(), "/api/v1/users", "/api/v1/users?page=2"] {
        let refused = expect_error(app.get(path).await, StatusCode::FORBIDDEN, "forbidden").await;
        assert!(
            refused["message"]
                .as_str()
                .unwrap()
                .contains("administrators"),
            "{refused}"
        );
    }
    expect_error(
        app.send_json(Method::PATCH, &bob_path, &json!({"full_name": "B"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_error(
        app.send_json(
            Method::PUT,
            &bob_path,
            &json!({"full_name": null, "is_active": false}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_error(
        app.delete(&bob_path).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let admin_token = app.sign_in_as_admin("root").await;
    assert!(!admin_token.is_empty());
    let read = expect_json(app.get(&bob_path).await, StatusCode::OK).await;
    assert_eq!(read["email"], "bob@example.com");
    let listed = expect_json(app.get("/api/v1/users").await, StatusCode::OK).await;
    assert_eq!(listed["total"], 3);
    expect_json(
        app.send_json(Method::PATCH, &bob_path, &json!({"full_name": "Bob"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(app.delete(&bob_path).await.status(), StatusCode::NO_CONTENT);

    app.sign_out();
    expect_error(
        app.get("/api/v1/users").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    // Sign-up stays open.
    app.create_user("carol").await;
}

#[sqlx::test]
async fn users_manage_their_own_profile(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("margaret").await;
    app.sign_in_as("margaret").await;
    let me = expect_json(
        app.send_json(
            Method::PATCH,
            "/api/v1/users/me",
            &json!({"full_name": "Margaret H."}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["full_name"], "Margaret H.");
    let error = expect_error(
        app.send_json(
            Method::PATCH,
            "/api/v1/users/me",
            &json!({"is_active": false}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(bad_fields(&error), ["is_active", "full_name"]);
    expect_error(
        app.send_json(Method::PATCH, "/api/v1/users/me", &json!({}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

#[sqlx::test]
async fn changing_a_password_needs_the_current_one(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("barbara").await;
    app.sign_in_as("barbara").await;
    let path = "/api/v1/users/me/password";
    let error = expect_error(
        app.send_json(
            Method::POST,
            path,
            &json!({"old_password": "not it at all", "new_password": "brand new password"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(bad_fields(&error), ["old_password"]);
    let error = expect_error(
        app.send_json(
            Method::POST,
            path,
            &json!({"old_password": PASSWORD, "new_password": "short"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(bad_fields(&error), ["new_password"]);
    let changed = app
        .send_json(
            Method::POST,
            path,
            &json!({"old_password": PASSWORD, "new_password": "brand new password"}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    expect_error(
        login(&app, json!({"username": "barbara", "password": PASSWORD})).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    expect_json(
        login(
            &app,
            json!({"username": "barbara", "password": "brand new password"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

#[sqlx::test]
async fn repeated_failures_lock_the_account_from_that_address_for_a_minute(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("dennis").await;
    for _ in 0..5 {
        let wrong = login(
            &app,
            json!({"username": "Dennis", "password": "wrong password"}),
        )
        .await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits now: the limit is on guesses, not on wrong ones.
    let limited = login(&app, json!({"username": "dennis", "password": PASSWORD})).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    expect_error(limited, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
}

#[sqlx::test]
async fn many_accounts_guessed_from_one_address_are_limited_too(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &[("LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE", "5")]).await;
    app.create_user("ken").await;
    for i in 0..5 {
        let wrong = login(
            &app,
            json!({"username": format!("nobody{i}"), "password": "wrong password"}),
        )
        .await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = login(&app, json!({"username": "ken", "password": PASSWORD})).await;
    expect_error(limited, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
}

/// A sign-in that came through a proxy which set `X-Forwarded-For: client`.
async fn login_via(app: &TestApp, client: &str, username: &str, password: &str) -> StatusCode {
    crate::helpers::sign_in_via(&app.url(""), client, username, password).await
}

/// Five failed sign-ins to five accounts, all from `client` through the proxy.
async fn guess_five_accounts_via(app: &TestApp, client: &str) {
    for i in 0..5 {
        let status = login_via(app, client, &format!("nobody{i}"), "wrong password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[sqlx::test]
async fn behind_an_ingress_nobody_trusts_failures_never_lock_out_everyone(pool: PgPool) {
    // The test client is the "ingress" (127.0.0.1), not in TRUSTED_PROXIES.
    let app = TestApp::spawn(pool).await;
    app.create_user("olga").await;
    guess_five_accounts_via(&app, "198.51.100.1").await;
    assert_eq!(
        login_via(&app, "198.51.100.2", "olga", PASSWORD).await,
        StatusCode::OK,
        "another client through the same ingress signs in"
    );
}

#[sqlx::test]
async fn behind_a_trusted_ingress_the_limit_is_per_forwarded_client(pool: PgPool) {
    let app = TestApp::behind_proxy(pool, &[("LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE", "5")]).await;
    app.create_user("pavel").await;
    guess_five_accounts_via(&app, "198.51.100.1").await;
    assert_eq!(
        login_via(&app, "198.51.100.1", "pavel", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the guessing client waits"
    );
    assert_eq!(
        login_via(&app, "198.51.100.2", "pavel", PASSWORD).await,
        StatusCode::OK,
        "everyone else does not"
    );
    // A client's own claim further out does not move it to another key.
    assert_eq!(
        login_via(&app, "203.0.113.9, 198.51.100.1", "pavel", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[sqlx::test]
async fn an_attacker_at_one_address_cannot_lock_another_out_of_an_account(pool: PgPool) {
    let app = TestApp::behind_proxy(pool, &[]).await;
    app.create_user("victor").await;
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(login_via(&app, "203.0.113.66", "victor", "wrong password").await);
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        5,
        "the attacker gets five guesses, then waits: {statuses:?}"
    );
    assert_eq!(
        login_via(&app, "203.0.113.66", "victor", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_via(&app, "198.51.100.7", "victor", PASSWORD).await,
        StatusCode::OK,
        "the owner, elsewhere, signs in"
    );
}

#[sqlx::test]
async fn the_username_and_the_email_count_against_one_account(pool: PgPool) {
    let app = TestApp::behind_proxy(pool, &[("LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE", "6")]).await;
    app.create_user("wanda").await;
    for (client, name) in [
        ("198.51.100.1", "wanda"),
        ("198.51.100.2", "WANDA@example.com"),
        ("198.51.100.3", "wanda@EXAMPLE.com"),
    ] {
        for _ in 0..2 {
            assert_eq!(
                login_via(&app, client, name, "wrong password").await,
                StatusCode::UNAUTHORIZED
            );
        }
    }
    assert_eq!(
        login_via(&app, "198.51.100.4", "Wanda", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "six guesses at one account, however it was named, reach its limit"
    );
}

/// A 60 KB "username" is no account name: refused before it is looked up or counted, so
/// it cannot fill the limits' memory.
#[sqlx::test]
async fn an_overlong_sign_in_name_is_refused_before_anything_is_counted(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let huge = "x".repeat(60_000);
    for field in ["username", "email"] {
        let error = expect_error(
            login(&app, json!({field: huge, "password": "whatever"})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(bad_fields(&error), [field]);
    }
}

/// Forged forwarding headers from an untrusted peer buy no unlimited guessing: the peer
/// is counted at ten times the per-address limit across accounts.
#[sqlx::test]
async fn a_client_forging_forwarding_headers_is_still_limited_across_accounts(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &[("LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE", "2")]).await;
    let mut statuses = Vec::new();
    for i in 0..25 {
        let forged = format!("198.51.100.{i}");
        statuses.push(login_via(&app, &forged, &format!("nobody{i}"), "wrong password").await);
    }
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(checked, 20, "{statuses:?}");
    assert_eq!(statuses[24], StatusCode::TOO_MANY_REQUESTS);
}

/// Whether a name exists shows neither in the answer nor in the limits: spellings share
/// a counter exactly when the database would find one account under them.
#[sqlx::test]
async fn the_limits_do_not_tell_whether_a_name_exists(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("carol").await;
    for (name, other_spelling) in [("carol", "ｃａｒｏｌ"), ("dave", "ｄａｖｅ")] {
        for _ in 0..5 {
            let wrong = login(
                &app,
                json!({"username": name, "password": "wrong password"}),
            )
            .await;
            assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        }
        let other = login(
            &app,
            json!({"username": other_spelling, "password": "wrong password"}),
        )
        .await;
        assert_eq!(
            other.status(),
            StatusCode::UNAUTHORIZED,
            "{name}: another spelling that finds no account has counters of its own"
        );
        let same = login(
            &app,
            json!({"username": name.to_uppercase(), "password": "x"}),
        )
        .await;
        assert_eq!(same.status(), StatusCode::TOO_MANY_REQUESTS, "{name}");
    }
}

#[sqlx::test]
async fn concurrent_guesses_cannot_slip_under_the_limit(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("xavier").await;
    let guesses = (0..20).map(|_| {
        login(
            &app,
            json!({"username": "xavier", "password": "wrong password"}),
        )
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(guesses)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(checked, 5, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[sqlx::test]
async fn an_unknown_account_costs_as_much_time_as_a_known_one(pool: PgPool) {
    let app = TestApp::spawn_with(
        pool,
        &[
            ("LOGIN_ATTEMPTS_PER_MINUTE", "1000"),
            ("LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE", "1000"),
            ("LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE", "1001"),
        ],
    )
    .await;
    app.create_user("timing").await;
    let time = |body: Value| {
        let app = &app;
        async move {
            let started = Instant::now();
            assert_eq!(login(app, body).await.status(), StatusCode::UNAUTHORIZED);
            started.elapsed()
        }
    };
    // Warm up both paths: the dummy hash is computed once, connections are opened once.
    time(json!({"username": "warm-up", "password": "x"})).await;
    time(json!({"username": "timing", "password": "wrong password"})).await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..4 {
        known.push(time(json!({"username": "timing", "password": "wrong password"})).await);
        unknown
            .push(time(json!({"username": "nobody-at-all", "password": "wrong password"})).await);
    }
    // The fastest of each, to see the work done rather than the noise of a busy machine.
    // Both verify an argon2id hash (tens of milliseconds); without the dummy hash an
    // unknown account answers in a millisecond or two, twenty times faster. The margin
    // leaves room for the known path's extra query on a loaded machine.
    let (known, unknown) = (known.iter().min().unwrap(), unknown.iter().min().unwrap());
    assert!(
        *unknown * 4 >= *known,
        "unknown {unknown:?} vs known {known:?}"
    );
}

#[sqlx::test]
async fn the_bootstrap_admin_is_created_once(pool: PgPool) {
    use api::auth::admin::{AdminOutcome, ensure_admin};
    let admin = api::config::AdminBootstrap {
        username: "chief".into(),
        email: "chief@example.com".into(),
        password: PASSWORD.into(),
    };
    assert_eq!(
        ensure_admin(&pool, &admin).await.unwrap(),
        AdminOutcome::Created("chief".into())
    );
    assert_eq!(
        ensure_admin(&pool, &admin).await.unwrap(),
        AdminOutcome::AlreadyThere
    );
    let app = TestApp::spawn(pool).await;
    app.sign_in_as("chief").await;
    let me = expect_json(app.get("/api/v1/users/me").await, StatusCode::OK).await;
    assert_eq!(me["is_admin"], true);
}

/// A burst of sign-ups larger than the password gate: the ones that cannot get a turn in
/// time are told to retry (503 `busy` with Retry-After), none fails, and the others pass.
#[sqlx::test]
async fn a_burst_of_password_work_is_bounded_and_the_rest_told_to_retry(pool: sqlx::PgPool) {
    let app = crate::helpers::TestApp::spawn_with(
        pool,
        &[
            ("PASSWORD_HASHING_CONCURRENCY", "1"),
            ("PASSWORD_HASHING_WAIT", "20ms"),
        ],
    )
    .await;
    let sign_ups = (0..12).map(|i| {
        let app = &app;
        async move {
            app.post_json(
                "/api/v1/users",
                &crate::helpers::new_user(&format!("burst{i}")),
            )
            .await
        }
    });
    let responses = futures::future::join_all(sign_ups).await;
    let mut created = 0;
    let mut busy = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => created += 1,
            503 => {
                assert!(response.headers().get("retry-after").is_some());
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "busy", "{body}");
                busy += 1;
            }
            other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
        }
    }
    assert!(created >= 1 && busy >= 1, "{created} created, {busy} busy");
}
