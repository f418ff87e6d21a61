//! The api service as a library, so `main.rs` stays a thin command-line shell and tests
//! run the real server on a database of their own.

pub mod accounts;
pub mod auth;
pub mod commands;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod limits;
pub mod notifications;
pub mod state;
pub mod telemetry;
pub mod transfers;
pub mod users;
pub mod web_app;
pub mod worker;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use salvo::conn::tcp::TcpAcceptor;
use salvo::prelude::*;
use sqlx::PgPool;

use crate::config::Config;
use crate::state::AppState;

/// A bound, not yet serving, api server.
pub struct Application {
    server: Server<TcpAcceptor>,
    service: Service,
    local_addr: SocketAddr,
    state: AppState,
    shutdown_grace_period: Duration,
    shutdown_delay: Duration,
}

impl Application {
    /// Binds `config.host:config.port` (port 0 picks a free one) and builds the service
    /// around `pool`. Nothing here needs the database to be up; it does need the token
    /// signing key (JWT_SECRET or JWT_SECRET_FILE outside dev).
    pub async fn build(config: &Config, pool: PgPool) -> anyhow::Result<Self> {
        let address = SocketAddr::new(config.host, config.port);
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}; is PORT already in use?"))?;
        let local_addr = listener.local_addr().context("reading the bound address")?;
        let acceptor = TcpAcceptor::try_from(listener).context("preparing the listener")?;
        let jwt = config
            .jwt
            .as_ref()
            .map_err(|err| anyhow::anyhow!("{err}"))?;
        let state = AppState::new(pool, config, jwt);
        Ok(Self {
            server: Server::new(acceptor),
            service: http::service(
                state.clone(),
                config.request_timeout,
                config.cors_allowed_origins.clone(),
            ),
            local_addr,
            state,
            shutdown_grace_period: config.shutdown_grace_period,
            shutdown_delay: config.shutdown_delay,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn pool(&self) -> PgPool {
        self.state.pool.clone()
    }

    /// Serves until `shutdown` completes; then turns readiness off and keeps serving for
    /// the shutdown delay (while endpoints and ingresses stop routing here, requests
    /// still arrive); then stops accepting, lets in-flight requests finish within the
    /// grace period, and closes the pool.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let Self {
            server,
            service,
            state,
            shutdown_grace_period,
            shutdown_delay,
            ..
        } = self;
        let handle = server.handle();
        let draining = state.clone();
        tokio::spawn(async move {
            shutdown.await;
            draining.start_draining();
            if !shutdown_delay.is_zero() {
                tracing::info!(delay = ?shutdown_delay, "shutdown requested; readiness off, still serving while traffic moves away");
                tokio::time::sleep(shutdown_delay).await;
            }
            tracing::info!(grace_period = ?shutdown_grace_period, "draining in-flight requests");
            handle.stop_graceful(shutdown_grace_period);
        });
        server.serve(service).await;
        state.pool.close().await;
        tracing::info!("server stopped; database pool closed");
    }
}
