//! The real api on a free port, on a fresh database of its own, for the smoke step.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, Executor, PgConnection};

pub struct RealApi {
    pub address: String,
    child: Child,
    /// `api worker` beside a migrated api, so the smoke suite's notification arrives.
    worker: Option<Child>,
    _database: FreshDatabase,
}

/// A database of its own on the test server, dropped afterwards.
pub struct FreshDatabase {
    pub url: String,
    name: String,
}

impl FreshDatabase {
    pub fn create() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "xtask_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut conn = PgConnection::connect(&base_url()).await.unwrap();
            conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .unwrap();
        });
        Self {
            url: with_database(&base_url(), &name),
            name,
        }
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            runtime.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&base_url()).await {
                    let _ = conn
                        .execute(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .await;
                }
            });
        }
    }
}

/// The api binary `cargo test --workspace` built next to this test binary.
fn api_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("api");
    assert!(
        binary.is_file(),
        "{} is missing: build the workspace first (cargo xtask test does)",
        binary.display()
    );
    binary
}

fn base_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must be set: run these tests through `cargo xtask test`")
}

fn with_database(url: &str, database: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{database}")
}

impl RealApi {
    /// Starts the api on a fresh database, migrated or not.
    pub fn start(migrated: bool) -> Self {
        let database = FreshDatabase::create();
        let url = database.url.clone();
        if migrated {
            let status = Command::new(api_binary())
                .arg("migrate")
                .env("DATABASE_URL", &url)
                .output()
                .unwrap();
            assert!(
                status.status.success(),
                "api migrate: {}",
                String::from_utf8_lossy(&status.stderr)
            );
        }
        let mut child = Command::new(api_binary())
            .arg("serve")
            .env("DATABASE_URL", &url)
            .env("PORT", "0")
            .env("HOST", "127.0.0.1")
            .env("APP_ENV", "test")
            .env("JWT_SECRET", "deploy-tests-secret-deploy-tests-secret")
            // Every smoke run signs up from loopback, and the tests share one Redis: the
            // counters of one api are its own, and its sign-ups are not limited.
            .env("SIGN_UPS_PER_ADDRESS_PER_HOUR", "100000")
            .env("REDIS_KEY_PREFIX", format!("{url}:limits:"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let address = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                let entry: serde_json::Value = serde_json::from_str(&line).ok()?;
                (entry["message"] == "listening")
                    .then(|| entry["address"].as_str().unwrap().to_owned())
            })
            .expect("api serve logs its address");
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Self {
            address,
            child,
            worker: migrated.then(|| start_worker(&url)),
            _database: database,
        }
    }
}

/// `api worker` on the broker `cargo xtask test` provides (`AMQP_URL`), with an exchange
/// and queue of its own.
fn start_worker(database: &str) -> Child {
    let broker = std::env::var("AMQP_URL")
        .expect("AMQP_URL must be set: run these tests through `cargo xtask test`");
    let names = format!(
        "deploy-test.{}.{}",
        std::process::id(),
        database.rsplit('/').next().unwrap_or("db")
    );
    Command::new(api_binary())
        .arg("worker")
        .env("DATABASE_URL", database)
        .env("AMQP_URL", broker)
        .env("AMQP_EXCHANGE", format!("{names}.events"))
        .env("AMQP_QUEUE", format!("{names}.notifications"))
        .env("WORKER_PORT", "0")
        .env("HOST", "127.0.0.1")
        .env("OUTBOX_POLL_INTERVAL", "50ms")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

impl Drop for RealApi {
    fn drop(&mut self) {
        for child in std::iter::once(&mut self.child).chain(self.worker.as_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
