//! `/`, liveness, readiness and `/db-check`.
//!
//! Liveness never touches the database: a PostgreSQL restart must not make Kubernetes
//! kill healthy api pods. Readiness does, with a hard time limit, so it can never hang.

use salvo::oapi::endpoint;
use salvo::prelude::*;
use serde_json::json;

use crate::db::probe;
use crate::error::ApiError;
use crate::state::AppState;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The service's name, version and links.
#[endpoint(tags("meta"), status_codes(200))]
pub async fn index(depot: &mut Depot) -> Result<Json<serde_json::Value>, ApiError> {
    let state = AppState::from_depot(depot)?;
    Ok(Json(json!({
        "name": "api",
        "description": env!("CARGO_PKG_DESCRIPTION"),
        "version": VERSION,
        "environment": state.app_env.as_str(),
        "currencies": state.currencies.codes(),
        "links": {
            "liveness": "/healthz",
            "readiness": "/readyz",
            "database": "/db-check",
            "metrics": "/metrics",
            "docs": "/docs",
            "openapi": "/openapi.json",
            "health": "/api/v1/health",
            "users": "/api/v1/users",
            "accounts": "/api/v1/accounts",
            "transfers": "/api/v1/transfers",
            "notifications": "/api/v1/notifications",
            "app": "/app/",
        },
    })))
}

/// Liveness: the process answers (never touches the database).
#[endpoint(tags("health"), status_codes(200))]
pub async fn liveness() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "version": VERSION }))
}

/// Readiness: the database answers within READINESS_TIMEOUT. The details also say where
/// the attempt limits count (Redis, or in-process while it is unreachable): that never
/// makes the pod unready, since the api keeps serving with per-replica limits.
#[endpoint(tags("health"), status_codes(200, 503))]
pub async fn readiness(depot: &mut Depot, res: &mut Response) -> Result<(), ApiError> {
    let state = AppState::from_depot(depot)?;
    if state.is_draining() {
        return Err(ApiError::Unavailable {
            code: "shutting_down",
            message: "the server is shutting down and takes no new work".into(),
        });
    }
    // Both within READINESS_TIMEOUT, at once, so a Redis that hangs cannot push the
    // probe past its deadline.
    let (database, rate_limits) = tokio::join!(
        probe::ping(&state.pool, state.readiness_timeout),
        rate_limits(state)
    );
    match database {
        Ok(round_trip) => {
            res.render(Json(json!({
                "status": "ready",
                "checks": {
                    "database": { "status": "ok", "round_trip_ms": round_trip.as_secs_f64() * 1000.0 },
                    "rate_limits": rate_limits,
                },
            })));
            Ok(())
        }
        Err(problem) => Err(ApiError::Unavailable {
            code: "database_unavailable",
            message: format!("not ready: {problem}"),
        }),
    }
}

async fn rate_limits(state: &AppState) -> serde_json::Value {
    use crate::limits::Store;
    let store = tokio::time::timeout(state.readiness_timeout, state.limiter.check_store())
        .await
        .unwrap_or_else(|_| state.limiter.store());
    let status = match store {
        Store::Redis | Store::InProcess => "ok",
        Store::InProcessFallback => "degraded",
    };
    json!({ "status": status, "store": store.as_str() })
}

/// Database status: round trip, server version, schema version, pool.
#[endpoint(tags("health"), status_codes(200, 503))]
pub async fn db_check(depot: &mut Depot, res: &mut Response) -> Result<(), ApiError> {
    let state = AppState::from_depot(depot)?;
    match probe::facts(&state.pool, state.readiness_timeout).await {
        Ok(facts) => {
            res.render(Json(json!({ "status": "ok", "database": facts })));
            Ok(())
        }
        Err(problem) => Err(ApiError::Unavailable {
            code: "database_unavailable",
            message: format!("database check failed: {problem}"),
        }),
    }
}
