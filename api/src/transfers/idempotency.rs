//! `Idempotency-Key`: a client names each movement it asks for, and a retry under the
//! same name (after a timeout, a dropped connection, a double click) gets the first
//! answer again instead of moving money twice, as Stripe's API does.
//!
//! The key is claimed with an insert in the movement's own transaction, so a concurrent
//! retry waits on the key's row until the first request commits, then reads its answer.
//! Keys belong to the user who sent them and expire after `IDEMPOTENCY_KEY_TTL`
//! (24 hours by default); an expired key may name a new request.

use std::time::Duration;

use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::ledger::Refusal;
use super::model::Movement;
use crate::error::ApiError;

pub const HEADER: &str = "idempotency-key";
/// Set on an answer given again for a retried key.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// 1 to 255 printable ASCII characters (a UUID is a good choice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let Some(raw) = raw else {
            return Err(ApiError::BadRequest {
                code: "idempotency_key_required",
                message: "send an Idempotency-Key header (a fresh UUID per movement) so a retry \
                          cannot move the money twice"
                    .into(),
            });
        };
        let key = raw.trim();
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Self::invalid());
        }
        Ok(Self(key.to_owned()))
    }

    fn invalid() -> ApiError {
        ApiError::BadRequest {
            code: "invalid_idempotency_key",
            message: "the Idempotency-Key must be 1 to 255 printable ASCII characters without \
                      spaces, such as a UUID"
                .into(),
        }
    }

    /// The request's key; a header that is not text at all is as invalid as a bad one.
    pub fn of_request(req: &Request) -> Result<Self, ApiError> {
        match req.headers().get(HEADER).map(|value| value.to_str()) {
            Some(Err(_)) => Err(Self::invalid()),
            Some(Ok(text)) => Self::parse(Some(text)),
            None => Self::parse(None),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The answer stored under a key: the movement made, or why none was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Moved(Movement),
    Refused(Refusal),
}

impl Answer {
    /// The HTTP status of the answer (stored for operators reading the table).
    fn status(&self) -> i16 {
        let status = match self {
            Self::Moved(_) => StatusCode::CREATED,
            Self::Refused(refusal) => ApiError::from(refusal.clone()).status(),
        };
        i16::try_from(status.as_u16()).unwrap_or(i16::MAX)
    }
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's: go on, and [`store`] the answer before committing.
    Fresh,
    /// The key was used before; [`replay`] decides what to answer.
    Used {
        fingerprint: Vec<u8>,
        answer: Option<serde_json::Value>,
    },
}

/// Claims `key` for `user`'s request with `fingerprint` inside the caller's transaction
/// (taking over an expired key). A concurrent holder of the key makes this wait until it
/// commits or rolls back.
pub async fn claim(
    conn: &mut PgConnection,
    user: Uuid,
    key: &IdempotencyKey,
    fingerprint: &[u8],
    ttl: Duration,
) -> Result<Claim, sqlx::Error> {
    let ttl_micros = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
    let claimed = sqlx::query_scalar!(
        r#"INSERT INTO idempotency_keys (user_id, key, fingerprint, expires_at)
           VALUES ($1, $2, $3, clock_timestamp() + make_interval(secs => $4::bigint / 1e6))
           ON CONFLICT (user_id, key) DO UPDATE
               SET fingerprint = EXCLUDED.fingerprint, expires_at = EXCLUDED.expires_at,
                   status = NULL, response = NULL, created_at = clock_timestamp()
               WHERE idempotency_keys.expires_at <= clock_timestamp()
           RETURNING true AS "claimed!""#,
        user,
        key.as_str(),
        fingerprint,
        ttl_micros,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if claimed.is_some() {
        return Ok(Claim::Fresh);
    }
    let used = sqlx::query!(
        "SELECT fingerprint, response FROM idempotency_keys WHERE user_id = $1 AND key = $2",
        user,
        key.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Claim::Used {
        fingerprint: used.fingerprint,
        answer: used.response,
    })
}

/// Stores the answer to the request that claimed `key`, in its transaction.
pub async fn store(
    conn: &mut PgConnection,
    user: Uuid,
    key: &IdempotencyKey,
    answer: &Answer,
) -> Result<(), ApiError> {
    let response = serde_json::to_value(answer)
        .map_err(|err| anyhow::Error::new(err).context("storing an idempotent answer"))?;
    sqlx::query!(
        "UPDATE idempotency_keys SET status = $3, response = $4 WHERE user_id = $1 AND key = $2",
        user,
        key.as_str(),
        answer.status(),
        response,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The answer to give again for a used key, or why there is none: the key names another
/// request (422), or its first request has not finished (409: it stays claimed only
/// inside that request's transaction, so this means a stored answer was lost).
pub fn replay(
    used_fingerprint: &[u8],
    answer: Option<serde_json::Value>,
    fingerprint: &[u8],
) -> Result<Answer, ApiError> {
    if used_fingerprint != fingerprint {
        return Err(ApiError::KeyReused(
            "this Idempotency-Key was used for a different request (another account, amount or \
             description); use a fresh key for a new movement"
                .into(),
        ));
    }
    let answer = answer.ok_or_else(|| ApiError::Refused {
        code: "idempotency_key_in_use",
        field: "Idempotency-Key",
        message: "the first request with this key has not finished; retry shortly".into(),
    })?;
    serde_json::from_value(answer).map_err(|err| {
        anyhow::Error::new(err)
            .context("reading an idempotent answer")
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_required_and_must_be_printable() {
        assert_eq!(
            IdempotencyKey::parse(Some(" abc-1 ")).unwrap().as_str(),
            "abc-1"
        );
        for (raw, code) in [
            (None, "idempotency_key_required"),
            (Some(""), "invalid_idempotency_key"),
            (Some("a b"), "invalid_idempotency_key"),
            (Some("é"), "invalid_idempotency_key"),
        ] {
            match IdempotencyKey::parse(raw) {
                Err(ApiError::BadRequest { code: got, .. }) => assert_eq!(got, code, "{raw:?}"),
                other => panic!("{raw:?}: {other:?}"),
            }
        }
        assert!(IdempotencyKey::parse(Some(&"k".repeat(256))).is_err());
    }

    #[test]
    fn a_used_key_answers_again_only_for_the_same_request() {
        let refusal = Answer::Refused(Refusal::InsufficientFunds {
            balance: 1,
            amount: 2,
            currency: "EUR".into(),
        });
        let stored = serde_json::to_value(&refusal).unwrap();
        assert_eq!(
            replay(b"same", Some(stored.clone()), b"same").unwrap(),
            refusal
        );
        assert!(matches!(
            replay(b"other", Some(stored), b"same"),
            Err(ApiError::KeyReused(_))
        ));
        assert!(matches!(
            replay(b"same", None, b"same"),
            Err(ApiError::Refused {
                code: "idempotency_key_in_use",
                ..
            })
        ));
    }
}
