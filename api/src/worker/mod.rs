//! `api worker`: relays the outbox to RabbitMQ (`relay`) and consumes the events into
//! notifications (`consumer`), over one broker connection (`broker`), reconnecting with
//! backoff whenever it is lost; deletes expired idempotency keys and old outbox rows
//! (`housekeeping`); and answers health and metrics on its own port (`health`).
//!
//! Movements never wait for any of this: they write the outbox in their transaction.
//! While RabbitMQ is away, the outbox grows, readiness and `/metrics` say so, and the
//! relay catches up once it is back.

pub mod broker;
pub mod consumer;
pub mod failpoint;
pub mod health;
pub mod housekeeping;
pub mod relay;
pub mod status;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use salvo::conn::tcp::TcpAcceptor;
use salvo::prelude::*;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::config::{BrokerSettings, Config, WorkerSettings};
use broker::Broker;
use status::Status;

/// The longest wait between two attempts to reach the broker.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often housekeeping runs.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A bound, not yet running, worker.
pub struct Worker {
    server: Server<TcpAcceptor>,
    local_addr: SocketAddr,
    pool: PgPool,
    status: Arc<Status>,
    broker: BrokerSettings,
    settings: WorkerSettings,
    readiness_timeout: Duration,
    shutdown_grace_period: Duration,
}

impl Worker {
    /// Binds `config.host:WORKER_PORT` (0 picks a free port). Needs the broker settings
    /// (`AMQP_URL` or its parts), not the broker itself: it connects once running.
    pub async fn build(config: &Config, pool: PgPool) -> anyhow::Result<Self> {
        let broker = config
            .broker
            .clone()
            .map_err(|err| anyhow::anyhow!("{err}"))?;
        let address = SocketAddr::new(config.host, config.worker.port);
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| {
                format!("cannot listen on {address}; is WORKER_PORT already in use?")
            })?;
        let local_addr = listener.local_addr().context("reading the bound address")?;
        let acceptor = TcpAcceptor::try_from(listener).context("preparing the listener")?;
        Ok(Self {
            server: Server::new(acceptor),
            local_addr,
            pool,
            status: Arc::new(Status::new()),
            broker,
            settings: config.worker.clone(),
            readiness_timeout: config.readiness_timeout,
            shutdown_grace_period: config.shutdown_grace_period,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Works until `shutdown` completes; then turns readiness off, lets the message in
    /// hand and the batch in flight finish, closes the broker connection, the HTTP
    /// endpoints and the pool.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let Self {
            server,
            pool,
            status,
            broker,
            settings,
            readiness_timeout,
            shutdown_grace_period,
            ..
        } = self;
        let (stop_tx, stop) = watch::channel(false);
        let signalled = status.clone();
        tokio::spawn(async move {
            shutdown.await;
            signalled.start_draining();
            tracing::info!("shutdown requested; finishing the work in hand");
            let _ = stop_tx.send(true);
        });
        let handle = server.handle();
        let service = Service::new(health::router(health::WorkerState {
            pool: pool.clone(),
            status: status.clone(),
            readiness_timeout,
        }));
        let endpoints = tokio::spawn(server.serve(service));
        let sweeper = tokio::spawn(sweep_until(pool.clone(), stop.clone()));
        supervise(&pool, &status, &broker, &settings, stop).await;
        let _ = sweeper.await;
        handle.stop_graceful(shutdown_grace_period);
        let _ = endpoints.await;
        pool.close().await;
        tracing::info!("worker stopped; broker connection and database pool closed");
    }
}

/// Connects, relays and consumes until `stop`; reconnects with backoff after any broker
/// failure.
async fn supervise(
    pool: &PgPool,
    status: &Arc<Status>,
    settings: &BrokerSettings,
    worker: &WorkerSettings,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(250);
    while !*stop.borrow() {
        let failure = match Broker::connect(settings).await {
            Ok(broker) => {
                status.broker_connected();
                tracing::info!(broker = %settings.target(), exchange = %settings.exchange, queue = %settings.queue, "connected to RabbitMQ");
                backoff = Duration::from_millis(250);
                let outcome = tokio::try_join!(
                    relay::run(&broker, pool, status, worker, stop.clone()),
                    consumer::run(&broker, pool, status, settings.max_attempts, stop.clone()),
                );
                broker.close().await;
                match outcome {
                    Ok(_) => return,
                    Err(err) => err.to_string(),
                }
            }
            Err(err) => err.to_string(),
        };
        if status.broker_down(failure.clone()) {
            tracing::warn!(problem = %failure, "RabbitMQ unavailable; events wait in the outbox, retrying");
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn sweep_until(pool: PgPool, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        match housekeeping::sweep(&pool).await {
            Ok((0, 0)) => {}
            Ok((keys, events)) => {
                tracing::info!(expired_keys = keys, old_events = events, "housekeeping")
            }
            Err(err) => tracing::debug!(error = %err, "housekeeping skipped"),
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.changed() => {}
        }
    }
}
