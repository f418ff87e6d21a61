//! What each `api` subcommand does, once the configuration is loaded.

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::Application;
use crate::config::Config;
use crate::db::{self, migrations, probe};

/// `api serve`: listens until SIGTERM or SIGINT, then drains.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let started = Instant::now();
    let pool = db::lazy_pool(&config.database);
    let app = Application::build(&config, pool).await?;
    tracing::info!(
        address = %app.local_addr(),
        environment = config.app_env.as_str(),
        database = %config.database.target,
        attempt_limits = %config.limits.redis.as_ref().map_or_else(
            || "in-process (no REDIS_URL)".to_owned(),
            |redis| format!("redis {}", redis.address())
        ),
        version = env!("CARGO_PKG_VERSION"),
        startup_ms = started.elapsed().as_secs_f64() * 1000.0,
        "listening"
    );
    if let Some(admin) = config.admin.clone() {
        tokio::spawn(bootstrap_admin(app.pool(), admin));
    }
    app.run_until(shutdown_signal()).await;
    Ok(())
}

/// `api worker`: relays the outbox to RabbitMQ and consumes it into notifications until
/// SIGTERM or Ctrl-C.
pub async fn worker(config: Config) -> anyhow::Result<()> {
    let pool = db::lazy_pool(&config.database);
    let worker = crate::worker::Worker::build(&config, pool).await?;
    let broker = config
        .broker
        .as_ref()
        .map(|b| b.target())
        .unwrap_or_default();
    tracing::info!(
        address = %worker.local_addr(),
        environment = config.app_env.as_str(),
        database = %config.database.target,
        broker = %broker,
        version = env!("CARGO_PKG_VERSION"),
        "worker started"
    );
    worker.run_until(shutdown_signal()).await;
    Ok(())
}

/// Creates the first administrator once the database answers and is migrated; retries
/// quietly until then, so start-up never waits for it.
async fn bootstrap_admin(pool: sqlx::PgPool, admin: crate::config::AdminBootstrap) {
    use crate::auth::admin::{AdminOutcome, ensure_admin};
    loop {
        match ensure_admin(&pool, &admin).await {
            Ok(AdminOutcome::Created(name)) => {
                return tracing::info!(username = %name, "created the bootstrap administrator");
            }
            Ok(AdminOutcome::AlreadyThere) => {
                return tracing::info!("an administrator exists; ADMIN_PASSWORD not used");
            }
            Err(err) if err.is_unavailable() => tokio::time::sleep(Duration::from_secs(5)).await,
            Err(err) => {
                return tracing::error!(error = %err, "cannot create the bootstrap administrator; fix ADMIN_USERNAME, ADMIN_EMAIL or ADMIN_PASSWORD");
            }
        }
    }
}

/// `api create-admin`: an administrator from ADMIN_USERNAME, ADMIN_EMAIL, ADMIN_PASSWORD.
pub async fn create_admin(config: Config) -> anyhow::Result<()> {
    let admin = config.admin.clone().context(
        "set ADMIN_PASSWORD (and ADMIN_USERNAME, ADMIN_EMAIL) to create an administrator",
    )?;
    let pool = db::lazy_pool(&config.database);
    let result = crate::auth::admin::create_admin(&pool, &admin).await;
    pool.close().await;
    let name = result.map_err(|err| anyhow::anyhow!("cannot create the administrator: {err}"))?;
    tracing::info!(username = %name, "created an administrator");
    Ok(())
}

/// `api migrate`: applies pending migrations and exits; safe to repeat and to run twice
/// at once (sqlx serialises runs with an advisory lock).
pub async fn migrate(config: Config) -> anyhow::Result<()> {
    let pool = db::lazy_pool(&config.database);
    let report = migrations::run(&pool)
        .await
        .map_err(|err| anyhow::anyhow!(describe_migrate_error(&err)))
        .with_context(|| format!("migrating {}", config.database.target))?;
    if report.applied.is_empty() {
        tracing::info!(
            version = report.current_version,
            "database schema already up to date"
        );
    }
    for (version, description) in &report.applied {
        tracing::info!(version, description, "applied migration");
    }
    for version in &report.newer {
        tracing::info!(
            version,
            "migration applied by a newer release, unknown to this binary: left as it is (a rollback runs an older binary on a newer schema)"
        );
    }
    let role = match &config.app_role {
        Some(role) => Some((role, db::app_role::ensure(&pool, role).await)),
        None => None,
    };
    pool.close().await;
    if let Some((role, outcome)) = role {
        let outcome = outcome?;
        tracing::info!(role = %role.name, ?outcome, "the server's database role has row access to every table");
    }
    Ok(())
}

/// `api wait-db`: exits 0 as soon as PostgreSQL answers a real query and, with
/// `for_migrations`, has every migration this binary embeds applied.
pub async fn wait_db(
    config: Config,
    timeout: Duration,
    for_migrations: bool,
) -> anyhow::Result<()> {
    let target = &config.database.target;
    let required: Vec<i64> = if for_migrations {
        migrations::MIGRATOR.iter().map(|m| m.version).collect()
    } else {
        vec![]
    };
    tracing::info!(database = %target, ?timeout, for_migrations, "waiting for PostgreSQL");
    let outcome = probe::wait_until_answering(&config.database.connect, timeout, &required, |attempt, reason| {
        tracing::warn!(database = %target, attempt, reason, "PostgreSQL not answering yet; retrying");
    })
    .await
    .with_context(|| format!("waiting for PostgreSQL at {target}"))?;
    tracing::info!(
        database = %target,
        attempts = outcome.attempts,
        waited_ms = outcome.elapsed.as_millis() as u64,
        "PostgreSQL is answering"
    );
    Ok(())
}

fn describe_migrate_error(err: &sqlx::migrate::MigrateError) -> String {
    match err {
        sqlx::migrate::MigrateError::Execute(inner) => probe::describe(inner),
        other => other.to_string(),
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(signal) => signal,
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM; only SIGINT stops the server");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
