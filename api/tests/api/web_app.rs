//! The web app under `/app/`: served with its caching and security policy, and every
//! flow of it in a real browser (Debian's Chromium, driven by `web/e2e` through
//! playwright-core) against this api, a worker, PostgreSQL and RabbitMQ.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use sqlx::PgPool;

use crate::helpers::TestApp;
use crate::worker::{Names, RunningWorker, amqp_url};

fn web_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web")
}

/// The built entry page, when `web/dist` holds a build (`cargo xtask test` makes one).
fn built_entry_page() -> Option<String> {
    std::fs::read_to_string(web_folder().join("dist/index.html")).ok()
}

#[sqlx::test]
async fn the_app_is_served_with_its_policy_and_caching(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let entry = app.get("/app/").await;
    let policy = entry.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(policy, api::web_app::CONTENT_SECURITY_POLICY);
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(
        !policy.contains("unsafe-inline") && !policy.contains("http"),
        "{policy}"
    );
    assert_eq!(entry.headers()["x-content-type-options"], "nosniff");
    assert_eq!(entry.headers()["x-frame-options"], "DENY");

    let Some(page) = built_entry_page() else {
        // A build without the app: every path says how to build it.
        assert_eq!(entry.status(), StatusCode::NOT_FOUND);
        assert!(entry.text().await.unwrap().contains("cargo xtask build"));
        return;
    };
    assert_eq!(entry.status(), StatusCode::OK);
    assert_eq!(entry.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(entry.headers()[CACHE_CONTROL], "no-cache");
    let tag = entry.headers()[ETAG].clone();
    assert_eq!(entry.text().await.unwrap(), page);

    // A screen's address (a reload, a shared link) gets the same entry page.
    let screen = app.get("/app/accounts/0b7e").await;
    assert_eq!(screen.status(), StatusCode::OK);
    assert_eq!(screen.text().await.unwrap(), page);

    // Unchanged since the browser's copy: no body.
    let again = app
        .client
        .get(app.url("/app/"))
        .header(IF_NONE_MATCH, tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // The hashed script the page loads is kept for a year.
    let script = page
        .split('"')
        .find(|part| part.starts_with("/app/assets/") && part.ends_with(".js"))
        .expect("the entry page loads a hashed script");
    let response = app.get(script).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript"),
        "{:?}",
        response.headers()[CONTENT_TYPE]
    );

    // An old build's script is missing, not answered with HTML.
    let missing = app.get("/app/assets/index-0000.js").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.headers()[CACHE_CONTROL], "no-store");
}

/// What the browser tests need, or the one line saying how to get it.
fn browser_prerequisites() -> Result<PathBuf, String> {
    let web = web_folder();
    if !web.join("node_modules/playwright-core").is_dir() {
        return Err(
            "web/node_modules is missing: run `cargo xtask test`, or `npm ci --prefix web`".into(),
        );
    }
    if built_entry_page().is_none() {
        return Err(
            "the web app is not built: run `cargo xtask test`, or `npm run build --prefix web`"
                .into(),
        );
    }
    let chromium =
        std::env::var("API_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).is_file() {
        return Err(format!(
            "no Chromium at {chromium}: install it (Debian: apt-get install chromium) or set API_TEST_CHROMIUM to its path"
        ));
    }
    Ok(PathBuf::from(chromium))
}

#[sqlx::test]
async fn every_flow_of_the_app_works_in_a_real_browser(pool: PgPool) {
    let chromium = browser_prerequisites().unwrap_or_else(|missing| panic!("{missing}"));
    let names = Names::fresh();
    let url = amqp_url();
    let worker = RunningWorker::start(pool.clone(), &names.env(&url)).await;
    let app = TestApp::spawn(pool).await;

    let run = tokio::process::Command::new("node")
        .args([
            "--test",
            "--test-reporter=spec",
            "--test-concurrency=1",
            "e2e/",
        ])
        .current_dir(web_folder())
        .env("APP_URL", format!("http://{}", app.address))
        .env("CHROMIUM", &chromium)
        .env("SCREENSHOTS", web_folder().join("../target/web-e2e"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the browser tests finished within 5 minutes")
        .expect("node runs (install Node.js 20.19+, 22.13+ or 24+)");
    worker.stop().await;
    names.remove().await;
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the browser tests failed:\n{report}"
    );
    assert!(report.contains("✔ the web app"), "{report}");
}
