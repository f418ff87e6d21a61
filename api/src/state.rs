//! What every handler may need, shared through the depot (not a global, so each test can
//! build a service on its own database).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::PgPool;

use crate::config::AppEnv;

#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub app_env: AppEnv,
    pub readiness_timeout: Duration,
    draining: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(pool: PgPool, app_env: AppEnv, readiness_timeout: Duration) -> Self {
        Self {
            pool,
            app_env,
            readiness_timeout,
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Marks the service as shutting down: readiness turns 503 so load balancers stop
    /// sending new requests while in-flight ones finish.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub fn from_depot(depot: &salvo::Depot) -> Result<&Self, crate::error::ApiError> {
        depot
            .get_typed::<Self>()
            .map_err(|_| anyhow::anyhow!("AppState missing from the depot").into())
    }
}
