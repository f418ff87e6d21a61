//! The abuse limits' settings: how many attempts each window allows, and the Redis that
//! keeps the counts (`REDIS_URL`, `REDIS_PASSWORD[_FILE]`, `REDIS_KEY_PREFIX`,
//! `REDIS_TIMEOUT`).

use std::time::Duration;

use super::{ConfigError, Env};

#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// Sign-ins to one account from one client address per minute (`LOGIN_ATTEMPTS_PER_MINUTE`).
    pub sign_in_per_account_and_address: u32,
    /// Sign-ins from one address across accounts per minute (`LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE`).
    pub sign_in_per_address: u32,
    /// Sign-ins to one account from everywhere per minute (`LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE`);
    /// above the per-address limit, so no single address can lock an account.
    pub sign_in_per_account: u32,
    /// Sign-ups from one address per hour (`SIGN_UPS_PER_ADDRESS_PER_HOUR`).
    pub sign_ups_per_address_per_hour: u32,
    /// Where the counts live; `None`: in this process only.
    pub redis: Option<RedisSettings>,
}

/// A Redis to keep the counters in. `Debug` and [`RedisSettings::address`] never show the
/// password.
#[derive(Clone)]
pub struct RedisSettings {
    info: redis::ConnectionInfo,
    /// Put before every key, so several deployments (or tests) can share one Redis.
    pub key_prefix: String,
    /// The most one Redis call may take, connecting included, before the in-process
    /// counters stand in.
    pub timeout: Duration,
}

impl RedisSettings {
    pub fn connection_info(&self) -> redis::ConnectionInfo {
        self.info.clone()
    }

    pub fn address(&self) -> String {
        self.info.addr().to_string()
    }
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("address", &self.address())
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Env<'_> {
    pub(super) fn limits(&self) -> Result<LimitSettings, ConfigError> {
        let count = |name: &'static str, default: u32| {
            let value = self
                .parsed::<u32>(name, "a whole number of attempts")?
                .unwrap_or(default);
            if value == 0 {
                return Err(ConfigError::new(name, "must be at least 1"));
            }
            Ok(value)
        };
        let pair = count("LOGIN_ATTEMPTS_PER_MINUTE", 5)?;
        let address = count("LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE", 20)?;
        let account = count("LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE", 50)?;
        if account <= pair {
            return Err(ConfigError::new(
                "LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE",
                format!(
                    "must be above LOGIN_ATTEMPTS_PER_MINUTE ({pair}), or guesses from one \
                     address could lock the account for everyone; got {account}"
                ),
            ));
        }
        Ok(LimitSettings {
            sign_in_per_account_and_address: pair,
            sign_in_per_address: address,
            sign_in_per_account: account,
            sign_ups_per_address_per_hour: count("SIGN_UPS_PER_ADDRESS_PER_HOUR", 20)?,
            redis: self.redis()?,
        })
    }

    fn redis(&self) -> Result<Option<RedisSettings>, ConfigError> {
        let Some(url) = self.get("REDIS_URL") else {
            if self.get("REDIS_PASSWORD").is_some() || self.get("REDIS_PASSWORD_FILE").is_some() {
                return Err(ConfigError::new(
                    "REDIS_URL",
                    "not set, but a Redis password is; set REDIS_URL=redis://host:6379/0 too",
                ));
            }
            return Ok(None);
        };
        let mut info = parse_redis_url(url.trim())
            .map_err(|problem| ConfigError::new("REDIS_URL", problem))?;
        if let Some(password) = self.secret("REDIS_PASSWORD")? {
            let settings = info.redis_settings().clone().set_password(password);
            info = info.set_redis_settings(settings);
        }
        let timeout = self.duration("REDIS_TIMEOUT", Duration::from_millis(500))?;
        if timeout.is_zero() {
            return Err(ConfigError::new(
                "REDIS_TIMEOUT",
                "must be above 0 (every Redis call would fail); 500ms suits a Redis nearby",
            ));
        }
        Ok(Some(RedisSettings {
            info,
            key_prefix: self
                .get("REDIS_KEY_PREFIX")
                .unwrap_or_else(|| "api:limits:".to_owned()),
            timeout,
        }))
    }
}

/// `redis://[[user]:password@]host[:port][/db]`; the error never repeats the URL, which
/// may hold a password.
fn parse_redis_url(url: &str) -> Result<redis::ConnectionInfo, String> {
    const EXPECTED: &str = "expected redis://[:password@]host[:port][/database], such as \
         redis://redis:6379/0 (the password may come from REDIS_PASSWORD instead)";
    if !url.starts_with("redis://") {
        return Err(format!("{EXPECTED}; the scheme must be redis://"));
    }
    redis::IntoConnectionInfo::into_connection_info(url)
        .map_err(|err| format!("{EXPECTED} ({})", err.category()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn limits(vars: &[(&str, &str)]) -> Result<LimitSettings, ConfigError> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        Env(&|name| vars.get(name).map(|v| (*v).to_owned())).limits()
    }

    #[test]
    fn defaults_keep_the_account_limit_above_one_address() {
        let settings = limits(&[]).unwrap();
        assert_eq!(settings.sign_in_per_account_and_address, 5);
        assert!(settings.sign_in_per_account > settings.sign_in_per_account_and_address);
        assert!(settings.redis.is_none());
        let err = limits(&[("LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE", "5")]).unwrap_err();
        assert_eq!(err.variable, "LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE");
        assert!(err.problem.contains("one address"), "{err}");
        let zero = limits(&[("SIGN_UPS_PER_ADDRESS_PER_HOUR", "0")]).unwrap_err();
        assert_eq!(zero.variable, "SIGN_UPS_PER_ADDRESS_PER_HOUR");
    }

    #[test]
    fn redis_settings_take_a_separate_password_and_never_show_it() {
        let settings = limits(&[
            ("REDIS_URL", "redis://cache.internal:6380/2"),
            ("REDIS_PASSWORD", "hunter2-hunter2"),
        ])
        .unwrap()
        .redis
        .unwrap();
        assert_eq!(settings.address(), "cache.internal:6380");
        assert_eq!(
            settings.connection_info().redis_settings().password(),
            Some("hunter2-hunter2")
        );
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn a_wrong_redis_url_is_named_without_echoing_it() {
        for url in [
            "http://:secret@cache:6379",
            "redis://:secret@cache:notaport",
        ] {
            let err = limits(&[("REDIS_URL", url)]).unwrap_err();
            assert_eq!(err.variable, "REDIS_URL", "{url}");
            assert!(err.problem.contains("redis://"), "{err}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
        let orphan = limits(&[("REDIS_PASSWORD", "x")]).unwrap_err();
        assert_eq!(orphan.variable, "REDIS_URL");
        let zero = limits(&[("REDIS_URL", "redis://cache"), ("REDIS_TIMEOUT", "0s")]).unwrap_err();
        assert_eq!(zero.variable, "REDIS_TIMEOUT");
    }
}
