//! Everything that talks to PostgreSQL outside the users repository: the pool, the
//! embedded migrations, and the probes behind readiness, `/db-check` and `api wait-db`.

pub mod app_role;
pub mod migrations;
pub mod probe;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::config::DatabaseSettings;

/// A pool that connects on first use, so the server starts (and answers liveness) while
/// PostgreSQL is still down or restarting.
pub fn lazy_pool(settings: &DatabaseSettings) -> PgPool {
    PgPoolOptions::new()
        .max_connections(settings.pool_size)
        .min_connections(0)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy_with(settings.connect.clone())
}
