//! The worker's HTTP endpoints (`WORKER_PORT`): liveness, readiness and Prometheus
//! metrics. Readiness is the database answering and the broker connected; while the
//! broker is away it says so, with the events waiting in the outbox.

use std::sync::Arc;
use std::time::Duration;

use salvo::prelude::*;
use serde_json::json;
use sqlx::PgPool;

use super::status::Status;
use std::sync::atomic::Ordering;

use crate::http::metrics::{counter, gauge};

#[derive(Clone)]
pub struct WorkerState {
    pub pool: PgPool,
    pub status: Arc<Status>,
    pub readiness_timeout: Duration,
}

pub fn router(state: WorkerState) -> Router {
    Router::new()
        .hoop(salvo::affix_state::inject(state))
        .push(Router::with_path("healthz").get(liveness))
        .push(Router::with_path("readyz").get(readiness))
        .push(Router::with_path("metrics").get(metrics))
}

fn state(depot: &Depot) -> Option<&WorkerState> {
    depot.get_typed::<WorkerState>().ok()
}

impl WorkerState {
    /// [`outbox_lag`] within the readiness timeout, or why it could not be read.
    async fn outbox_lag(&self) -> Result<(i64, f64), String> {
        match tokio::time::timeout(self.readiness_timeout, outbox_lag(&self.pool)).await {
            Ok(Ok(lag)) => Ok(lag),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err(format!("no answer within {:?}", self.readiness_timeout)),
        }
    }
}

#[handler]
async fn liveness(res: &mut Response) {
    res.render(Json(
        json!({"status": "ok", "role": "worker", "version": crate::http::health::VERSION}),
    ));
}

/// The outbox's unpublished rows and the age of the oldest, in seconds.
pub async fn outbox_lag(pool: &PgPool) -> Result<(i64, f64), sqlx::Error> {
    let lag = sqlx::query!(
        r#"SELECT count(*) AS "waiting!",
                  coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8 AS "oldest!"
           FROM outbox WHERE published_at IS NULL"#
    )
    .fetch_one(pool)
    .await?;
    Ok((lag.waiting, lag.oldest))
}

#[handler]
async fn readiness(depot: &mut Depot, res: &mut Response) {
    let Some(state) = state(depot) else {
        res.status_code(StatusCode::INTERNAL_SERVER_ERROR);
        return;
    };
    let (database, waiting) = match state.outbox_lag().await {
        Ok((waiting, _)) => (json!({"status": "ok"}), Some(waiting)),
        Err(problem) => (json!({"status": "unavailable", "problem": problem}), None),
    };
    let broker = match state.status.broker_problem() {
        None => json!({"status": "ok"}),
        Some(problem) => json!({"status": "unavailable", "problem": problem}),
    };
    let ready = waiting.is_some() && state.status.is_connected() && !state.status.is_draining();
    let status = if state.status.is_draining() {
        "shutting_down"
    } else if ready {
        "ready"
    } else {
        "not_ready"
    };
    res.status_code(if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    });
    res.render(Json(json!({
        "status": status,
        "checks": {"database": database, "broker": broker},
        "outbox": {"waiting": waiting},
    })));
}

#[handler]
async fn metrics(depot: &mut Depot, res: &mut Response) {
    let Some(state) = state(depot) else {
        res.status_code(StatusCode::INTERNAL_SERVER_ERROR);
        return;
    };
    let status = &state.status;
    let mut out = String::new();
    for (name, help, value) in [
        (
            "worker_events_published_total",
            "Events the broker confirmed.",
            &status.published,
        ),
        (
            "worker_events_consumed_total",
            "Deliveries turned into notifications and acknowledged.",
            &status.consumed,
        ),
        (
            "worker_events_duplicate_total",
            "Deliveries whose notifications were already written (redeliveries).",
            &status.duplicates,
        ),
        (
            "worker_events_retried_total",
            "Deliveries that failed and went back to the queue.",
            &status.retried,
        ),
        (
            "worker_events_dead_lettered_total",
            "Deliveries given up on, sent to the dead-letter queue.",
            &status.dead_lettered,
        ),
    ] {
        counter(&mut out, name, help, value.load(Ordering::Relaxed));
    }
    gauge(
        &mut out,
        "worker_broker_connected",
        "1 while connected to RabbitMQ.",
        u8::from(status.is_connected()),
    );
    if let Ok((waiting, oldest)) = state.outbox_lag().await {
        gauge(
            &mut out,
            "worker_outbox_lag",
            "Outbox events not yet published.",
            waiting,
        );
        gauge(
            &mut out,
            "worker_outbox_oldest_seconds",
            "Age of the oldest unpublished outbox event.",
            oldest,
        );
    }
    res.headers_mut().insert(
        salvo::http::header::CONTENT_TYPE,
        salvo::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res.render(out);
}
