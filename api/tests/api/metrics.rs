//! `/metrics` is valid Prometheus text and counts what happened, by route template.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::TestApp;

#[sqlx::test]
async fn metrics_parse_as_prometheus_text_and_count_requests_by_route_template(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let id = uuid::Uuid::new_v4();
    assert_eq!(
        app.get(&format!("/api/v1/users/{id}")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/no/such/route").await.status(),
        StatusCode::NOT_FOUND
    );

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();

    let value = |name: &str, labels: &[(&str, &str)]| -> Option<f64> {
        scrape.samples.iter().find_map(|s| {
            let matches =
                s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v));
            match (&s.value, matches) {
                (
                    prometheus_parse::Value::Counter(v)
                    | prometheus_parse::Value::Gauge(v)
                    | prometheus_parse::Value::Untyped(v),
                    true,
                ) => Some(*v),
                _ => None,
            }
        })
    };
    assert_eq!(
        value(
            "http_requests_total",
            &[("route", "/healthz"), ("status", "200"), ("method", "GET")]
        ),
        Some(2.0),
        "{text}"
    );
    // That parser's label pattern stops at a `}` inside a quoted value, which the format
    // allows; the templated route is checked line by line instead.
    assert!(
        text.lines().any(|l| l
            == r#"http_requests_total{method="GET",route="/api/v1/users/{id}",status="401"} 1"#),
        "{text}"
    );
    assert_eq!(
        value(
            "http_requests_total",
            &[("route", "(unmatched)"), ("status", "404")]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        !text.contains(&id.to_string()),
        "raw paths never become labels"
    );
    assert!(
        value("http_requests_in_flight", &[]).unwrap() >= 1.0,
        "the scrape itself is in flight"
    );
    assert!(
        value("db_pool_max_connections", &[]).unwrap() >= 1.0,
        "{text}"
    );
    assert!(
        value("db_pool_connections", &[("state", "idle")]).is_some(),
        "{text}"
    );
    assert_eq!(value("db_pool_waiters", &[]), Some(0.0), "{text}");
    assert_eq!(value("rate_limit_fallback", &[]), Some(0.0), "{text}");
    assert_eq!(
        value("app_build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
        Some(1.0),
        "{text}"
    );
    let histogram = scrape.samples.iter().find(|s| {
        s.metric == "http_request_duration_seconds" && s.labels.get("route") == Some("/healthz")
    });
    assert!(
        matches!(
            histogram.map(|s| &s.value),
            Some(prometheus_parse::Value::Histogram(_))
        ),
        "{text}"
    );
}

#[sqlx::test]
async fn made_up_methods_cannot_add_series(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for i in 0..50 {
        let method =
            reqwest::Method::from_bytes(format!("X{i}{}", "Q".repeat(500)).as_bytes()).unwrap();
        let response = app
            .client
            .request(method, app.url("/x"))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error());
    }
    let text = app.get("/metrics").await.text().await.unwrap();
    let series: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("http_requests_total{"))
        .collect();
    assert!(!text.contains("QQQQ"), "{text}");
    assert!(
        series.iter().any(|line| line.contains(r#"method="OTHER""#)
            && line.contains(r#"route="(unmatched)""#)
            && line.ends_with(" 50")),
        "{series:?}"
    );
    assert!(series.len() <= 3, "{series:?}");
}
