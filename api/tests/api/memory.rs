//! The api stays inside the chart's memory limit under a burst of password work: the
//! chart's own `resources.limits.memory` and `app.passwordHashingConcurrency` are read, and
//! the real binary's peak RSS is measured.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::helpers::database_url;

/// The chart's memory limit in bytes and its hashing concurrency.
fn chart_settings() -> (u64, String) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../charts/api-platform/values.yaml"
    );
    let values: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let limit = values["resources"]["limits"]["memory"].as_str().unwrap();
    let mebibytes: u64 = limit
        .strip_suffix("Mi")
        .unwrap_or_else(|| panic!("the test reads limits in Mi, the chart has {limit}"))
        .parse()
        .unwrap();
    let concurrency = values["app"]["passwordHashingConcurrency"]
        .as_u64()
        .unwrap()
        .to_string();
    (mebibytes * 1024 * 1024, concurrency)
}

/// The peak resident set of process `pid` so far (`VmHWM`), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

#[sqlx::test]
async fn sixty_four_concurrent_sign_ups_stay_under_the_charts_memory_limit(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let (limit, concurrency) = chart_settings();
    let url = database_url(&db);
    let (child, address) = crate::cli::serve(&[
        ("DATABASE_URL", url.as_str()),
        ("PASSWORD_HASHING_CONCURRENCY", concurrency.as_str()),
        ("SIGN_UPS_PER_ADDRESS_PER_HOUR", "1000"),
    ])
    .await;
    let client = reqwest::Client::new();
    let sign_ups = (0..64).map(|i| {
        let request = client
            .post(format!("http://{address}/api/v1/users"))
            .json(&crate::helpers::new_user(&format!("crowd{i}")));
        async move { request.send().await.unwrap() }
    });
    let responses = futures::future::join_all(sign_ups).await;
    let (mut created, mut busy) = (0, 0);
    for response in responses {
        match response.status().as_u16() {
            201 => created += 1,
            503 => {
                assert!(response.headers().contains_key("retry-after"));
                busy += 1;
            }
            other => panic!("{other}: {}", response.text().await.unwrap()),
        }
    }
    let peak = peak_rss(child.id().unwrap());
    eprintln!(
        "64 sign-ups: {created} created, {busy} told to retry; peak RSS {:.1} MiB of a {} MiB limit",
        peak as f64 / 1048576.0,
        limit / 1048576
    );
    assert!(created >= 1);
    assert!(
        peak < limit,
        "peak RSS {peak} bytes is over the chart's limit of {limit}"
    );
}
