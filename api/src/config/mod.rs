//! The process environment turned into one typed [`Config`], read once at start.
//!
//! Every problem names the variable and what it expects, so a pod that fails to start
//! says why in its first log line.

mod broker;
mod duration;
mod limits;

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgSslMode};

pub use broker::{BrokerSettings, WorkerSettings};
pub use duration::parse_duration;
pub use limits::{LimitSettings, RedisSettings};

/// A configuration value that is missing or malformed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}

/// Where the service runs; `dev` relaxes nothing yet, it is reported and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Dev,
    Test,
    Staging,
    Prod,
}

impl AppEnv {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::Test => "test",
            Self::Staging => "staging",
            Self::Prod => "prod",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    /// A `tracing` filter directive such as `info` or `api=debug,sqlx=warn`.
    pub filter: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub connect: PgConnectOptions,
    /// `host:port/database`, safe to log (never the password).
    pub target: String,
    pub pool_size: u32,
    pub acquire_timeout: Duration,
}

/// The role `api migrate` keeps for the server (`DB_APP_USER`, `DB_APP_PASSWORD`): a
/// login role with row access only, so the serving process never holds the owner's rights.
#[derive(Clone)]
pub struct AppRole {
    pub name: String,
    pub password: String,
}

impl std::fmt::Debug for AppRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRole")
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How access tokens are signed and how long they live.
#[derive(Clone)]
pub struct JwtSettings {
    /// HS256 key; from `JWT_SECRET`, or random per process in dev when unset.
    pub secret: Vec<u8>,
    /// Whether `secret` was generated (tokens then die with the process).
    pub generated: bool,
    pub ttl: Duration,
    pub issuer: String,
    /// Who the tokens are for (`aud`), checked on every request.
    pub audience: String,
}

/// The longest `JWT_TTL` allowed: a stolen token must not outlive a working day.
pub const MAX_JWT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("secret", &"<redacted>")
            .field("generated", &self.generated)
            .field("ttl", &self.ttl)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// The first administrator, created at start when none exists.
#[derive(Clone)]
pub struct AdminBootstrap {
    pub username: String,
    pub email: String,
    pub password: String,
}

impl std::fmt::Debug for AdminBootstrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminBootstrap")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub app_env: AppEnv,
    pub log: LogSettings,
    pub database: DatabaseSettings,
    pub request_timeout: Duration,
    pub readiness_timeout: Duration,
    pub shutdown_grace_period: Duration,
    /// How long the server keeps serving after SIGTERM, with readiness off, before it
    /// stops accepting: the time endpoints and ingresses take to stop routing to it.
    pub shutdown_delay: Duration,
    /// How many password hashes or checks may run at once (19 MiB each).
    pub password_hashing_concurrency: usize,
    /// How long a request waits for its turn to hash or check a password before a 503.
    pub password_hashing_wait: Duration,
    /// The token signing settings; `Err` outside dev when no key was given, which only
    /// `serve` minds (migrate, wait-db and smoke sign no tokens, and get no key).
    pub jwt: Result<JwtSettings, ConfigError>,
    /// From `ADMIN_PASSWORD` (with `ADMIN_USERNAME`, `ADMIN_EMAIL`), when set.
    pub admin: Option<AdminBootstrap>,
    /// The server's own database role, which `migrate` creates and grants; when set.
    pub app_role: Option<AppRole>,
    /// The attempt limits (sign-in, sign-up, password change) and where they count.
    pub limits: LimitSettings,
    /// Peers whose `X-Forwarded-For`/`X-Real-IP` are believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Browser origins allowed to call the API (`scheme://host[:port]`); none by default.
    pub cors_allowed_origins: Vec<String>,
    /// The currencies accounts may be opened in (`CURRENCIES`; default EUR, USD, GBP).
    pub currencies: crate::accounts::currency::Currencies,
    /// How long an `Idempotency-Key` keeps its first result (`IDEMPOTENCY_KEY_TTL`).
    pub idempotency_key_ttl: Duration,
    /// The RabbitMQ of `api worker`; `Err` when none was given, which only `worker` minds.
    pub broker: Result<BrokerSettings, ConfigError>,
    pub worker: WorkerSettings,
}

