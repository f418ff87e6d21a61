//! Security headers on every response; CORS only for configured origins.

use reqwest::{Method, StatusCode};
use sqlx::PgPool;

use crate::helpers::TestApp;

#[sqlx::test]
async fn every_response_carries_the_security_headers(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for (path, status) in [
        ("/healthz", 200),
        ("/nowhere", 404),
        ("/api/v1/users/me", 401),
        ("/api/v1/users?size=0", 401),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'"),
            "{path}"
        );
        assert!(
            headers["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age="),
            "{path}"
        );
        assert_eq!(headers["cache-control"], "no-store", "{path}");
    }
}

/// Swagger UI's page and its bundled scripts load under a policy of their own; the API's
/// strict one would block them (and tempt someone to turn the headers off).
#[sqlx::test]
async fn the_docs_page_gets_a_policy_that_lets_swagger_ui_run(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let page = app.get("/docs/").await;
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    // Every script the page loads comes from this origin.
    assert!(html.matches("src=\"").count() >= 1, "{html}");
    for src in html.split("src=\"").skip(1) {
        let src = src.split('"').next().unwrap();
        assert!(!src.starts_with("http"), "an outside script: {src}");
        let script = app
            .get(&format!("/docs/{}", src.trim_start_matches("./")))
            .await;
        assert_eq!(script.status(), StatusCode::OK, "{src}");
        // The bundle is embedded compressed; it must arrive inflated and whole.
        assert!(
            script.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("javascript"),
            "{src}"
        );
        let body = script.text().await.unwrap();
        assert!(body.len() > 100_000, "{src}: {} bytes", body.len());
        assert!(
            body.contains("SwaggerUI"),
            "{src} is not Swagger UI's script"
        );
    }
    let api = app.get("/healthz").await;
    assert_eq!(
        api.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

#[sqlx::test]
async fn cors_answers_only_the_configured_origins(pool: PgPool) {
    let app =
        TestApp::spawn_with(pool, &[("CORS_ALLOWED_ORIGINS", "https://app.example.com")]).await;
    let allowed = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let exposed = allowed.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("idempotent-replayed"), "{exposed}");
    assert!(
        allowed
            .headers()
            .get_all("vary")
            .iter()
            .any(|v| v == "origin")
    );
    let other = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/v1/users"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight("https://app.example.com").await.unwrap();
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert!(
        ok.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    let allowed = ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    // A browser client elsewhere must be able to send a movement's key.
    for header in ["authorization", "content-type", "idempotency-key"] {
        assert!(allowed.contains(header), "{header} in {allowed}");
    }
    let refused = preflight("https://evil.example.com").await.unwrap();
    assert_ne!(refused.status(), StatusCode::NO_CONTENT);
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[sqlx::test]
async fn no_origin_is_allowed_by_default(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
