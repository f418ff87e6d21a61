//! `api worker`'s settings: the RabbitMQ it relays events through (`AMQP_URL`, or
//! `AMQP_HOST`, `AMQP_PORT`, `AMQP_USER`, `AMQP_PASSWORD[_FILE]`, `AMQP_VHOST`), the
//! names it declares there, and its own port and pace.

use std::str::FromStr;
use std::time::Duration;

use lapin::uri::{AMQPAuthority, AMQPScheme, AMQPUri, AMQPUserInfo};

use super::{ConfigError, Env};

/// A RabbitMQ to use. `Debug` and [`BrokerSettings::target`] never show the password.
#[derive(Clone)]
pub struct BrokerSettings {
    pub uri: AMQPUri,
    /// The durable topic exchange events are published to (`AMQP_EXCHANGE`).
    pub exchange: String,
    /// The durable queue the notifications consumer reads (`AMQP_QUEUE`); its
    /// dead-letter queue is `<queue>.dead`.
    pub queue: String,
    /// Deliveries handed to the consumer before it acknowledges (`AMQP_PREFETCH`).
    pub prefetch: u16,
    /// Deliveries of one message before it is dead-lettered (`AMQP_MAX_ATTEMPTS`).
    pub max_attempts: u32,
}

impl BrokerSettings {
    /// `host:port/vhost`, for logs and errors.
    pub fn target(&self) -> String {
        format!(
            "{}:{}/{}",
            self.uri.authority.host, self.uri.authority.port, self.uri.vhost
        )
    }

    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dead", self.queue)
    }
}

impl std::fmt::Debug for BrokerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerSettings")
            .field("target", &self.target())
            .field("exchange", &self.exchange)
            .field("queue", &self.queue)
            .field("prefetch", &self.prefetch)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

/// The worker's own settings.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Where its health and metrics endpoints listen (`WORKER_PORT`, default 8001).
    pub port: u16,
    /// How often the relay looks for new outbox rows when the last look found none
    /// (`OUTBOX_POLL_INTERVAL`).
    pub poll_interval: Duration,
    /// Outbox rows relayed per transaction (`OUTBOX_BATCH_SIZE`).
    pub batch_size: u16,
}

impl Env<'_> {
    /// The broker, or why there is none; only `api worker` needs one (the inner `Err`).
    pub(super) fn broker(&self) -> Result<Result<BrokerSettings, ConfigError>, ConfigError> {
        let uri = match (self.get("AMQP_URL"), self.get("AMQP_HOST")) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "AMQP_HOST",
                    "AMQP_URL is set too; give the broker as a URL or as parts, not both",
                ));
            }
            (Some(url), None) => AMQPUri::from_str(url.trim()).map_err(|_| {
                // The URL may hold a password: never echo it back.
                ConfigError::new(
                    "AMQP_URL",
                    "expected an AMQP URL such as amqp://user:password@host:5672/vhost",
                )
            })?,
            (None, Some(host)) => self.broker_from_parts(host)?,
            (None, None) => {
                return Ok(Err(ConfigError::new(
                    "AMQP_URL",
                    "not set; `api worker` relays events through RabbitMQ: set AMQP_URL \
                     (amqp://user:password@host:5672/vhost) or AMQP_HOST and its parts",
                )));
            }
        };
        let name = |variable: &'static str, default: &str| -> Result<String, ConfigError> {
            let name = self.get(variable).unwrap_or_else(|| default.to_owned());
            let name = name.trim();
            if name.is_empty()
                || name.len() > 200
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            {
                return Err(ConfigError::new(
                    variable,
                    format!(
                        "expected a name of letters, digits, '.', '-' and '_' (at most 200), got {name:?}"
                    ),
                ));
            }
            Ok(name.to_owned())
        };
        let prefetch: u16 = self.within(
            "AMQP_PREFETCH",
            "a whole number from 1 to 1000",
            1..=1000,
            20,
        )?;
        let max_attempts: u32 = self.within(
            "AMQP_MAX_ATTEMPTS",
            "a whole number from 1 to 100",
            1..=100,
            5,
        )?;
        Ok(Ok(BrokerSettings {
            uri,
            exchange: name("AMQP_EXCHANGE", "bank.events")?,
            queue: name("AMQP_QUEUE", "bank.notifications")?,
            prefetch,
            max_attempts,
        }))
    }

    fn broker_from_parts(&self, host: String) -> Result<AMQPUri, ConfigError> {
        let password = self.secret("AMQP_PASSWORD")?.ok_or_else(|| {
            ConfigError::new(
                "AMQP_PASSWORD_FILE",
                "not set; AMQP_HOST needs the broker password (AMQP_PASSWORD_FILE or AMQP_PASSWORD)",
            )
        })?;
        let username = self.get("AMQP_USER").ok_or_else(|| {
            ConfigError::new("AMQP_USER", "not set; AMQP_HOST needs the broker user")
        })?;
        let scheme = match self.get("AMQP_TLS").as_deref().map(str::trim) {
            None | Some("false") => AMQPScheme::AMQP,
            Some("true") => AMQPScheme::AMQPS,
            Some(other) => {
                return Err(ConfigError::new(
                    "AMQP_TLS",
                    format!("expected true or false, got {other:?}"),
                ));
            }
        };
        let default_port = if scheme == AMQPScheme::AMQPS {
            5671
        } else {
            5672
        };
        Ok(AMQPUri {
            scheme,
            authority: AMQPAuthority {
                userinfo: AMQPUserInfo {
                    username: username.trim().to_owned(),
                    password,
                },
                host: host.trim().to_owned(),
                port: self.port("AMQP_PORT")?.unwrap_or(default_port),
            },
            vhost: self.get("AMQP_VHOST").unwrap_or_else(|| "/".to_owned()),
            query: Default::default(),
        })
    }

    pub(super) fn worker(&self) -> Result<WorkerSettings, ConfigError> {
        let batch_size: u16 = self.within(
            "OUTBOX_BATCH_SIZE",
            "a whole number from 1 to 1000",
            1..=1000,
            100,
        )?;
        Ok(WorkerSettings {
            port: self.port("WORKER_PORT")?.unwrap_or(8001),
            poll_interval: self.duration("OUTBOX_POLL_INTERVAL", Duration::from_millis(250))?,
            batch_size,
        })
    }
}
