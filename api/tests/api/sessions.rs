//! Sessions end when they should: a password change, a deactivation or a sign-out ends
//! every token issued before it; and the password change is no guessing oracle.

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{PASSWORD, TestApp, expect_error, expect_json};

async fn change_password(app: &TestApp, old: &str, new: &str) -> reqwest::Response {
    app.send_json(
        Method::POST,
        "/api/v1/users/me/password",
        &json!({"old_password": old, "new_password": new}),
    )
    .await
}

async fn expect_revoked(app: &TestApp) {
    let error = expect_error(
        app.get("/api/v1/users/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert!(
        error["message"].as_str().unwrap().contains("sign in again"),
        "{error}"
    );
}

#[sqlx::test]
async fn a_token_issued_before_a_password_change_is_rejected_after_it(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("grace").await;
    let stolen = app.sign_in_as("grace").await;
    let other_device = app.sign_in_as("grace").await;
    let changed = change_password(&app, PASSWORD, "a brand new password").await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    for token in [stolen, other_device] {
        app.use_token(token);
        expect_revoked(&app).await;
    }
    let fresh = expect_json(
        app.post_json(
            "/api/v1/auth/login",
            &json!({"username": "grace", "password": "a brand new password"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app.use_token(fresh["access_token"].as_str().unwrap().to_owned());
    expect_json(app.get("/api/v1/users/me").await, StatusCode::OK).await;
}

#[sqlx::test]
async fn deactivating_a_user_ends_its_tokens_for_good(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let user = app.create_user("heidi").await;
    let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    let old = app.sign_in_as("heidi").await;
    app.sign_in_as_admin("root").await;
    for active in [false, true] {
        expect_json(
            app.send_json(Method::PATCH, &path, &json!({"is_active": active}))
                .await,
            StatusCode::OK,
        )
        .await;
    }
    app.use_token(old);
    expect_revoked(&app).await;
    app.sign_in_as("heidi").await;
    expect_json(app.get("/api/v1/users/me").await, StatusCode::OK).await;
}

#[sqlx::test]
async fn signing_out_ends_every_session(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("ivan").await;
    let laptop = app.sign_in_as("ivan").await;
    app.sign_in_as("ivan").await;
    let out = app.post_json("/api/v1/auth/logout", &json!({})).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    expect_revoked(&app).await;
    app.use_token(laptop);
    expect_revoked(&app).await;
    app.sign_out();
    expect_error(
        app.post_json("/api/v1/auth/logout", &json!({})).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

#[sqlx::test]
async fn guessing_the_current_password_is_limited_like_sign_in(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("judy").await;
    app.sign_in_as("judy").await;
    for i in 0..5 {
        let wrong = change_password(&app, &format!("guess number {i}"), "a new password!").await;
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let limited = change_password(&app, PASSWORD, "a new password!").await;
    assert!(limited.headers().contains_key("retry-after"));
    let error = expect_error(limited, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("password-change"),
        "{error}"
    );
}
