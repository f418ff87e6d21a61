//! Client mistakes get the shared JSON error shape with the right status, never a 500.

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use sqlx::PgPool;

use crate::helpers::{TestApp, expect_error, new_user};

#[sqlx::test]
async fn malformed_json_is_a_bad_request_with_a_position(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app
        .client
        .post(app.url("/api/v1/users"))
        .header(CONTENT_TYPE, "application/json")
        .body(r#"{"email": "a@b.co","#)
        .send()
        .await
        .unwrap();
    let error = expect_error(response, StatusCode::BAD_REQUEST, "malformed_json").await;
    assert!(
        error["message"].as_str().unwrap().contains("column"),
        "{error}"
    );
}

#[sqlx::test]
async fn a_non_json_content_type_is_unsupported(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let body = new_user("eve").to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = app.client.post(app.url("/api/v1/users")).body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        expect_error(
            request.send().await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
    let charset = app
        .client
        .post(app.url("/api/v1/users"))
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(charset.status(), StatusCode::CREATED);
}

#[sqlx::test]
async fn a_body_over_64_kib_is_too_large(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let mut user = new_user("mallory");
    user["full_name"] = serde_json::Value::String("x".repeat(70 * 1024));
    let response = app.post_json("/api/v1/users", &user).await;
    expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    // Without a Content-Length (chunked), the limit is enforced while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(vec![b' '; 40 * 1024]), Ok(vec![b' '; 40 * 1024])];
    let response = app
        .client
        .post(app.url("/api/v1/users"))
        .header(CONTENT_TYPE, "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[sqlx::test]
async fn unknown_routes_and_wrong_methods_use_the_error_shape(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let error = expect_error(
        app.get("/api/v1/nothing-here").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("/api/v1/nothing-here")
    );

    let response = app
        .client
        .delete(app.url("/api/v1/users"))
        .send()
        .await
        .unwrap();
    let allow = response.headers()["allow"].to_str().unwrap().to_owned();
    expect_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");

    let response = app.client.post(app.url("/healthz")).send().await.unwrap();
    expect_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[sqlx::test]
async fn json_that_is_not_an_object_is_a_validation_error(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for body in ["[]", "\"text\"", "42", "null"] {
        let response = app
            .client
            .post(app.url("/api/v1/users"))
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        expect_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    let empty = app
        .client
        .post(app.url("/api/v1/users"))
        .header(CONTENT_TYPE, "application/json")
        .send()
        .await
        .unwrap();
    expect_error(empty, StatusCode::BAD_REQUEST, "malformed_json").await;
}
