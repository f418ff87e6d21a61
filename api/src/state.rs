//! What every handler may need, shared through the depot (not a global, so each test can
//! build a service on its own database).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::OnceCell;

use crate::auth::token::TokenKeys;
use crate::config::{AppEnv, Config};
use crate::limits::Limiter;
use crate::limits::rules::Rules;

#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub app_env: AppEnv,
    pub readiness_timeout: Duration,
    pub tokens: TokenKeys,
    /// The attempt counters (in Redis when configured) and the rules over them.
    pub limiter: Arc<Limiter>,
    pub limit_rules: Rules,
    /// Peers whose forwarding headers name the client (the ingress controllers).
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
    /// Bounds the password hashing of the request path.
    pub passwords: crate::users::password::PasswordGate,
    pub metrics: Arc<crate::http::metrics::Metrics>,
    /// The currencies accounts may be opened in.
    pub currencies: Arc<crate::accounts::currency::Currencies>,
    pub idempotency_key_ttl: Duration,
    /// A hash of a random password, verified when a sign-in names no user, so unknown
    /// accounts cost as much time as known ones.
    dummy_hash: Arc<OnceCell<String>>,
    draining: Arc<AtomicBool>,
}

impl AppState {
    /// `jwt`: the signing settings, which only a serving process needs (see `Config::jwt`).
    pub fn new(pool: PgPool, config: &Config, jwt: &crate::config::JwtSettings) -> Self {
        Self {
            pool,
            app_env: config.app_env,
            readiness_timeout: config.readiness_timeout,
            tokens: TokenKeys::new(jwt),
            limiter: Arc::new(Limiter::new(config.limits.redis.clone())),
            limit_rules: Rules::new(&config.limits),
            trusted_proxies: config.trusted_proxies.clone().into(),
            passwords: crate::users::password::PasswordGate::new(
                config.password_hashing_concurrency,
                config.password_hashing_wait,
            ),
            dummy_hash: Arc::new(OnceCell::new()),
            metrics: Arc::new(crate::http::metrics::Metrics::default()),
            currencies: Arc::new(config.currencies.clone()),
            idempotency_key_ttl: config.idempotency_key_ttl,
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    pub async fn dummy_hash(&self) -> anyhow::Result<&str> {
        self.dummy_hash
            .get_or_try_init(|| async {
                let random = uuid::Uuid::new_v4().to_string();
                let password =
                    crate::users::model::Password::parse(&random).map_err(anyhow::Error::msg)?;
                crate::users::password::hash(password).await
            })
            .await
            .map(String::as_str)
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
