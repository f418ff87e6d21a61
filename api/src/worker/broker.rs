//! The one wrapper around RabbitMQ (lapin): connecting, declaring what the worker uses,
//! publishing with confirms, and consuming with manual acknowledgements.
//!
//! What it declares, all durable and idempotent to declare again:
//! - the topic exchange `AMQP_EXCHANGE` (default `bank.events`) events go to;
//! - the quorum queue `AMQP_QUEUE` (default `bank.notifications`), bound to it for
//!   `ledger.#`, which dead-letters into `<queue>.dead` (quorum queues count deliveries,
//!   which is how a message that keeps failing is recognised);
//! - the quorum queue `<queue>.dead`, where such messages wait for an operator.

use std::time::Duration;

use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

use crate::config::BrokerSettings;

/// The routing keys the notifications queue takes.
const BINDING: &str = "ledger.#";
/// How long connecting may take before the attempt counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Something went wrong with the broker: the worker reconnects.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BrokerError(String);

impl BrokerError {
    pub fn from_display(what: &str, err: impl std::fmt::Display) -> Self {
        Self(format!("{what}: {err}"))
    }
}

/// One event to publish.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub event_id: uuid::Uuid,
    pub routing_key: String,
    pub body: Vec<u8>,
}

pub struct Broker {
    connection: Connection,
    settings: BrokerSettings,
}

impl Broker {
    /// Connects and declares the exchange and queues.
    pub async fn connect(settings: &BrokerSettings) -> Result<Self, BrokerError> {
        let properties = ConnectionProperties::default()
            .with_connection_name(format!("api worker {}", std::process::id()).into());
        let connection = tokio::time::timeout(
            CONNECT_TIMEOUT,
            Connection::connect_uri(settings.uri.clone(), properties),
        )
        .await
        .map_err(|_| {
            BrokerError(format!(
                "no answer from RabbitMQ at {} within {CONNECT_TIMEOUT:?}",
                settings.target()
            ))
        })?
        .map_err(|err| {
            BrokerError::from_display(
                &format!("cannot connect to RabbitMQ at {}", settings.target()),
                err,
            )
        })?;
        let broker = Self {
            connection,
            settings: settings.clone(),
        };
        broker.declare().await?;
        Ok(broker)
    }

    async fn declare(&self) -> Result<(), BrokerError> {
        let settings = &self.settings;
        let channel = self.channel().await?;
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(
                settings.exchange.as_str().into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await
            .map_err(|err| {
                BrokerError::from_display(&format!("declaring exchange {}", settings.exchange), err)
            })?;
        let dead = settings.dead_letter_queue();
        channel
            .queue_declare(dead.as_str().into(), durable_queue(), quorum(None))
            .await
            .map_err(|err| BrokerError::from_display(&format!("declaring queue {dead}"), err))?;
        channel
            .queue_declare(
                settings.queue.as_str().into(),
                durable_queue(),
                quorum(Some(&dead)),
            )
            .await
            .map_err(|err| {
                BrokerError::from_display(&format!("declaring queue {}", settings.queue), err)
            })?;
        channel
            .queue_bind(
                settings.queue.as_str().into(),
                settings.exchange.as_str().into(),
                BINDING.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|err| {
                BrokerError::from_display(&format!("binding queue {}", settings.queue), err)
            })?;
        let _ = channel.close(200, "declared".into()).await;
        Ok(())
    }

    async fn channel(&self) -> Result<Channel, BrokerError> {
        self.connection
            .create_channel()
            .await
            .map_err(|err| BrokerError::from_display("opening a channel", err))
    }

    /// A channel in confirm mode that publishes to the events exchange.
    pub async fn publisher(&self) -> Result<Publisher, BrokerError> {
        let channel = self.channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|err| BrokerError::from_display("turning on publisher confirms", err))?;
        Ok(Publisher {
            channel,
            exchange: self.settings.exchange.clone(),
        })
    }

