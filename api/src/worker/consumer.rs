//! The notifications consumer: turns each delivered ledger event into its users'
//! notifications, then acknowledges it. Writing is idempotent by event id, so a
//! redelivery (the worker died between writing and acknowledging, or the relay published
//! an event twice) adds nothing. The database being down is waited out with the
//! delivery held; a delivery that fails for any other reason goes back to the queue, and
//! after `AMQP_MAX_ATTEMPTS` deliveries to the dead-letter queue.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicRejectOptions};
use sqlx::PgPool;
use tokio::sync::watch;

use super::broker::{Broker, BrokerError, earlier_deliveries};
use super::failpoint;
use super::status::Status;
use crate::notifications::model::notifications_of;
use crate::notifications::repo;
use crate::transfers::event::LedgerEvent;

/// What handling a delivery came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    /// Its notifications were written now (`true`) or before (`false`).
    Recorded(bool),
    /// It cannot be handled as it is: why.
    Failed(String),
    /// The worker is stopping while the database is down: leave it to the broker.
    Abandoned,
}

/// What to do with a delivery that failed on its `attempt`-th delivery.
pub fn after_failure(attempt: u64, max_attempts: u32) -> FailureAction {
    if attempt >= u64::from(max_attempts) {
        FailureAction::DeadLetter
    } else {
        FailureAction::Retry
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum FailureAction {
    Retry,
    DeadLetter,
}

/// Consumes until `stop` turns true (`Ok`) or the broker fails (`Err`: reconnect).
pub async fn run(
    broker: &Broker,
    pool: &PgPool,
    status: &Arc<Status>,
    max_attempts: u32,
    mut stop: watch::Receiver<bool>,
) -> Result<(), BrokerError> {
    let mut deliveries = broker.deliveries().await?;
    loop {
        if *stop.borrow() {
            deliveries.close().await;
            return Ok(());
        }
        let next = tokio::select! {
            next = deliveries.consumer.next() => next,
            _ = stop.changed() => continue,
        };
        let delivery = match next {
            Some(Ok(delivery)) => delivery,
            Some(Err(err)) => return Err(BrokerError::from_display("receiving", err)),
            None => {
                return Err(BrokerError::from_display(
                    "receiving",
                    "the broker ended the consumer",
                ));
            }
        };
        let handled = handle(&delivery.data, pool, &stop).await;
        settle(delivery, handled, status, max_attempts).await?;
    }
}

/// Writes the notifications of one delivered event.
pub async fn handle(data: &[u8], pool: &PgPool, stop: &watch::Receiver<bool>) -> Handled {
    let event: LedgerEvent = match serde_json::from_slice(data) {
        Ok(event) => event,
        Err(err) => return Handled::Failed(format!("not a ledger event: {err}")),
    };
    let notifications = notifications_of(&event);
    if notifications.is_empty() {
        return Handled::Failed(format!(
            "event {} ({}) names no account owner to notify",
            event.event_id, event.event_type
        ));
    }
    let mut wait = Duration::from_millis(250);
    loop {
        let written = match pool.acquire().await {
            Ok(mut conn) => repo::record(&mut conn, event.event_id, &notifications).await,
            Err(err) => Err(err),
        };
        match written {
            Ok(new) => return Handled::Recorded(new > 0),
            Err(err) if crate::error::unavailable(&err).is_some() => {
                tracing::warn!(error = %err, event_id = %event.event_id, "database unavailable; holding the delivery");
                if *stop.borrow() {
                    return Handled::Abandoned;
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            Err(err) => return Handled::Failed(format!("writing its notifications: {err}")),
        }
    }
}

async fn settle(
    delivery: Delivery,
    handled: Handled,
    status: &Status,
    max_attempts: u32,
) -> Result<(), BrokerError> {
    let attempt = earlier_deliveries(&delivery.properties) + 1;
    let message_id = delivery
        .properties
        .message_id()
        .as_ref()
        .map(|id| id.to_string())
        .unwrap_or_default();
    match handled {
        Handled::Recorded(new) => {
            failpoint::exit_at("before-ack");
            delivery
                .ack(BasicAckOptions::default())
                .await
                .map_err(|err| BrokerError::from_display("acknowledging", err))?;
            Status::count(&status.consumed, 1);
            if !new {
                Status::count(&status.duplicates, 1);
                tracing::info!(
                    event_id = message_id,
                    "event delivered again; its notifications were there"
                );
            }
        }
        Handled::Abandoned => {}
        Handled::Failed(problem) => match after_failure(attempt, max_attempts) {
            FailureAction::DeadLetter => {
                tracing::error!(
                    event_id = message_id,
                    attempt,
                    problem,
                    "giving up on the event: it goes to the dead-letter queue"
                );
                delivery
                    .reject(BasicRejectOptions { requeue: false })
                    .await
                    .map_err(|err| BrokerError::from_display("dead-lettering", err))?;
                Status::count(&status.dead_lettered, 1);
            }
            FailureAction::Retry => {
                tracing::warn!(
                    event_id = message_id,
                    attempt,
                    max_attempts,
                    problem,
                    "event failed; it goes back to the queue"
                );
                // A pause, so a message failing at once does not spin.
                tokio::time::sleep(Duration::from_millis(200 * attempt.min(10))).await;
                delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await
                    .map_err(|err| BrokerError::from_display("returning a delivery", err))?;
                Status::count(&status.retried, 1);
            }
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_is_retried_until_its_last_attempt() {
        assert_eq!(after_failure(1, 5), FailureAction::Retry);
        assert_eq!(after_failure(4, 5), FailureAction::Retry);
        assert_eq!(after_failure(5, 5), FailureAction::DeadLetter);
        assert_eq!(after_failure(1, 1), FailureAction::DeadLetter);
    }
}
