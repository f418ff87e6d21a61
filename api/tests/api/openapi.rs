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
