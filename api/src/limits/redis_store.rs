//! The counters in Redis, the one place the limits touch it. Each attempt is one Lua
//! script, so incrementing every counter, setting its expiry and reading its time left
//! is atomic: replicas racing on one account can never both slip under the limit.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Counter, Refused};
use crate::config::RedisSettings;

/// KEYS: the counters; ARGV: per counter, its window in ms and its limit. When any
/// counter is already at its limit, returns `{index, ms left}` of the one that frees up
/// last and counts nothing (so refused attempts make no keys and add to no counter);
/// otherwise counts one attempt on every counter and returns `{0, 0}`.
const ATTEMPT: &str = r"
local worst, worst_left = 0, -1
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[2 * i]) then
    local left = redis.call('PTTL', key)
    if left > worst_left then
      worst, worst_left = i, left
    end
  end
end
if worst > 0 then
  return {worst, worst_left}
end
for i, key in ipairs(KEYS) do
  redis.call('INCR', key)
  if redis.call('PTTL', key) < 0 then
    redis.call('PEXPIRE', key, tonumber(ARGV[2 * i - 1]))
  end
end
return {0, 0}
";

pub struct RedisCounters {
    settings: RedisSettings,
    script: redis::Script,
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisCounters({})", self.settings.address())
    }
}

impl RedisCounters {
    pub fn new(settings: RedisSettings) -> Self {
        Self {
            settings,
            script: redis::Script::new(ATTEMPT),
            connection: tokio::sync::Mutex::new(None),
        }
    }

    /// `host:port`, for log lines (never the password).
    pub fn address(&self) -> String {
        self.settings.address()
    }

    /// `Ok(Err(refused))` when a counter is past its limit; `Err` when Redis did not
    /// answer within the timeout.
    pub async fn attempt(&self, counters: &[Counter]) -> anyhow::Result<Result<(), Refused>> {
        let mut invocation = self.script.prepare_invoke();
        for counter in counters {
            invocation
                .key(self.redis_key(counter))
                .arg(counter.rule.window.as_millis().max(1) as u64)
                .arg(counter.rule.limit);
        }
        let answer: Vec<i64> = self
            .within_timeout(async |mut connection| invocation.invoke_async(&mut connection).await)
            .await?;
        Ok(match answer.as_slice() {
            [0, _] => Ok(()),
            [index, left] => {
                let rule = usize::try_from(*index - 1)
                    .ok()
                    .and_then(|i| counters.get(i))
                    .map(|counter| counter.rule)
                    .ok_or_else(|| {
                        anyhow::anyhow!("Redis answered counter {index} of {}", counters.len())
                    })?;
                Err(Refused::new(
                    rule,
                    Duration::from_millis((*left).max(0) as u64),
                ))
            }
            other => anyhow::bail!("Redis answered {other:?} to the attempt script"),
        })
    }

    pub async fn forgive(&self, counter: &Counter) -> anyhow::Result<()> {
        let key = self.redis_key(counter);
        self.within_timeout(async |mut connection| {
            redis::cmd("DEL")
                .arg(&key)
                .query_async::<()>(&mut connection)
                .await
        })
        .await
    }

    /// `PING`: whether Redis answers (readiness asks).
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.within_timeout(async |mut connection| {
            redis::cmd("PING").query_async::<()>(&mut connection).await
        })
        .await
    }

    fn redis_key(&self, counter: &Counter) -> String {
        format!("{}{}", self.settings.key_prefix, counter.key.hex())
    }

    /// Runs `call` on the shared connection, connecting first if there is none yet; the
    /// whole of it, connecting included, within the configured timeout.
    async fn within_timeout<T>(
        &self,
        call: impl AsyncFnOnce(ConnectionManager) -> redis::RedisResult<T>,
    ) -> anyhow::Result<T> {
        let timeout = self.settings.timeout;
        let work = async {
            let connection = self.connection().await?;
            call(connection).await
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(anyhow::anyhow!("{err}")),
            Err(_) => Err(anyhow::anyhow!("no answer within {timeout:?}")),
        }
    }

    /// The connection manager reconnects by itself once made; making it the first time
    /// needs Redis up, so a start without Redis tries again on a later attempt.
    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let client = redis::Client::open(self.settings.connection_info())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.settings.timeout))
            .set_response_timeout(Some(self.settings.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let connection = ConnectionManager::new_with_config(client, config).await?;
        *slot = Some(connection.clone());
        Ok(connection)
    }
}
