//! An account's statement: its entries, newest first, a keyset page at a time.

use uuid::Uuid;

use super::model::{Entry, MovementKind};
use crate::http::keyset::Keyset;

/// A page of `account`'s entries after the entry `page.after` (newest first), reading one
/// more than the page (see [`Keyset::limit`]).
pub async fn entries(
    db: crate::db::Connections<'_>,
    account: Uuid,
    page: &Keyset<i64>,
) -> Result<Vec<Entry>, sqlx::Error> {
    let mut conn = db.acquire().await?;
    // Without `after` the page starts below the largest id, so the index range is
    // `account_id = $1 AND id < $2` either way, at any depth.
    let rows = sqlx::query!(
        r#"SELECT e.id, e.movement_id, m.kind, e.amount, e.balance_after AS "balance_after!",
                  m.description, e.created_at, c.id AS "counterparty_account_id?"
           FROM entries e
           JOIN movements m ON m.id = e.movement_id
           LEFT JOIN accounts c
               ON c.id = CASE WHEN e.amount < 0 THEN m.credit_account_id ELSE m.debit_account_id END
              AND c.kind = 'customer'
           WHERE e.account_id = $1 AND e.id < $2
           ORDER BY e.id DESC
           LIMIT $3"#,
        account,
        page.after.unwrap_or(i64::MAX),
        page.limit(),
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            let kind = MovementKind::parse(&row.kind).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown movement kind {:?}", row.kind).into())
            })?;
            Ok(Entry {
                id: row.id,
                movement_id: row.movement_id,
                kind,
                amount: row.amount,
                balance_after: row.balance_after,
                counterparty_account_id: row.counterparty_account_id,
                description: row.description,
                created_at: row.created_at,
            })
        })
        .collect()
}