impl Config {
    /// Reads the real process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can pass a map instead of mutating the
    /// process environment. Empty values count as unset (Kubernetes often injects "").
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&|name| lookup(name).filter(|value| !value.trim().is_empty()));
        let app_env = env.app_env()?;
        Ok(Self {
            host: env
                .parsed("HOST", "an IP address to listen on, such as 0.0.0.0")?
                .unwrap_or(IpAddr::from([0, 0, 0, 0])),
            port: env.port("PORT")?.unwrap_or(8000),
            app_env,
            log: env.log_settings()?,
            database: env.database()?,
            request_timeout: env.duration("REQUEST_TIMEOUT", Duration::from_secs(30))?,
            readiness_timeout: env.duration("READINESS_TIMEOUT", Duration::from_secs(2))?,
            shutdown_grace_period: env
                .duration("SHUTDOWN_GRACE_PERIOD", Duration::from_secs(20))?,
            shutdown_delay: env.duration("SHUTDOWN_DELAY", Duration::ZERO)?,
            password_hashing_concurrency: env.password_hashing_concurrency()?,
            password_hashing_wait: env.duration("PASSWORD_HASHING_WAIT", Duration::from_secs(1))?,
            jwt: env.jwt(app_env)?,
            admin: env.admin()?,
            app_role: env.app_role()?,
            limits: env.limits()?,
            cors_allowed_origins: env.origins("CORS_ALLOWED_ORIGINS")?,
            currencies: match env.get("CURRENCIES") {
                Some(list) => crate::accounts::currency::Currencies::parse(&list)
                    .map_err(|problem| ConfigError::new("CURRENCIES", problem))?,
                None => crate::accounts::currency::Currencies::default(),
            },
            idempotency_key_ttl: env.idempotency_key_ttl()?,
            broker: env.broker()?,
            worker: env.worker()?,
            trusted_proxies: match env.get("TRUSTED_PROXIES") {
                Some(text) => crate::http::client_address::parse_trusted_proxies(&text)
                    .map_err(|problem| ConfigError::new("TRUSTED_PROXIES", problem))?,
                None => Vec::new(),
            },
        })
    }
}

/// PostgreSQL NOTICEs ("relation already exists, skipping") are noise at info level.
fn with_quiet_notices(level: &str) -> String {
    format!("{level},sqlx::postgres::notice=warn")
}

/// 48 random bytes from the OS (two v4 UUIDs' worth of randomness and more).
fn random_secret() -> Vec<u8> {
    (0..3)
        .flat_map(|_| uuid::Uuid::new_v4().into_bytes())
        .collect()
}

