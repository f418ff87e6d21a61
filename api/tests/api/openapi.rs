//! The OpenAPI document is generated from the code and lists every route the router serves.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{TestApp, expect_json};

/// `(METHOD, /path)` of every handler in the router, read from its printed tree.
fn served_routes() -> BTreeSet<(String, String)> {
    let tree = format!("{:?}", api::http::router());
    let mut stack: Vec<String> = Vec::new();
    let mut routes = BTreeSet::new();
    for line in tree.lines() {
        let Some(at) = line.find("──") else {
            continue;
        };
        let depth = line[..at].chars().count() / 4;
        let item = line[at + "──".len()..].trim();
        stack.truncate(depth);
        if let Some(method) = item
            .strip_prefix('[')
            .and_then(|rest| rest.split(']').next())
        {
            let path: String = stack
                .iter()
                .skip(1)
                // A router without a path of its own (a group sharing a hoop) prints as `!NULL!`.
                .filter(|s| !s.is_empty() && *s != "!NULL!")
                .map(|s| format!("/{s}"))
                .collect();
            routes.insert((
                method.to_owned(),
                if path.is_empty() {
                    "/".to_owned()
                } else {
                    path
                },
            ));
        } else {
            stack.push(item.trim_matches('/').to_owned());
        }
    }
    routes
}

#[sqlx::test]
async fn the_document_lists_every_route_the_router_serves(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let document = expect_json(app.get("/openapi.json").await, StatusCode::OK).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let served = served_routes();
    assert!(served.len() >= 17, "{served:?}");
    assert_eq!(documented, served, "documented vs served routes");
}

#[sqlx::test]
async fn operations_describe_bodies_errors_and_security(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let document = expect_json(app.get("/openapi.json").await, StatusCode::OK).await;
    let operation = |path: &str, method: &str| document["paths"][path][method].clone();

    let create = operation("/api/v1/users", "post");
    let body_schema = &create["requestBody"]["content"]["application/json"]["schema"];
    assert!(!body_schema.is_null(), "{create}");
    assert!(
        create["responses"]["201"].is_object() && create["responses"]["409"].is_object(),
        "{create}"
    );
    assert!(create.get("security").is_none(), "sign-up is open");
    let error = &create["responses"]["422"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(
        error, "#/components/schemas/api.error.ErrorBody",
        "{create}"
    );

    let patch = operation("/api/v1/users/{id}", "patch");
    assert_eq!(
        patch["security"][0]["bearer"],
        Value::Array(vec![]),
        "{patch}"
    );
    assert_eq!(patch["parameters"][0]["name"], "id");
    for status in ["200", "401", "403", "404", "422"] {
        assert!(patch["responses"][status].is_object(), "{status}: {patch}");
    }
    let login = operation("/api/v1/auth/login", "post");
    assert!(login["responses"]["429"].is_object(), "{login}");

    let schemas = document["components"]["schemas"].as_object().unwrap();
    let example_count = schemas
        .values()
        .filter(|schema| schema.get("examples").is_some())
        .count();
    assert!(
        example_count >= 6,
        "request and response shapes carry examples: {schemas:?}"
    );
    assert!(document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer");
}

/// Every operation that reads a JSON body documents what a bad body gets: 400 for
/// malformed JSON, 413, 415 and 422.
#[sqlx::test]
async fn every_body_reading_operation_lists_its_body_errors(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let document = expect_json(app.get("/openapi.json").await, StatusCode::OK).await;
    let mut checked = 0;
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            if operation.get("requestBody").is_none() {
                continue;
            }
            checked += 1;
            for status in ["400", "413", "415", "422"] {
                assert!(
                    operation["responses"][status].is_object(),
                    "{method} {path} does not list {status}"
                );
            }
        }
    }
    assert!(checked >= 6, "{checked}");
    // And the api does answer malformed JSON with that 400.
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    crate::helpers::expect_error(response, StatusCode::BAD_REQUEST, "malformed_json").await;
}

/// The sign-up schema's properties and constraints are the ones the api enforces: each
/// documented bound is tried on both sides against the real parser.
#[sqlx::test]
async fn the_sign_up_schema_states_the_rules_the_api_enforces(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let document = expect_json(app.get("/openapi.json").await, StatusCode::OK).await;
    let reference = document["paths"]["/api/v1/users"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap();
    let schema = &document["components"]["schemas"][reference.rsplit('/').next().unwrap()];
    let properties = schema["properties"].as_object().unwrap();
    let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["email", "full_name", "password", "username"]);
    let bound = |field: &str, key: &str| properties[field][key].as_u64().unwrap() as usize;
    let username = &properties["username"];
    assert_eq!(username["pattern"], "^[A-Za-z0-9_.-]{3,50}$", "{username}");

    let sign_up = |name: String, password: String| {
        let body = serde_json::json!({
            "email": format!("u{}@example.com", uuid::Uuid::new_v4().simple()),
            "username": name,
            "password": password,
        });
        let app = &app;
        async move { app.post_json("/api/v1/users", &body).await.status() }
    };
    let ok_password = "p".repeat(bound("password", "minLength"));
    let (min, max) = (
        bound("username", "minLength"),
        bound("username", "maxLength"),
    );
    for (name, expected) in [
        ("a".repeat(min - 1), StatusCode::UNPROCESSABLE_ENTITY),
        ("a".repeat(min), StatusCode::CREATED),
        ("b".repeat(max), StatusCode::CREATED),
        ("c".repeat(max + 1), StatusCode::UNPROCESSABLE_ENTITY),
        ("has space".to_owned(), StatusCode::UNPROCESSABLE_ENTITY),
        ("dots.and-dash_1".to_owned(), StatusCode::CREATED),
    ] {
        assert_eq!(
            sign_up(name.clone(), ok_password.clone()).await,
            expected,
            "{name}"
        );
    }
    let (min, max) = (
        bound("password", "minLength"),
        bound("password", "maxLength"),
    );
    for (length, expected) in [
        (min - 1, StatusCode::UNPROCESSABLE_ENTITY),
        (max, StatusCode::CREATED),
        (max + 1, StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let name = format!("pw{length}");
        assert_eq!(
            sign_up(name, "x".repeat(length)).await,
            expected,
            "password {length}"
        );
    }
    assert_eq!(bound("email", "maxLength"), 254);
}

#[sqlx::test]
async fn swagger_ui_is_served_at_docs(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app.get("/docs/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("swagger")
    );
}
