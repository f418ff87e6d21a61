//! `api worker` against the real RabbitMQ (`AMQP_URL`; `cargo xtask test` provides one):
//! events reach their users as notifications exactly once, across crashes at the worst
//! moments, a broker outage and a message that cannot be handled.

use std::time::{Duration, Instant};

use api::worker::Worker;
use lapin::options::{BasicPublishOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::sync::oneshot;

use crate::cli::{api, finish};
use crate::helpers::{TestApp, closed_port, database_url, expect_json, test_config};

/// The broker the tests use.
pub(crate) fn amqp_url() -> String {
    std::env::var("AMQP_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// Exchange and queue names of one test's own.
pub(crate) struct Names {
    exchange: String,
    queue: String,
}

impl Names {
    pub(crate) fn fresh() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Self {
            exchange: format!("test.{id}.events"),
            queue: format!("test.{id}.notifications"),
        }
    }

    pub(crate) fn env<'a>(&'a self, url: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("AMQP_URL", url),
            ("AMQP_EXCHANGE", &self.exchange),
            ("AMQP_QUEUE", &self.queue),
            ("WORKER_PORT", "0"),
            ("OUTBOX_POLL_INTERVAL", "50ms"),
        ]
    }

    /// Deletes the test's queues and exchange.
    pub(crate) async fn remove(&self) {
        let Ok(connection) =
            Connection::connect(&amqp_url(), ConnectionProperties::default()).await
        else {
            return;
        };
        if let Ok(channel) = connection.create_channel().await {
            for queue in [self.queue.clone(), format!("{}.dead", self.queue)] {
                let _ = channel
                    .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                    .await;
            }
            let _ = channel
                .exchange_delete(self.exchange.as_str().into(), Default::default())
                .await;
        }
        let _ = connection.close(200, "done".into()).await;
    }
}

/// A worker running in this process until the returned sender is dropped or used.
pub(crate) struct RunningWorker {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

impl RunningWorker {
    pub(crate) async fn start(pool: PgPool, env: &[(&str, &str)]) -> Self {
        let config = test_config(env);
        let worker = Worker::build(&config, pool).await.unwrap();
        let base = format!("http://{}", worker.local_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(worker.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            base,
            stop: Some(stop),
            done,
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("{}{path}", self.base)).await.unwrap()
    }

    /// The value of an unlabelled metric.
    async fn metric(&self, name: &str) -> f64 {
        let text = self.get("/metrics").await.text().await.unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .parse()
            .unwrap()
    }

    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), &mut self.done)
            .await
            .expect("the worker stopped within 20 s")
            .unwrap();
    }
}

/// Waits up to 20 s for `check` to hold.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Two customers, ada and bob, with an account each; ada deposits and pays bob
/// `transfers` times. Returns the app (signed in as ada) and how many notifications the
/// movements must make (one per deposit, two per transfer).
async fn movements(pool: PgPool, transfers: usize) -> (TestApp, i64) {
    let app = TestApp::spawn(pool).await;
    app.create_user("bob").await;
    app.sign_in_as("bob").await;
    let bob = app.open_account("Savings", "EUR").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create_user("ada").await;
    app.sign_in_as("ada").await;
    let ada = app.open_account("Main", "EUR").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.deposit(&ada, 100_000).await;
    for n in 0..transfers {
        let body = json!({"from_account_id": ada, "to_account_id": bob, "amount": 100 + n, "description": format!("payment {n}")});
        let response = app
            .post_with_key("/api/v1/transfers", &format!("t{n}"), &body)
            .await;
        expect_json(response, StatusCode::CREATED).await;
    }
    (app, 1 + 2 * transfers as i64)
}

/// Every event has exactly the notifications it makes: the count, and no event without.
async fn assert_each_event_notified_once(pool: &PgPool, expected: i64) {
    assert_eq!(
        count(pool, "SELECT count(*) FROM notifications").await,
        expected
    );
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM outbox o WHERE NOT EXISTS
               (SELECT 1 FROM notifications n WHERE n.event_id = o.event_id)"
        )
        .await,
        0
    );
}

