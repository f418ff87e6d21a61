//! The outbox relay: publishes unpublished outbox rows in id order, a batch per
//! transaction, and marks them published only once the broker confirmed every one.
//! Rows stay locked (`FOR UPDATE SKIP LOCKED`) while their batch is in flight, so
//! several workers share the outbox without publishing a row at the same time. A crash
//! after the broker took a batch but before it was marked publishes that batch again;
//! consumers recognise the events by id.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

use super::broker::{Broker, BrokerError, Outgoing, Publisher};
use super::failpoint;
use super::status::Status;
use crate::config::WorkerSettings;

enum RelayError {
    Broker(BrokerError),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for RelayError {
    fn from(err: sqlx::Error) -> Self {
        Self::Database(err)
    }
}

impl From<BrokerError> for RelayError {
    fn from(err: BrokerError) -> Self {
        Self::Broker(err)
    }
}

/// Relays until `stop` turns true (`Ok`) or the broker fails (`Err`: reconnect).
/// Database trouble is waited out here.
pub async fn run(
    broker: &Broker,
    pool: &PgPool,
    status: &Arc<Status>,
    settings: &WorkerSettings,
    mut stop: watch::Receiver<bool>,
) -> Result<(), BrokerError> {
    let publisher = broker.publisher().await?;
    while !*stop.borrow() {
        let pause = match relay_batch(&publisher, pool, settings.batch_size).await {
            Ok(0) => settings.poll_interval,
            Ok(published) => {
                Status::count(&status.published, published);
                continue;
            }
            Err(RelayError::Broker(err)) => return Err(err),
            Err(RelayError::Database(err)) => {
                tracing::warn!(error = %err, "outbox relay cannot read the outbox; retrying");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
    }
    publisher.close().await;
    Ok(())
}

/// Publishes one batch; how many rows it published.
async fn relay_batch(
    publisher: &Publisher,
    pool: &PgPool,
    batch_size: u16,
) -> Result<u64, RelayError> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query!(
        "SELECT id, event_id, routing_key, payload FROM outbox
         WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        i64::from(batch_size)
    )
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        events.push(Outgoing {
            event_id: row.event_id,
            routing_key: row.routing_key.clone(),
            body: serde_json::to_vec(&row.payload)
                .map_err(|err| BrokerError::from_display("serialising an event", err))?,
        });
    }
    let pending = publisher.send(&events).await?;
    failpoint::exit_at("after-publish");
    publisher.confirmed(pending).await?;
    failpoint::exit_at("after-confirm");
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    sqlx::query!(
        "UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1)",
        &ids
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids.len() as u64)
}
