//! SQL for accounts. Balances change only in `crate::transfers::ledger`, under row locks.

use sqlx::pool::PoolConnection;
use uuid::Uuid;

use super::model::{Account, NewAccount};
use crate::http::keyset::Keyset;
use crate::state::AppState;

/// Whose accounts a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owners {
    One(Uuid),
    /// Everyone's (administrators).
    All,
}

/// What closing an account came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closing {
    /// Closed now, or closed before (closing twice is not an error).
    Closed(Account),
    /// Money is left in it: move it out first.
    NotEmpty(Account),
}

/// An [`Account`] from a `query!` record holding the account columns.
macro_rules! account_of {
    ($row:ident) => {
        Account::from_columns(
            $row.id,
            $row.owner_id,
            $row.name,
            $row.currency,
            $row.balance,
            $row.created_at,
            $row.closed_at,
        )
    };
}

pub struct AccountRepo<'a> {
    db: crate::db::Connections<'a>,
}

impl<'a> AccountRepo<'a> {
    pub fn for_state(state: &'a AppState) -> Self {
        Self {
            db: crate::db::Connections::of_state(state),
        }
    }

    async fn conn(&self) -> Result<PoolConnection<sqlx::Postgres>, sqlx::Error> {
        self.db.acquire().await
    }

    pub async fn create(&self, owner: Uuid, account: &NewAccount) -> Result<Account, sqlx::Error> {
        let row = sqlx::query!(
            r#"INSERT INTO accounts (owner_id, name, currency) VALUES ($1, $2, $3)
               RETURNING id, owner_id AS "owner_id!", name, currency, balance, created_at, closed_at"#,
            owner,
            account.name.as_str(),
            account.currency.code(),
        )
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(account_of!(row))
    }

    /// A customer account, whoever owns it.
    pub async fn find(&self, id: Uuid) -> Result<Option<Account>, sqlx::Error> {
        let row = sqlx::query!(
            r#"SELECT id, owner_id AS "owner_id!", name, currency, balance, created_at, closed_at
               FROM accounts WHERE id = $1 AND kind = 'customer'"#,
            id
        )
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(row.map(|row| account_of!(row)))
    }

    /// A page of accounts, oldest first, after the account `page.after`; `currency`
    /// narrows it. Reads one row more than the page (see [`Keyset::limit`]).
    pub async fn list(
        &self,
        owners: Owners,
        currency: Option<&str>,
        page: &Keyset<Uuid>,
    ) -> Result<Vec<Account>, sqlx::Error> {
        let mut conn = self.conn().await?;
        // Two statements, not one with `$1 IS NULL OR owner_id = $1`: planned once for
        // any owner, that form could not use the owner's index. Without `after`, a page
        // starts after the smallest key, so the index range is the same condition either
        // way.
        let accounts = match owners {
            Owners::One(owner) => sqlx::query!(
                r#"SELECT id, owner_id AS "owner_id!", name, currency, balance, created_at, closed_at
                   FROM accounts
                   WHERE owner_id = $1 AND ($2::text IS NULL OR currency = $2)
                     AND (created_at, id) > (SELECT created_at, id FROM accounts WHERE id = $3
                                            UNION ALL SELECT '-infinity', '00000000-0000-0000-0000-000000000000'
                                            LIMIT 1)
                   ORDER BY created_at, id LIMIT $4"#,
                owner,
                currency,
                page.after,
                page.limit(),
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|row| account_of!(row))
            .collect(),
            Owners::All => sqlx::query!(
                r#"SELECT id, owner_id AS "owner_id!", name, currency, balance, created_at, closed_at
                   FROM accounts
                   WHERE kind = 'customer' AND ($1::text IS NULL OR currency = $1)
                     AND (created_at, id) > (SELECT created_at, id FROM accounts WHERE id = $2
                                            UNION ALL SELECT '-infinity', '00000000-0000-0000-0000-000000000000'
                                            LIMIT 1)
                   ORDER BY created_at, id LIMIT $3"#,
                currency,
                page.after,
                page.limit(),
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|row| account_of!(row))
            .collect(),
        };
        Ok(accounts)
    }

    /// Closes the account `id` when its balance is zero. The update waits for any
    /// movement holding the account's row, so money cannot arrive after the check.
    pub async fn close(&self, id: Uuid) -> Result<Option<Closing>, sqlx::Error> {
        let mut conn = self.conn().await?;
        let closed = sqlx::query!(
            r#"UPDATE accounts SET closed_at = clock_timestamp()
               WHERE id = $1 AND kind = 'customer' AND closed_at IS NULL AND balance = 0
               RETURNING id, owner_id AS "owner_id!", name, currency, balance, created_at, closed_at"#,
            id
        )
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = closed {
            return Ok(Some(Closing::Closed(account_of!(row))));
        }
        drop(conn);
        Ok(self.find(id).await?.map(|account| {
            if account.closed_at.is_some() {
                Closing::Closed(account)
            } else {
                Closing::NotEmpty(account)
            }
        }))
    }
}
