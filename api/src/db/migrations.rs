//! The SQL migrations under `api/migrations/`, embedded in the binary.
//!
//! sqlx takes a PostgreSQL advisory lock around the whole run, so two `api migrate`
//! processes started at once apply each migration exactly once, and a second run after
//! the first is a no-op.
//!
//! Migrations applied by a newer release are tolerated: after a rollback, the old
//! release's migration Job runs this (older) binary against a schema a later release
//! moved forward. Migrations must therefore stay backward compatible (expand, then
//! contract in a later release), so that the old binary works on the newer schema.

use std::sync::LazyLock;

use sqlx::PgPool;
use sqlx::migrate::Migrator;

use super::probe::applied_migration_versions;

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// `MIGRATOR`, told to leave alone migrations it does not know (a newer release's).
static TOLERANT: LazyLock<Migrator> = LazyLock::new(|| {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
});

/// What a migration run changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// `(version, description)` of each migration this run applied.
    pub applied: Vec<(i64, String)>,
    /// The newest applied version afterwards.
    pub current_version: Option<i64>,
    /// Applied versions this binary does not know: a newer release applied them.
    pub newer: Vec<i64>,
}

/// Applies pending migrations and reports which ones this run applied.
pub async fn run(pool: &PgPool) -> Result<MigrationReport, sqlx::migrate::MigrateError> {
    let mut conn = pool.acquire().await?;
    let before = applied_migration_versions(&mut conn).await?;
    TOLERANT.run(&mut *conn).await?;
    let after = applied_migration_versions(&mut conn).await?;
    let applied = MIGRATOR
        .iter()
        .filter(|m| after.contains(&m.version) && !before.contains(&m.version))
        .map(|m| (m.version, m.description.to_string()))
        .collect();
    let newer = after
        .iter()
        .copied()
        .filter(|v| !MIGRATOR.iter().any(|m| m.version == *v))
        .collect();
    Ok(MigrationReport {
        applied,
        current_version: after.iter().copied().max(),
        newer,
    })
}
