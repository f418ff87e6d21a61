//! SQL for notifications.

use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{NewNotification, Notification};
use crate::http::keyset::Keyset;

/// Writes `event`'s notifications; those the event made before (a redelivery) are left
/// as they are. Returns how many were new.
pub async fn record(
    conn: &mut PgConnection,
    event: Uuid,
    notifications: &[NewNotification],
) -> Result<u64, sqlx::Error> {
    let users: Vec<Uuid> = notifications.iter().map(|n| n.user_id).collect();
    let kinds: Vec<String> = notifications.iter().map(|n| n.kind.to_owned()).collect();
    let messages: Vec<String> = notifications.iter().map(|n| n.message.clone()).collect();
    let data: Vec<serde_json::Value> = notifications.iter().map(|n| n.data.clone()).collect();
    let written = sqlx::query!(
        "INSERT INTO notifications (user_id, event_id, kind, message, data)
         SELECT n.user_id, $2, n.kind, n.message, n.data
         FROM unnest($1::uuid[], $3::text[], $4::text[], $5::jsonb[]) AS n (user_id, kind, message, data)
         ON CONFLICT (event_id, user_id) DO NOTHING",
        &users,
        event,
        &kinds,
        &messages,
        &data,
    )
    .execute(conn)
    .await?;
    Ok(written.rows_affected())
}

/// A page of `user`'s notifications, newest first, after `page.after`, reading one more
/// than the page (see [`Keyset::limit`]); and how many are unread.
pub async fn list(
    db: crate::db::Connections<'_>,
    user: Uuid,
    page: &Keyset<i64>,
) -> Result<(Vec<Notification>, i64), sqlx::Error> {
    let mut conn = db.acquire().await?;
    let notifications = sqlx::query_as!(
        Notification,
        "SELECT id, kind, message, data, created_at, read_at FROM notifications
         WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        user,
        page.after.unwrap_or(i64::MAX),
        page.limit(),
    )
    .fetch_all(&mut *conn)
    .await?;
    let unread = sqlx::query_scalar!(
        r#"SELECT count(*) AS "unread!" FROM notifications WHERE user_id = $1 AND read_at IS NULL"#,
        user
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((notifications, unread))
}

/// Marks `user`'s notification `id` read (once: reading it again keeps the first time).
pub async fn mark_read(
    db: crate::db::Connections<'_>,
    user: Uuid,
    id: i64,
) -> Result<Option<Notification>, sqlx::Error> {
    let mut conn = db.acquire().await?;
    sqlx::query_as!(
        Notification,
        "UPDATE notifications SET read_at = coalesce(read_at, clock_timestamp())
         WHERE id = $1 AND user_id = $2
         RETURNING id, kind, message, data, created_at, read_at",
        id,
        user
    )
    .fetch_optional(&mut *conn)
    .await
}

/// Marks every notification of `user` read; how many were unread.
pub async fn mark_all_read(db: crate::db::Connections<'_>, user: Uuid) -> Result<u64, sqlx::Error> {
    let mut conn = db.acquire().await?;
    let marked = sqlx::query!(
        "UPDATE notifications SET read_at = clock_timestamp() WHERE user_id = $1 AND read_at IS NULL",
        user
    )
    .execute(&mut *conn)
    .await?;
    Ok(marked.rows_affected())
}