/// Typed accessors over a lookup function; each error names its variable.
struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }

    fn parsed<T: FromStr>(
        &self,
        name: &'static str,
        expected: &str,
    ) -> Result<Option<T>, ConfigError> {
        self.get(name)
            .map(|raw| {
                raw.trim().parse().map_err(|_| {
                    ConfigError::new(name, format!("expected {expected}, got {raw:?}"))
                })
            })
            .transpose()
    }

    /// A number in `range` (`default` when unset); `expected` says what, in both errors.
    fn within<T>(
        &self,
        name: &'static str,
        expected: &str,
        range: std::ops::RangeInclusive<T>,
        default: T,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display,
    {
        let value = self.parsed(name, expected)?.unwrap_or(default);
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(ConfigError::new(
                name,
                format!("expected {expected}, got {value}"),
            ))
        }
    }

    /// At least a minute (a client's retries must still find the key); durations reach
    /// 7 days.
    fn idempotency_key_ttl(&self) -> Result<Duration, ConfigError> {
        let ttl = self.duration("IDEMPOTENCY_KEY_TTL", Duration::from_secs(24 * 3600))?;
        if ttl < Duration::from_secs(60) {
            return Err(ConfigError::new(
                "IDEMPOTENCY_KEY_TTL",
                format!("must be at least 1m, so a client's retries find their key; got {ttl:?}"),
            ));
        }
        Ok(ttl)
    }

    fn port(&self, name: &'static str) -> Result<Option<u16>, ConfigError> {
        self.parsed(name, "a port number between 0 and 65535")
    }

    fn duration(&self, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => parse_duration(&raw).map_err(|problem| ConfigError::new(name, problem)),
        }
    }

    /// The signing settings. A key given wrong (too short, in both JWT_SECRET and
    /// JWT_SECRET_FILE, an unreadable file) is an error for every command; a key not given
    /// outside dev only for `serve` (the inner `Err`).
    fn jwt(&self, app_env: AppEnv) -> Result<Result<JwtSettings, ConfigError>, ConfigError> {
        let (secret, generated) = match self.secret("JWT_SECRET")? {
            Some(secret) if secret.len() >= 32 => (secret.into_bytes(), false),
            Some(_) => {
                return Err(ConfigError::new(
                    "JWT_SECRET",
                    "must be at least 32 bytes; generate one with `openssl rand -base64 48`",
                ));
            }
            None if app_env == AppEnv::Dev => (random_secret(), true),
            None => {
                return Ok(Err(ConfigError::new(
                    "JWT_SECRET",
                    format!(
                        "not set; it is required outside APP_ENV=dev (this is {}); generate one with `openssl rand -base64 48`",
                        app_env.as_str()
                    ),
                )));
            }
        };
        let ttl = self.duration("JWT_TTL", Duration::from_secs(15 * 60))?;
        if ttl > MAX_JWT_TTL || ttl.is_zero() {
            return Err(ConfigError::new(
                "JWT_TTL",
                format!(
                    "must be between 1s and 24h (tokens cannot be recalled before they expire); got {ttl:?}"
                ),
            ));
        }
        Ok(Ok(JwtSettings {
            secret,
            generated,
            ttl,
            issuer: self
                .get("JWT_ISSUER")
                .unwrap_or_else(|| "api-platform".to_owned()),
            audience: self
                .get("JWT_AUDIENCE")
                .unwrap_or_else(|| "api-platform/users".to_owned()),
        }))
    }

    /// A comma-separated list of origins such as `https://app.example.com,http://localhost:3000`.
    fn origins(&self, name: &'static str) -> Result<Vec<String>, ConfigError> {
        let Some(list) = self.get(name) else {
            return Ok(vec![]);
        };
        list.split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(|origin| {
                let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
                    && !origin.ends_with('/')
                    && origin.split("://").nth(1).is_some_and(|host| !host.is_empty() && !host.contains('/'));
                if valid {
                    Ok(origin.to_owned())
                } else {
                    Err(ConfigError::new(
                        name,
                        format!("{origin:?} is not an origin; expected scheme://host[:port] such as https://app.example.com"),
                    ))
                }
            })
            .collect()
    }

    fn admin(&self) -> Result<Option<AdminBootstrap>, ConfigError> {
        let Some(password) = self.secret("ADMIN_PASSWORD")? else {
            return Ok(None);
        };
        Ok(Some(AdminBootstrap {
            username: self
                .get("ADMIN_USERNAME")
                .unwrap_or_else(|| "admin".to_owned()),
            email: self
                .get("ADMIN_EMAIL")
                .unwrap_or_else(|| "admin@localhost.invalid".to_owned()),
            password,
        }))
    }

    /// A secret from `NAME`, or read from the file `NAME_FILE` names (a mounted Secret:
    /// files keep secrets out of the process environment). Setting both is an error.
    fn secret(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        let file_variable: &'static str = match name {
            "DB_PASSWORD" => "DB_PASSWORD_FILE",
            "JWT_SECRET" => "JWT_SECRET_FILE",
            "ADMIN_PASSWORD" => "ADMIN_PASSWORD_FILE",
            "DB_APP_PASSWORD" => "DB_APP_PASSWORD_FILE",
            "REDIS_PASSWORD" => "REDIS_PASSWORD_FILE",
            "AMQP_PASSWORD" => "AMQP_PASSWORD_FILE",
            _ => return Ok(self.get(name)),
        };
        match (self.get(name), self.get(file_variable)) {
            (Some(_), Some(_)) => Err(ConfigError::new(
                file_variable,
                format!("{name} is set too; set one of them"),
            )),
            (value, None) => Ok(value),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path.trim()).map_err(|err| {
                    ConfigError::new(
                        file_variable,
                        format!("cannot read {:?}: {err}", path.trim()),
                    )
                })?;
                // Files written by hand end with a newline that is no part of the secret.
                let value = text.trim_end_matches(['\n', '\r']).to_owned();
                Ok((!value.is_empty()).then_some(value))
            }
        }
    }

    fn app_env(&self) -> Result<AppEnv, ConfigError> {
        match self
            .get("APP_ENV")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("dev" | "development") => Ok(AppEnv::Dev),
            Some("test") => Ok(AppEnv::Test),
            Some("staging") => Ok(AppEnv::Staging),
            Some("prod" | "production") => Ok(AppEnv::Prod),
            Some(other) => Err(ConfigError::new(
                "APP_ENV",
                format!("expected one of dev, test, staging, prod, got {other:?}"),
            )),
        }
    }

    fn log_settings(&self) -> Result<LogSettings, ConfigError> {
        let format = match self
            .get("LOG_FORMAT")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("json") => LogFormat::Json,
            Some("text" | "pretty") => LogFormat::Text,
            Some(other) => {
                return Err(ConfigError::new(
                    "LOG_FORMAT",
                    format!("expected json or text, got {other:?}"),
                ));
            }
        };
        // RUST_LOG (full directives) wins over the simpler LOG_LEVEL, as in most Rust tools.
        let (variable, filter) = match (self.get("RUST_LOG"), self.get("LOG_LEVEL")) {
            (Some(directives), _) => ("RUST_LOG", directives),
            (None, Some(level)) => {
                let level = level.trim().to_ascii_lowercase();
                if !["trace", "debug", "info", "warn", "error"].contains(&level.as_str()) {
                    return Err(ConfigError::new(
                        "LOG_LEVEL",
                        format!("expected one of trace, debug, info, warn, error, got {level:?}"),
                    ));
                }
                ("LOG_LEVEL", with_quiet_notices(&level))
            }
            (None, None) => ("LOG_LEVEL", with_quiet_notices("info")),
        };
        tracing_subscriber::EnvFilter::try_new(&filter).map_err(|err| {
            ConfigError::new(variable, format!("invalid log filter {filter:?}: {err}"))
        })?;
        Ok(LogSettings { filter, format })
    }

    fn database(&self) -> Result<DatabaseSettings, ConfigError> {
        let connect = match self.get("DATABASE_URL") {
            Some(url) => PgConnectOptions::from_str(url.trim()).map_err(|_| {
                // The URL may hold a password: never echo it back.
                ConfigError::new(
                    "DATABASE_URL",
                    "expected a PostgreSQL URL such as postgres://user:password@host:5432/database",
                )
            })?,
            None => self.database_from_parts()?,
        };
        let pool_size: u32 = self.within(
            "DB_POOL_SIZE",
            "a number of connections between 1 and 1000",
            1..=1000,
            10,
        )?;
        let target = format!(
            "{}:{}/{}",
            connect.get_host(),
            connect.get_port(),
            connect.get_database().unwrap_or("(default database)")
        );
        Ok(DatabaseSettings {
            connect: connect.application_name("api"),
            target,
            pool_size,
            acquire_timeout: self.duration("DB_ACQUIRE_TIMEOUT", Duration::from_secs(5))?,
        })
    }

    fn app_role(&self) -> Result<Option<AppRole>, ConfigError> {
        let Some(name) = self.get("DB_APP_USER") else {
            return Ok(None);
        };
        let name = name.trim().to_owned();
        let valid = name.len() <= 63
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(ConfigError::new(
                "DB_APP_USER",
                format!(
                    "expected a role name of lowercase letters, digits and underscores (at most 63), got {name:?}"
                ),
            ));
        }
        let password = self.secret("DB_APP_PASSWORD")?.ok_or_else(|| {
            ConfigError::new(
                "DB_APP_PASSWORD_FILE",
                "not set; DB_APP_USER needs its password (DB_APP_PASSWORD_FILE or DB_APP_PASSWORD)",
            )
        })?;
        Ok(Some(AppRole { name, password }))
    }

    fn password_hashing_concurrency(&self) -> Result<usize, ConfigError> {
        let concurrency: usize = self
            .parsed(
                "PASSWORD_HASHING_CONCURRENCY",
                "a whole number between 1 and 64",
            )?
            .unwrap_or(2);
        if !(1..=64).contains(&concurrency) {
            return Err(ConfigError::new(
                "PASSWORD_HASHING_CONCURRENCY",
                format!(
                    "expected a whole number between 1 and 64 (each takes 19 MiB), got {concurrency}"
                ),
            ));
        }
        Ok(concurrency)
    }

    /// The form a Helm chart injects: one variable per part, the password from a Secret.
    fn database_from_parts(&self) -> Result<PgConnectOptions, ConfigError> {
        let host = self.get("DB_HOST").ok_or_else(|| {
            ConfigError::new(
                "DATABASE_URL",
                "not set; set DATABASE_URL=postgres://user:password@host:5432/database, \
                 or DB_HOST, DB_PORT, DB_NAME, DB_USER and DB_PASSWORD",
            )
        })?;
        let require = |name: &'static str| {
            self.get(name).ok_or_else(|| {
                ConfigError::new(name, "not set; it is required when DB_HOST is used")
            })
        };
        let ssl_mode = match self.get("DB_SSLMODE") {
            None => PgSslMode::Prefer,
            Some(mode) => mode.trim().parse().map_err(|_| {
                ConfigError::new(
                    "DB_SSLMODE",
                    format!(
                        "expected disable, allow, prefer, require, verify-ca or verify-full, got {mode:?}"
                    ),
                )
            })?,
        };
        let mut options = PgConnectOptions::new_without_pgpass()
            .host(host.trim())
            .port(self.port("DB_PORT")?.unwrap_or(5432))
            .database(require("DB_NAME")?.trim())
            .username(require("DB_USER")?.trim())
            .ssl_mode(ssl_mode);
        if let Some(password) = self.secret("DB_PASSWORD")? {
            options = options.password(&password);
        }
        if let Some(path) = self.get("DB_SSLROOTCERT") {
            options = options.ssl_root_cert(check_ca_bundle(path.trim())?);
        }
        Ok(options)
    }
}