    /// The notifications queue's deliveries, at most `AMQP_PREFETCH` unacknowledged.
    pub async fn deliveries(&self) -> Result<Deliveries, BrokerError> {
        let channel = self.channel().await?;
        channel
            .basic_qos(self.settings.prefetch, BasicQosOptions::default())
            .await
            .map_err(|err| BrokerError::from_display("setting the prefetch", err))?;
        let consumer = channel
            .basic_consume(
                self.settings.queue.as_str().into(),
                format!("api-worker-{}", std::process::id()).into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|err| {
                BrokerError::from_display(&format!("consuming {}", self.settings.queue), err)
            })?;
        Ok(Deliveries { channel, consumer })
    }

    pub async fn close(&self) {
        let _ = self.connection.close(200, "worker stopping".into()).await;
    }
}

fn durable_queue() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    }
}

/// A quorum queue's arguments, dead-lettering into `dead_letter_queue` when given.
fn quorum(dead_letter_queue: Option<&str>) -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    if let Some(queue) = dead_letter_queue {
        // The default exchange routes by queue name.
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString("".into()),
        );
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(queue.into()),
        );
    }
    arguments
}

/// A consumer and the channel it runs on.
pub struct Deliveries {
    channel: Channel,
    pub consumer: lapin::Consumer,
}

impl Deliveries {
    /// Closes the channel, so the broker takes back what was not acknowledged, before the
    /// connection goes (closing the connection under an open channel makes lapin log an
    /// error for a clean stop).
    pub async fn close(&self) {
        let _ = self.channel.close(200, "worker stopping".into()).await;
    }
}

/// Publishes to the events exchange and waits for the broker's confirms.
pub struct Publisher {
    channel: Channel,
    exchange: String,
}

/// Published messages whose confirms are still to come.
pub struct Pending(Vec<(uuid::Uuid, lapin::PublisherConfirm)>);

impl Publisher {
    pub async fn close(&self) {
        let _ = self.channel.close(200, "worker stopping".into()).await;
    }

    /// Sends `events` as persistent messages (`message_id` is the event id, so consumers
    /// can tell a re-sent event). Mandatory: a message no queue takes comes back, and is
    /// not confirmed as delivered.
    pub async fn send(&self, events: &[Outgoing]) -> Result<Pending, BrokerError> {
        let mut pending = Vec::with_capacity(events.len());
        for event in events {
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into())
                .with_message_id(event.event_id.to_string().into())
                .with_type(event.routing_key.as_str().into());
            let confirm = self
                .channel
                .basic_publish(
                    self.exchange.as_str().into(),
                    event.routing_key.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &event.body,
                    properties,
                )
                .await
                .map_err(|err| BrokerError::from_display("publishing", err))?;
            pending.push((event.event_id, confirm));
        }
        Ok(Pending(pending))
    }

    /// Waits for every confirm; an event the broker refused or could not route is an
    /// error (and stays unpublished in the outbox).
    pub async fn confirmed(&self, pending: Pending) -> Result<(), BrokerError> {
        for (event_id, confirm) in pending.0 {
            let confirmation = confirm
                .await
                .map_err(|err| BrokerError::from_display("waiting for a publisher confirm", err))?;
            if confirmation.is_nack() {
                return Err(BrokerError(format!("RabbitMQ refused event {event_id}")));
            }
            if let Some(returned) = confirmation.take_message() {
                return Err(BrokerError(format!(
                    "no queue took event {event_id} ({}); is the notifications queue bound to {}?",
                    returned.reply_text, self.exchange
                )));
            }
        }
        Ok(())
    }
}

/// How many times a delivery was delivered before (quorum queues count it in
/// `x-delivery-count`).
pub fn earlier_deliveries(properties: &BasicProperties) -> u64 {
    let count = properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get("x-delivery-count").cloned());
    match count {
        Some(AMQPValue::LongLongInt(n)) => u64::try_from(n).unwrap_or(0),
        Some(AMQPValue::LongInt(n)) => u64::try_from(n).unwrap_or(0),
        Some(AMQPValue::LongUInt(n)) => u64::from(n),
        Some(AMQPValue::ShortInt(n)) => u64::try_from(n).unwrap_or(0),
        Some(AMQPValue::ShortUInt(n)) => u64::from(n),
        _ => 0,
    }
}
