//! Cheap questions to PostgreSQL with hard time limits: is it there, how fast does it
//! answer, which version, which schema version.

use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};

/// Why a probe failed, in words fit for a readiness body or a log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("no answer from the database within {0:?}")]
    TimedOut(Duration),
    #[error("{0}")]
    Failed(String),
}

/// Runs `SELECT 1` on a pooled connection; fails within `limit` whatever the network does.
pub async fn ping(pool: &PgPool, limit: Duration) -> Result<Duration, ProbeError> {
    let started = Instant::now();
    let query = async {
        let mut conn = pool.acquire().await?;
        sqlx::query("SELECT 1").execute(&mut *conn).await
    };
    match tokio::time::timeout(limit, query).await {
        Err(_) => Err(ProbeError::TimedOut(limit)),
        Ok(Err(err)) => Err(ProbeError::Failed(describe(&err))),
        Ok(Ok(_)) => Ok(started.elapsed()),
    }
}

/// The facts `/db-check` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DatabaseFacts {
    pub round_trip_ms: f64,
    pub server_version: String,
    /// The newest applied migration, or `None` when migrations never ran.
    pub migration_version: Option<i64>,
    pub pool_size: u32,
    pub pool_idle: usize,
}

pub async fn facts(pool: &PgPool, limit: Duration) -> Result<DatabaseFacts, ProbeError> {
    let round_trip = ping(pool, limit).await?;
    let query = async {
        let server_version: String = sqlx::query_scalar("SELECT current_setting('server_version')")
            .fetch_one(pool)
            .await?;
        let versions = applied_migration_versions(&mut *pool.acquire().await?).await?;
        Ok::<_, sqlx::Error>((server_version, versions.into_iter().max()))
    };
    let (server_version, migration_version) = tokio::time::timeout(limit, query)
        .await
        .map_err(|_| ProbeError::TimedOut(limit))?
        .map_err(|err| ProbeError::Failed(describe(&err)))?;
    Ok(DatabaseFacts {
        round_trip_ms: round_trip.as_secs_f64() * 1000.0,
        server_version,
        migration_version,
        pool_size: pool.size(),
        pool_idle: pool.num_idle(),
    })
}

/// Versions recorded as successfully applied; empty when the table does not exist yet.
pub async fn applied_migration_versions(conn: &mut PgConnection) -> Result<Vec<i64>, sqlx::Error> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        return Ok(vec![]);
    }
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&mut *conn)
        .await
}

/// The `required` versions missing from `applied`.
pub fn pending_migrations(required: &[i64], applied: &[i64]) -> Vec<i64> {
    required
        .iter()
        .copied()
        .filter(|v| !applied.contains(v))
        .collect()
}

/// Outcome of [`wait_until_answering`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOutcome {
    pub attempts: u32,
    pub elapsed: Duration,
}

/// Connects and runs a real query until PostgreSQL answers or `deadline` passes. With
/// `required_migrations`, it also waits until every one of those versions is applied
/// (how new api pods wait for the migration Job). Each failed attempt is reported
/// through `on_retry` (attempt number, reason).
pub async fn wait_until_answering(
    options: &PgConnectOptions,
    deadline: Duration,
    required_migrations: &[i64],
    mut on_retry: impl FnMut(u32, &str),
) -> Result<WaitOutcome, ProbeError> {
    let started = Instant::now();
    let mut backoff = Duration::from_millis(100);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let remaining = deadline.saturating_sub(started.elapsed());
        // One attempt may not eat the whole budget on a black-holed address.
        let attempt_limit = remaining.min(Duration::from_secs(5));
        let attempt = async {
            let mut conn = PgConnection::connect_with(options).await?;
            sqlx::query("SELECT 1").execute(&mut conn).await?;
            let pending = if required_migrations.is_empty() {
                vec![]
            } else {
                let applied = applied_migration_versions(&mut conn).await?;
                pending_migrations(required_migrations, &applied)
            };
            conn.close().await?;
            Ok::<_, sqlx::Error>(pending)
        };
        let reason = match tokio::time::timeout(attempt_limit, attempt).await {
            Ok(Ok(pending)) if pending.is_empty() => {
                return Ok(WaitOutcome {
                    attempts,
                    elapsed: started.elapsed(),
                });
            }
            Ok(Ok(pending)) => format!(
                "PostgreSQL answers, but {} migration(s) are not applied yet (versions {pending:?}); \
                 waiting for `api migrate`",
                pending.len()
            ),
            Ok(Err(err)) => describe(&err),
            Err(_) => format!("no answer within {attempt_limit:?}"),
        };
        let remaining = deadline.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            return Err(ProbeError::Failed(format!(
                "PostgreSQL was not ready within {deadline:?} ({attempts} attempts); last error: {reason}"
            )));
        }
        on_retry(attempts, &reason);
        tokio::time::sleep(backoff.min(remaining)).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// A one-line description of a database error, without connection strings.
pub fn describe(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::PoolTimedOut => "timed out waiting for a database connection".to_owned(),
        // sqlx hands the TLS library's refusals over as I/O errors.
        sqlx::Error::Io(io) if io.to_string().contains("certificate") => format!(
            "TLS with the database failed ({io}); check DB_SSLMODE and the CA bundle in DB_SSLROOTCERT"
        ),
        sqlx::Error::Io(io) => format!("cannot reach the database: {io}"),
        sqlx::Error::Database(db) => format!("database error: {}", db.message()),
        sqlx::Error::Tls(tls) => format!(
            "TLS with the database failed ({tls}); check DB_SSLMODE and the CA bundle in DB_SSLROOTCERT"
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pending_migrations_are_the_required_ones_not_applied() {
        assert_eq!(super::pending_migrations(&[1, 2, 3], &[1, 3]), [2]);
        assert!(super::pending_migrations(&[1, 2], &[1, 2, 7]).is_empty());
    }
}