/// A CA bundle the database's certificate is checked against: a readable PEM file with
/// at least one certificate. Checked at start, so a wrong path fails with one line.
fn check_ca_bundle(path: &str) -> Result<std::path::PathBuf, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        ConfigError::new(
            "DB_SSLROOTCERT",
            format!("cannot read the CA bundle {path:?}: {err}"),
        )
    })?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(ConfigError::new(
            "DB_SSLROOTCERT",
            format!("{path:?} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)"),
        ));
    }
    Ok(std::path::PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    const URL: (&str, &str) = (
        "DATABASE_URL",
        "postgres://app:secret@db.example:6543/users",
    );

    #[test]
    fn a_ca_bundle_must_be_a_readable_pem_file() {
        let parts = [
            ("DB_HOST", "db"),
            ("DB_NAME", "api"),
            ("DB_USER", "api"),
            ("DB_SSLMODE", "verify-full"),
        ];
        let missing = [&parts[..], &[("DB_SSLROOTCERT", "/nonexistent/ca.crt")]].concat();
        let err = config(&missing).unwrap_err();
        assert_eq!(err.variable, "DB_SSLROOTCERT");
        assert!(err.problem.contains("cannot read the CA bundle"), "{err}");
        let not_pem = std::env::temp_dir().join(format!("not-a-ca-{}.txt", std::process::id()));
        std::fs::write(&not_pem, "hello").unwrap();
        let path = not_pem.to_string_lossy().into_owned();
        let err = config(&[&parts[..], &[("DB_SSLROOTCERT", path.as_str())]].concat()).unwrap_err();
        assert!(err.problem.contains("holds no PEM certificate"), "{err}");
        let _ = std::fs::remove_file(not_pem);
    }

    #[test]
    fn banking_settings_name_what_is_wrong() {
        let config_ok = config(&[URL, ("CURRENCIES", "usd, jpy")]).expect("valid");
        assert_eq!(config_ok.currencies.codes(), ["USD", "JPY"]);
        assert_eq!(
            config_ok.idempotency_key_ttl,
            Duration::from_secs(24 * 3600)
        );
        let err = config(&[URL, ("CURRENCIES", "EUR,Euro")]).unwrap_err();
        assert_eq!(err.variable, "CURRENCIES");
        assert!(err.problem.contains("\"Euro\" is not an ISO 4217"), "{err}");
        let err = config(&[URL, ("IDEMPOTENCY_KEY_TTL", "10s")]).unwrap_err();
        assert_eq!(err.variable, "IDEMPOTENCY_KEY_TTL");
        assert!(err.problem.contains("at least 1m"), "{err}");
        assert_eq!(
            config(&[URL, ("IDEMPOTENCY_KEY_TTL", "2h")])
                .unwrap()
                .idempotency_key_ttl,
            Duration::from_secs(7200)
        );
    }

    #[test]
    fn the_broker_comes_from_a_url_or_its_parts_and_never_shows_its_password() {
        let err = config(&[URL]).unwrap().broker.unwrap_err();
        assert_eq!(err.variable, "AMQP_URL");
        let from_url = config(&[URL, ("AMQP_URL", "amqp://bank:s3cret@mq.example:5673/bank")])
            .unwrap()
            .broker
            .unwrap();
        assert_eq!(from_url.target(), "mq.example:5673/bank");
        assert_eq!(
            (from_url.exchange.as_str(), from_url.queue.as_str()),
            ("bank.events", "bank.notifications")
        );
        assert_eq!(from_url.dead_letter_queue(), "bank.notifications.dead");
        assert!(!format!("{from_url:?}").contains("s3cret"));
        let err = config(&[URL, ("AMQP_URL", "http://bank:s3cret@x")]).unwrap_err();
        assert_eq!(err.variable, "AMQP_URL");
        assert!(!err.problem.contains("s3cret"), "{err}");

        let parts = [
            URL,
            ("AMQP_HOST", "rabbitmq"),
            ("AMQP_USER", "bank"),
            ("AMQP_PASSWORD", "pw"),
        ];
        let from_parts = config(&parts).unwrap().broker.unwrap();
        assert_eq!(from_parts.target(), "rabbitmq:5672//");
        assert_eq!(from_parts.uri.authority.userinfo.password, "pw");
        let err = config(&parts[..3]).unwrap_err();
        assert_eq!(err.variable, "AMQP_PASSWORD_FILE");
        let err = config(&[&parts[..], &[("AMQP_URL", "amqp://x")]].concat()).unwrap_err();
        assert_eq!(err.variable, "AMQP_HOST");
        let err = config(&[&parts[..], &[("AMQP_QUEUE", "no spaces")]].concat()).unwrap_err();
        assert_eq!(err.variable, "AMQP_QUEUE");
        let err = config(&[&parts[..], &[("AMQP_PREFETCH", "0")]].concat()).unwrap_err();
        assert_eq!(err.variable, "AMQP_PREFETCH");
        let worker = config(&[URL, ("WORKER_PORT", "9001"), ("OUTBOX_POLL_INTERVAL", "1s")])
            .unwrap()
            .worker;
        assert_eq!(
            (worker.port, worker.poll_interval, worker.batch_size),
            (9001, Duration::from_secs(1), 100)
        );
    }

    #[test]
    fn defaults_apply_when_only_the_database_is_set() {
        let config = config(&[URL]).expect("valid");
        assert_eq!(config.port, 8000);
        assert_eq!(config.app_env, AppEnv::Dev);
        assert_eq!(config.log.filter, "info,sqlx::postgres::notice=warn");
        assert_eq!(config.log.format, LogFormat::Json);
        assert_eq!(config.database.pool_size, 10);
        assert_eq!(config.database.target, "db.example:6543/users");
        assert_eq!(config.request_timeout, Duration::from_secs(30));
        assert_eq!(config.shutdown_grace_period, Duration::from_secs(20));
    }

    #[test]
    fn database_parts_are_used_when_the_url_is_unset() {
        let config = config(&[
            ("DATABASE_URL", ""),
            ("DB_HOST", "postgres.ns.svc"),
            ("DB_NAME", "api"),
            ("DB_USER", "api"),
            ("DB_PASSWORD", "p@ss word"),
        ])
        .expect("valid");
        assert_eq!(config.database.target, "postgres.ns.svc:5432/api");
        assert_eq!(config.database.connect.get_username(), "api");
    }

    #[test]
    fn no_database_setting_names_both_ways_to_provide_one() {
        let err = config(&[]).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
        assert!(err.problem.contains("DB_HOST"), "{err}");
    }

    #[test]
    fn a_missing_part_is_named() {
        let err = config(&[("DB_HOST", "h"), ("DB_USER", "u")]).unwrap_err();
        assert_eq!(err.variable, "DB_NAME");
    }

    #[test]
    fn malformed_values_name_the_variable_and_the_expectation() {
        let cases = [
            ("PORT", "eighty", "port number"),
            ("DB_PORT", "99999", "port number"),
            ("APP_ENV", "qa", "staging"),
            ("LOG_LEVEL", "loud", "warn"),
            ("LOG_FORMAT", "xml", "json"),
            ("DB_POOL_SIZE", "0", "between 1 and 1000"),
            ("DB_ACQUIRE_TIMEOUT", "soon", "30s"),
            ("REQUEST_TIMEOUT", "5 parsecs", "unit"),
            ("SHUTDOWN_GRACE_PERIOD", "-1", "duration"),
            ("HOST", "localhost:80", "IP address"),
        ];
        for (variable, value, hint) in cases {
            let mut vars = vec![("DB_HOST", "h"), ("DB_NAME", "n"), ("DB_USER", "u")];
            vars.push((variable, value));
            let err = config(&vars).unwrap_err();
            assert_eq!(err.variable, variable, "{err}");
            assert!(err.problem.contains(hint), "{variable}: {err}");
        }
    }

    #[test]
    fn a_bad_url_is_reported_without_echoing_the_password() {
        let err = config(&[("DATABASE_URL", "mysql//root:hunter2@db")]).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn secrets_can_come_from_files_but_not_from_both() {
        let dir = std::env::temp_dir().join(format!("api-secret-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("jwt-secret");
        std::fs::write(&key, format!("{}\n", "s".repeat(40))).unwrap();
        let key = key.to_string_lossy().into_owned();
        let password = dir.join("password");
        std::fs::write(&password, "p@ss word\n").unwrap();
        let password = password.to_string_lossy().into_owned();
        let parts = [
            ("DB_HOST", "db"),
            ("DB_NAME", "api"),
            ("DB_USER", "api"),
            ("APP_ENV", "prod"),
        ];
        let from_files = config(
            &[
                &parts[..],
                &[
                    ("JWT_SECRET_FILE", key.as_str()),
                    ("DB_PASSWORD_FILE", password.as_str()),
                ],
            ]
            .concat(),
        )
        .unwrap();
        assert_eq!(
            from_files.jwt.unwrap().secret,
            "s".repeat(40).into_bytes(),
            "the trailing newline is no part of it"
        );
        let both = config(
            &[
                &parts[..],
                &[
                    ("JWT_SECRET", &"k".repeat(32)),
                    ("JWT_SECRET_FILE", key.as_str()),
                ],
            ]
            .concat(),
        )
        .unwrap_err();
        assert_eq!(both.variable, "JWT_SECRET_FILE");
        let missing =
            config(&[&parts[..], &[("DB_PASSWORD_FILE", "/nonexistent/password")]].concat())
                .unwrap_err();
        assert_eq!(missing.variable, "DB_PASSWORD_FILE");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn jwt_secrets_are_required_and_long_outside_dev() {
        let dev = config(&[URL]).unwrap();
        let jwt = dev.jwt.as_ref().unwrap();
        assert!(jwt.generated && jwt.secret.len() >= 32);
        assert_eq!(jwt.ttl, Duration::from_secs(900));
        // Outside dev a missing key is an error for whoever needs it (serve), not for
        // migrate or wait-db, which get no key.
        let prod_without_key = config(&[URL, ("APP_ENV", "prod")]).unwrap();
        let err = prod_without_key.jwt.unwrap_err();
        assert_eq!(err.variable, "JWT_SECRET");
        assert!(
            err.problem.contains("required outside APP_ENV=dev"),
            "{err}"
        );
        let err = config(&[URL, ("APP_ENV", "dev"), ("JWT_SECRET", "short")]).unwrap_err();
        assert!(err.problem.contains("at least 32 bytes"), "{err}");
        let prod = config(&[
            URL,
            ("APP_ENV", "prod"),
            ("JWT_SECRET", &"k".repeat(32)),
            ("JWT_TTL", "5m"),
        ])
        .unwrap();
        assert!(!prod.jwt.as_ref().unwrap().generated);
        assert_eq!(prod.jwt.as_ref().unwrap().ttl, Duration::from_secs(300));
        assert!(
            !format!("{prod:?}").contains("kkkk"),
            "the secret never shows in Debug output"
        );
    }

    #[test]
    fn the_admin_bootstrap_needs_a_password() {
        assert!(config(&[URL]).unwrap().admin.is_none());
        let admin = config(&[URL, ("ADMIN_PASSWORD", "s3cret-enough")])
            .unwrap()
            .admin
            .unwrap();
        assert_eq!(admin.username, "admin");
        assert!(!format!("{admin:?}").contains("s3cret"));
    }

    #[test]
    fn cors_origins_are_a_checked_list() {
        assert!(config(&[URL]).unwrap().cors_allowed_origins.is_empty());
        let config_ok = config(&[
            URL,
            (
                "CORS_ALLOWED_ORIGINS",
                "https://app.example.com, http://localhost:3000",
            ),
        ])
        .unwrap();
        assert_eq!(
            config_ok.cors_allowed_origins,
            ["https://app.example.com", "http://localhost:3000"]
        );
        for bad in [
            "*",
            "app.example.com",
            "https://app.example.com/",
            "https://a.example.com/path",
        ] {
            let err = config(&[URL, ("CORS_ALLOWED_ORIGINS", bad)]).unwrap_err();
            assert_eq!(err.variable, "CORS_ALLOWED_ORIGINS", "{bad}");
        }
    }

    #[test]
    fn rust_log_wins_over_log_level() {
        let config = config(&[URL, ("LOG_LEVEL", "warn"), ("RUST_LOG", "api=debug")]).unwrap();
        assert_eq!(config.log.filter, "api=debug");
    }
}
