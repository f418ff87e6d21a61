//! Deleting what has served its purpose, a bounded batch at a time: idempotency keys past
//! their expiry (a client retrying after that gets a new movement, as documented) and
//! outbox rows published more than [`OUTBOX_RETENTION`] ago (kept that long so an
//! operator can replay recent events by clearing `published_at`).

use std::time::Duration;

use sqlx::PgPool;

/// How long published outbox rows stay.
pub const OUTBOX_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Rows deleted per statement, so no statement holds many locks or runs long. The rows
/// are picked first and deleted by identity (`= ANY (ARRAY(...))`), so the plan, made
/// once for any batch size, reads them through an index and never joins the whole table.
const BATCH: i64 = 1000;

/// How many expired keys and old outbox rows one round deleted.
pub async fn sweep(pool: &PgPool) -> Result<(u64, u64), sqlx::Error> {
    let keys = sqlx::query!(
        "DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
             SELECT ctid FROM idempotency_keys WHERE expires_at < now()
             ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED))",
        BATCH
    )
    .execute(pool)
    .await?
    .rows_affected();
    let retention = i64::try_from(OUTBOX_RETENTION.as_secs()).unwrap_or(i64::MAX);
    let events = sqlx::query!(
        "DELETE FROM outbox WHERE id = ANY (ARRAY(
             SELECT id FROM outbox WHERE published_at < now() - make_interval(secs => $2::bigint)
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED))",
        BATCH,
        retention
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok((keys, events))
}