#[sqlx::test]
async fn a_transfer_reaches_both_sides_as_notifications(pool: PgPool) {
    let names = Names::fresh();
    let url = amqp_url();
    let worker = RunningWorker::start(pool.clone(), &names.env(&url)).await;
    let (app, expected) = movements(pool.clone(), 1).await;
    eventually("the notifications", || async {
        count(&pool, "SELECT count(*) FROM notifications").await == expected
    })
    .await;

    let mine = expect_json(app.get("/api/v1/notifications").await, StatusCode::OK).await;
    assert_eq!(mine["unread"], 2);
    let kinds: Vec<&str> = mine["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["transfer_sent", "deposit"]);
    assert_eq!(
        mine["notifications"][0]["message"],
        "Sent 1.00 EUR from Main: payment 0. Balance: 999.00 EUR."
    );
    let id = mine["notifications"][0]["id"].as_i64().unwrap();
    let read = expect_json(
        app.post_json(&format!("/api/v1/notifications/{id}/read"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(read["read_at"].is_string());
    let after = expect_json(
        app.get("/api/v1/notifications?size=1").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(after["unread"], 1);
    assert_eq!(after["notifications"].as_array().unwrap().len(), 1);
    assert!(after["next"].is_string());

    app.sign_in_as("bob").await;
    let theirs = expect_json(app.get("/api/v1/notifications").await, StatusCode::OK).await;
    assert_eq!(theirs["notifications"][0]["kind"], "transfer_received");
    assert_eq!(theirs["notifications"][0]["data"]["amount"], 100);
    // Ada's notification is not Bob's to read.
    let response = app
        .post_json(&format!("/api/v1/notifications/{id}/read"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let marked = expect_json(
        app.post_json("/api/v1/notifications/read", &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(marked["marked"], 1);

    let ready = worker.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(
        worker.metric("worker_events_published_total").await,
        expected as f64 - 1.0
    );
    assert_eq!(worker.metric("worker_outbox_lag").await, 0.0);
    worker.stop().await;
    names.remove().await;
}

/// Runs `api worker` as a process until it exits at `point`; asserts it did.
async fn crash_at(db: &PgConnectOptions, names: &Names, point: &str) {
    let url = amqp_url();
    let database = database_url(db);
    let mut env = names.env(&url);
    env.extend([
        ("DATABASE_URL", database.as_str()),
        ("API_WORKER_EXIT_AT", point),
        ("LOG_FORMAT", "text"),
    ]);
    let crashed = finish(api(&["worker"], &env)).await;
    assert_eq!(
        crashed.code,
        Some(137),
        "the worker did not stop at {point}: {}",
        crashed.output
    );
}

/// Starts a worker after a crash and waits until every event is published and notified,
/// with at least `duplicates` deliveries found already written; then checks each event
/// was notified exactly once, and cleans up.
async fn recover(pool: &PgPool, names: Names, expected: i64, duplicates: f64) {
    let url = amqp_url();
    let worker = RunningWorker::start(pool.clone(), &names.env(&url)).await;
    eventually("every event published and notified", || async {
        unpublished(pool).await == 0
            && count(pool, "SELECT count(*) FROM notifications").await == expected
    })
    .await;
    eventually("the deliveries seen before, consumed again", || async {
        worker.metric("worker_events_duplicate_total").await >= duplicates
    })
    .await;
    assert_each_event_notified_once(pool, expected).await;
    worker.stop().await;
    names.remove().await;
}

async fn unpublished(pool: &PgPool) -> i64 {
    count(
        pool,
        "SELECT count(*) FROM outbox WHERE published_at IS NULL",
    )
    .await
}

/// The test's pool, names of its own, and `transfers` movements made: what a crash
/// test starts from.
async fn before_a_crash(
    options: PgPoolOptions,
    db: &PgConnectOptions,
    transfers: usize,
) -> (PgPool, Names, TestApp, i64) {
    let pool = options.connect_with(db.clone()).await.unwrap();
    let (app, expected) = movements(pool.clone(), transfers).await;
    (pool, Names::fresh(), app, expected)
}

#[sqlx::test]
async fn a_worker_killed_between_publishing_and_the_confirms_loses_and_doubles_nothing(
    options: PgPoolOptions,
    db: PgConnectOptions,
) {
    let (pool, names, _app, expected) = before_a_crash(options, &db, 6).await;

    // Killed with the batch confirmed by the broker but not marked published: the next
    // run publishes it again.
    crash_at(&db, &names, "after-confirm").await;
    assert_eq!(unpublished(&pool).await, 7);
    // Killed with the batch sent, its confirms not yet in.
    crash_at(&db, &names, "after-publish").await;
    assert_eq!(unpublished(&pool).await, 7);
    // The events published more than once arrive more than once, and add nothing.
    recover(&pool, names, expected, 7.0).await;
}

#[sqlx::test]
async fn a_worker_killed_between_writing_and_acknowledging_notifies_once(
    options: PgPoolOptions,
    db: PgConnectOptions,
) {
    let (pool, names, _app, expected) = before_a_crash(options, &db, 3).await;

    // Dies after writing the first delivery's notifications, before acknowledging it;
    // the broker delivers it again.
    crash_at(&db, &names, "before-ack").await;
    assert!(count(&pool, "SELECT count(*) FROM notifications").await >= 1);
    recover(&pool, names, expected, 1.0).await;
}

/// Forwards connections from `port` to the broker, once started.
async fn forward_to_broker(port: u16) -> tokio::task::JoinHandle<()> {
    let broker: lapin::uri::AMQPUri = amqp_url().parse().unwrap();
    let target = format!("{}:{}", broker.authority.host, broker.authority.port);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    })
}

#[sqlx::test]
async fn while_the_broker_is_away_movements_succeed_and_the_worker_catches_up(pool: PgPool) {
    let names = Names::fresh();
    let port = closed_port();
    let mut away: lapin::uri::AMQPUri = amqp_url().parse().unwrap();
    away.authority.host = "127.0.0.1".into();
    away.authority.port = port;
    let away = away.to_string();
    let worker = RunningWorker::start(pool.clone(), &names.env(&away)).await;

    let (_app, expected) = movements(pool.clone(), 2).await;
    let ready = worker.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["broker"]["status"], "unavailable", "{body}");
    assert!(
        body["checks"]["broker"]["problem"]
            .as_str()
            .unwrap()
            .contains(&port.to_string()),
        "{body}"
    );
    // A deposit and two transfers wait.
    assert_eq!(body["outbox"]["waiting"], 3, "{body}");
    assert_eq!(worker.metric("worker_broker_connected").await, 0.0);
    assert_eq!(worker.metric("worker_outbox_lag").await, 3.0);
    assert!(worker.metric("worker_outbox_oldest_seconds").await > 0.0);

    let proxy = forward_to_broker(port).await;
    eventually("the worker to catch up", || async {
        count(&pool, "SELECT count(*) FROM notifications").await == expected
    })
    .await;
    assert_eq!(worker.get("/readyz").await.status(), StatusCode::OK);
    assert_eq!(worker.metric("worker_outbox_lag").await, 0.0);
    assert_eq!(worker.metric("worker_events_published_total").await, 3.0);
    assert_each_event_notified_once(&pool, expected).await;
    worker.stop().await;
    proxy.abort();
    names.remove().await;
}

#[sqlx::test]
async fn a_message_that_keeps_failing_goes_to_the_dead_letter_queue(pool: PgPool) {
    let names = Names::fresh();
    let url = amqp_url();
    let mut env = names.env(&url);
    env.push(("AMQP_MAX_ATTEMPTS", "3"));
    let worker = RunningWorker::start(pool.clone(), &env).await;
    eventually("the worker to connect", || async {
        worker.get("/readyz").await.status() == StatusCode::OK
    })
    .await;

    let connection = Connection::connect(&url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .basic_publish(
            names.exchange.as_str().into(),
            "ledger.transfer.completed".into(),
            BasicPublishOptions::default(),
            b"{\"not\": \"an event\"}",
            BasicProperties::default().with_message_id("poison".into()),
        )
        .await
        .unwrap();
    eventually("the message dead-lettered", || async {
        worker.metric("worker_events_dead_lettered_total").await == 1.0
    })
    .await;
    assert_eq!(worker.metric("worker_events_retried_total").await, 2.0);
    let dead = format!("{}.dead", names.queue);
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        lapin::types::AMQPValue::LongString("quorum".into()),
    );
    let waiting = channel
        .queue_declare(
            dead.as_str().into(),
            QueueDeclareOptions {
                passive: true,
                durable: true,
                ..QueueDeclareOptions::default()
            },
            arguments,
        )
        .await
        .unwrap();
    assert_eq!(waiting.message_count(), 1);
    let _ = connection.close(200, "done".into()).await;
    worker.stop().await;
    names.remove().await;
}

#[tokio::test]
async fn the_worker_needs_a_broker_and_says_which_setting() {
    let result = finish(api(
        &["worker"],
        &[("DATABASE_URL", "postgres://x@127.0.0.1:1/x")],
    ))
    .await;
    assert_eq!(result.code, Some(2), "{}", result.output);
    assert_eq!(result.output.lines().count(), 1, "{}", result.output);
    assert!(result.output.contains("AMQP_URL"), "{}", result.output);
}

#[sqlx::test]
async fn the_smoke_suite_proves_the_worker_by_its_notification(pool: PgPool) {
    let smoke = |app: &TestApp, deadline: Duration| smoke::SmokeOptions {
        base_url: app.url("/"),
        ready_deadline: Duration::from_secs(10),
        request_timeout: Duration::from_secs(10),
        database_check: true,
        notification_deadline: Some(deadline),
    };
    let app = TestApp::spawn(pool.clone()).await;
    // No worker: the suite says what is missing.
    let report = smoke::run_all(&smoke(&app, Duration::from_secs(2))).await;
    assert!(!report.passed);
    let banking = report
        .checks
        .iter()
        .find(|c| c.name == "banking round trip")
        .unwrap();
    assert!(
        banking.detail.contains("is `api worker` running"),
        "{}",
        report.to_table()
    );

    let names = Names::fresh();
    let url = amqp_url();
    let worker = RunningWorker::start(pool.clone(), &names.env(&url)).await;
    let report = smoke::run_all(&smoke(&app, Duration::from_secs(20))).await;
    assert!(report.passed, "{}", report.to_table());
    let banking = report
        .checks
        .iter()
        .find(|c| c.name == "banking round trip")
        .unwrap();
    assert!(
        banking.detail.contains("notified after"),
        "{}",
        banking.detail
    );
    worker.stop().await;
    names.remove().await;
}

#[sqlx::test]
async fn the_worker_process_logs_json_and_stops_cleanly_on_sigterm(
    options: PgPoolOptions,
    db: PgConnectOptions,
) {
    use tokio::io::AsyncBufReadExt;
    let pool = options.connect_with(db.clone()).await.unwrap();
    let names = Names::fresh();
    let url = amqp_url();
    let database = database_url(&db);
    let mut env = names.env(&url);
    env.extend([("DATABASE_URL", database.as_str()), ("HOST", "127.0.0.1")]);
    let mut child = api(&["worker"], &env).spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let address = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let entry: Value = serde_json::from_str(&line)
                .unwrap_or_else(|_| panic!("a log line that is not JSON: {line}"));
            seen.push(entry["message"].as_str().unwrap_or_default().to_owned());
            if entry["message"] == "worker started" {
                return entry["address"].as_str().unwrap().to_owned();
            }
        }
        panic!("the worker exited before starting: {seen:?}");
    })
    .await
    .expect("the worker started within 20 s");
    let ready = format!("http://{address}/readyz");
    eventually("the worker ready", || async {
        reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;
    // A movement made while it runs is relayed before it stops.
    let (_app, expected) = movements(pool.clone(), 1).await;
    eventually("the notifications", || async {
        count(&pool, "SELECT count(*) FROM notifications").await == expected
    })
    .await;

    crate::cli::terminate(&child).await;
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("the worker stopped within 15 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    let mut rest = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let entry: Value = serde_json::from_str(&line).unwrap();
        // A clean stop logs no error (closing the connection under open channels did).
        assert_ne!(entry["level"], "ERROR", "{line}");
        rest.push(entry["message"].as_str().unwrap_or_default().to_owned());
    }
    assert!(
        rest.iter().any(|m| m.starts_with("shutdown requested"))
            && rest.iter().any(|m| m.starts_with("worker stopped")),
        "{rest:?}"
    );
    names.remove().await;
}

#[sqlx::test]
async fn housekeeping_deletes_expired_keys_and_week_old_events_only(pool: PgPool) {
    let (_app, _) = movements(pool.clone(), 1).await;
    // Two keys (the deposit's and the transfer's) and two events, all fresh; one of each
    // made old enough to go.
    sqlx::raw_sql(
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 't0'; \
         UPDATE outbox SET published_at = now() - interval '8 days' \
         WHERE id = (SELECT min(id) FROM outbox); \
         UPDATE outbox SET published_at = now() WHERE published_at IS NULL",
    )
    .execute(&pool)
    .await
    .unwrap();
    let swept = api::worker::housekeeping::sweep(&pool).await.unwrap();
    assert_eq!(swept, (1, 1));
    assert_eq!(
        count(&pool, "SELECT count(*) FROM idempotency_keys").await,
        1
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM outbox").await, 1);
    assert_eq!(
        api::worker::housekeeping::sweep(&pool).await.unwrap(),
        (0, 0)
    );
}
