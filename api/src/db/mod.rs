//! Everything that talks to PostgreSQL outside the users repository: the pool, the
//! embedded migrations, and the probes behind readiness, `/db-check` and `api wait-db`.

pub mod app_role;
pub mod migrations;
pub mod probe;

use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres};

use crate::config::DatabaseSettings;

/// A connection unused for longer than this is checked (a round trip) before a request
/// gets it: long enough that a busy pool never checks, short enough that one the server
/// closed meanwhile (a restart, a failover) is replaced instead of failing a request.
pub const CHECK_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// A pool that connects on first use, so the server starts (and answers liveness) while
/// PostgreSQL is still down or restarting.
///
/// Its connections ask for generic plans: each statement is planned once per connection.
/// Left to choose, PostgreSQL re-plans a statement on every execution when a parameter
/// (a list page's size) makes the generic plan look costlier than a custom one, and that
/// planning was half its work for a page by cursor. Every statement's generic plan must
/// then be a good one; the `query_plans` test checks all of them.
///
/// sqlx checks every connection when it goes back to the pool and, by default, again
/// before handing it out: two round trips besides the queries of each checkout.
/// Only the second is optional; it is kept for connections idle past
/// [`CHECK_AFTER_IDLE`] (see the README's Performance section for what it saved).
pub fn lazy_pool(settings: &DatabaseSettings) -> PgPool {
    PgPoolOptions::new()
        .max_connections(settings.pool_size)
        .min_connections(0)
        .acquire_timeout(settings.acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > CHECK_AFTER_IDLE {
                    // An error closes the connection; the pool tries another or opens one.
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(
            settings
                .connect
                .clone()
                .options([("plan_cache_mode", "force_generic_plan")]),
        )
}

/// Where repositories get their connections: the pool, and in a running service the
/// `db_pool_waiters` metric, which counts requests waiting for one.
#[derive(Debug, Clone, Copy)]
pub struct Connections<'a> {
    pool: &'a PgPool,
    waiters: Option<&'a AtomicI64>,
}

impl<'a> Connections<'a> {
    pub fn of_pool(pool: &'a PgPool) -> Self {
        Self {
            pool,
            waiters: None,
        }
    }

    pub fn of_state(state: &'a crate::state::AppState) -> Self {
        Self {
            pool: &state.pool,
            waiters: Some(&state.metrics.db_waiters),
        }
    }

    pub async fn acquire(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        if let Some(waiters) = self.waiters {
            waiters.fetch_add(1, Ordering::SeqCst);
        }
        let conn = self.pool.acquire().await;
        if let Some(waiters) = self.waiters {
            waiters.fetch_sub(1, Ordering::SeqCst);
        }
        conn
    }
}
