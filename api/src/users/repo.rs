//! SQL for users. Every query is parameterised and checked at compile time against the
//! migrated schema (`sqlx::query!`; the checked form is kept in `api/.sqlx`, refreshed by
//! `cargo xtask sqlx-prepare` and verified by `cargo xtask test`). Uniqueness is left to
//! the database's unique indexes and their violations are turned into 409s by index name.

use sqlx::pool::PoolConnection;
use sqlx::{Connection, PgPool, Postgres};
use uuid::Uuid;

use super::model::{NewUser, User, UserChanges};
use super::pagination::{Pagination, Start};
use crate::state::AppState;

/// What the repository can fail with, free of HTTP: `crate::error` maps it to statuses,
/// the command line to its own words.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// A rule the data keeps: a taken email or username, the last administrator.
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl RepoError {
    /// The database is down, saturated or not migrated yet: worth retrying later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Database(err) if crate::error::unavailable(err).is_some())
    }
}

/// A [`User`] from a `query!` record that holds its columns (each record is a type of its
/// own, so a function could not take them all).
macro_rules! user_of {
    ($row:ident) => {
        User {
            id: $row.id,
            email: $row.email,
            username: $row.username,
            full_name: $row.full_name,
            is_active: $row.is_active,
            is_verified: $row.is_verified,
            is_admin: $row.is_admin,
            created_at: $row.created_at,
            updated_at: $row.updated_at,
        }
    };
}

/// The [`User`] of a `query!` record whose user columns come from an outer join (each
/// `Option`, `None` when the join found no user).
macro_rules! joined_user_of {
    ($row:ident) => {
        match (
            $row.id,
            $row.email,
            $row.username,
            $row.is_active,
            $row.is_verified,
            $row.is_admin,
            $row.created_at,
            $row.updated_at,
        ) {
            (
                Some(id),
                Some(email),
                Some(username),
                Some(is_active),
                Some(is_verified),
                Some(is_admin),
                Some(created_at),
                Some(updated_at),
            ) => Some(User {
                id,
                email,
                username,
                full_name: $row.full_name,
                is_active,
                is_verified,
                is_admin,
                created_at,
                updated_at,
            }),
            _ => None,
        }
    };
}

/// The [`CallerFacts`] of a `query!` record that selected them.
macro_rules! caller_of {
    ($row:ident) => {
        CallerFacts {
            is_active: $row.caller_active,
            is_admin: $row.caller_admin,
            token_version: $row.caller_version,
        }
    };
}

/// The caller's facts, the total and the users of a page query's rows; `None` when there
/// are no rows (the caller does not exist).
macro_rules! page_of {
    ($rows:ident) => {
        $rows
            .first()
            .map(|first| (caller_of!(first), first.total))
            .map(|(facts, total)| {
                let users: Vec<User> = $rows
                    .into_iter()
                    .filter_map(|row| joined_user_of!(row))
                    .collect();
                (facts, total, users)
            })
    };
}

/// One page of the listing.
#[derive(Debug)]
pub struct ListedPage {
    pub users: Vec<User>,
    /// Whether more users follow the page.
    pub more: bool,
    pub total: i64,
}

/// A user with what signing in checks.
#[derive(Debug)]
pub struct LoginRow {
    pub user: User,
    pub password_hash: String,
    pub token_version: i32,
}

/// What a request's access check needs of its caller.
#[derive(Debug, Clone, Copy)]
pub struct CallerFacts {
    pub is_active: bool,
    pub is_admin: bool,
    pub token_version: i32,
}

pub struct UserRepo<'a> {
    db: crate::db::Connections<'a>,
}

impl<'a> UserRepo<'a> {
    pub fn new(pool: &'a PgPool) -> Self {
        Self {
            db: crate::db::Connections::of_pool(pool),
        }
    }

    /// The repository of a running service, counted in its metrics.
    pub fn for_state(state: &'a AppState) -> Self {
        Self {
            db: crate::db::Connections::of_state(state),
        }
    }

    async fn conn(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        self.db.acquire().await
    }

    pub async fn create(&self, user: &NewUser, password_hash: &str) -> Result<User, RepoError> {
        self.insert(user, password_hash, false).await
    }

    /// An administrator (the bootstrap admin, or `api create-admin`).
    pub async fn create_admin(
        &self,
        user: &NewUser,
        password_hash: &str,
    ) -> Result<User, RepoError> {
        self.insert(user, password_hash, true).await
    }

    pub async fn any_admin(&self) -> Result<bool, RepoError> {
        let any =
            sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM users WHERE is_admin) AS "any!""#)
                .fetch_one(&mut *self.conn().await?)
                .await?;
        Ok(any)
    }

    /// The user whose username or email (any case) is `login`, with the password hash
    /// and token version, in one query.
    pub async fn find_for_login(&self, login: &str) -> Result<Option<LoginRow>, RepoError> {
        let row = sqlx::query!(
            "SELECT id, email, username, full_name, is_active, is_verified, is_admin, \
                    created_at, updated_at, password_hash, token_version \
             FROM users WHERE lower(username) = lower($1) OR lower(email) = lower($1) LIMIT 1",
            login
        )
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(row.map(|row| LoginRow {
            password_hash: row.password_hash,
            token_version: row.token_version,
            user: user_of!(row),
        }))
    }

    /// `name` case-folded as the database folds it for [`UserRepo::find_for_login`], so an
    /// unknown name is counted under exactly the spellings that would find one account.
    pub async fn fold(&self, name: &str) -> Result<String, RepoError> {
        Ok(
            sqlx::query_scalar!(r#"SELECT lower($1) AS "folded!""#, name)
                .fetch_one(&mut *self.conn().await?)
                .await?,
        )
    }

    /// The user a token names, with its facts (the token version current for it), in one
    /// query.
    pub async fn find_caller(&self, id: Uuid) -> Result<Option<(CallerFacts, User)>, RepoError> {
        let row = sqlx::query!(
            "SELECT id, email, username, full_name, is_active, is_verified, is_admin, \
                    created_at, updated_at, token_version \
             FROM users WHERE id = $1",
            id
        )
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(row.map(|row| {
            let facts = CallerFacts {
                is_active: row.is_active,
                is_admin: row.is_admin,
                token_version: row.token_version,
            };
            (facts, user_of!(row))
        }))
    }

    /// The caller's facts and the user `target`, in one query: `None` when the caller
    /// does not exist; the user `None` when it does not.
    pub async fn find_as(
        &self,
        caller: Uuid,
        target: Uuid,
    ) -> Result<Option<(CallerFacts, Option<User>)>, RepoError> {
        let row = sqlx::query!(
            r#"SELECT c.is_active AS caller_active, c.is_admin AS caller_admin,
                      c.token_version AS caller_version,
                      t.id AS "id?", t.email AS "email?", t.username AS "username?",
                      t.full_name, t.is_active AS "is_active?", t.is_verified AS "is_verified?",
                      t.is_admin AS "is_admin?", t.created_at AS "created_at?",
                      t.updated_at AS "updated_at?"
               FROM users c LEFT JOIN users t ON t.id = $2
               WHERE c.id = $1"#,
            caller,
            target
        )
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(row.map(|row| (caller_of!(row), joined_user_of!(row))))
    }

    pub async fn password_hash(&self, id: Uuid) -> Result<Option<String>, RepoError> {
        Ok(
            sqlx::query_scalar!("SELECT password_hash FROM users WHERE id = $1", id)
                .fetch_optional(&mut *self.conn().await?)
                .await?,
        )
    }

    /// Sets a new password and ends every token issued before; returns the new token version.
    pub async fn set_password_hash(&self, id: Uuid, hash: &str) -> Result<i32, RepoError> {
        Ok(sqlx::query_scalar!(
            "UPDATE users SET password_hash = $2, token_version = token_version + 1, \
             updated_at = clock_timestamp() WHERE id = $1 RETURNING token_version",
            id,
            hash
        )
        .fetch_one(&mut *self.conn().await?)
        .await?)
    }

    /// Ends every token issued to `id` so far (signing out everywhere).
    pub async fn revoke_tokens(&self, id: Uuid) -> Result<(), RepoError> {
        sqlx::query!(
            "UPDATE users SET token_version = token_version + 1 WHERE id = $1",
            id
        )
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    async fn insert(
        &self,
        user: &NewUser,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<User, RepoError> {
        sqlx::query_as!(
            User,
            "INSERT INTO users (email, username, full_name, password_hash, is_admin) \
             VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, email, username, full_name, is_active, is_verified, is_admin, \
                       created_at, updated_at",
            user.email.as_str(),
            user.username.as_str(),
            user.full_name.as_ref().map(|name| name.as_str()),
            password_hash,
            is_admin
        )
        .fetch_one(&mut *self.conn().await?)
        .await
        .map_err(conflict_or_other)
    }

    /// One page, newest first (`id` breaks ties, so the order is stable between pages),
    /// whether more users follow it, and the number of users, with the facts of `caller`,
    /// in one statement; the page is read only for an administrator. `None` when the
    /// caller does not exist.
    pub async fn list_as(
        &self,
        caller: Uuid,
        pagination: &Pagination,
    ) -> Result<Option<(CallerFacts, ListedPage)>, RepoError> {
        let size = i64::from(pagination.size);
        // One past the page says whether another follows.
        let limit = size + 1;
        let mut conn = self.conn().await?;
        let found = match pagination.start {
            // The page's ids first, from the index alone, then only those rows: stepping
            // over the users before the page never reads their rows. The ids go through
            // an array so that even the generic plan fetches the rows by key (joined, it
            // hashes the whole table).
            Start::Page(page) => {
                let rows = sqlx::query!(
                    r#"SELECT c.is_active AS caller_active, c.is_admin AS caller_admin,
                              c.token_version AS caller_version,
                              (SELECT n FROM user_count) AS "total!",
                              u.id AS "id?", u.email AS "email?", u.username AS "username?",
                              u.full_name, u.is_active AS "is_active?",
                              u.is_verified AS "is_verified?", u.is_admin AS "is_admin?",
                              u.created_at AS "created_at?", u.updated_at AS "updated_at?"
                       FROM users c
                       LEFT JOIN LATERAL (
                           SELECT * FROM users WHERE id = ANY (ARRAY(
                               SELECT id FROM users WHERE c.is_admin
                               ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3
                           ))
                       ) AS u ON true
                       WHERE c.id = $1
                       ORDER BY u.created_at DESC, u.id DESC"#,
                    caller,
                    limit,
                    i64::from(page - 1) * size
                )
                .fetch_all(&mut *conn)
                .await?;
                page_of!(rows)
            }
            Start::After(cursor) => {
                let rows = sqlx::query!(
                    r#"SELECT c.is_active AS caller_active, c.is_admin AS caller_admin,
                              c.token_version AS caller_version,
                              (SELECT n FROM user_count) AS "total!",
                              u.id AS "id?", u.email AS "email?", u.username AS "username?",
                              u.full_name, u.is_active AS "is_active?",
                              u.is_verified AS "is_verified?", u.is_admin AS "is_admin?",
                              u.created_at AS "created_at?", u.updated_at AS "updated_at?"
                       FROM users c
                       LEFT JOIN LATERAL (
                           SELECT * FROM users
                           WHERE c.is_admin AND (created_at, id) < ($2, $3)
                           ORDER BY created_at DESC, id DESC LIMIT $4
                       ) AS u ON true
                       WHERE c.id = $1
                       ORDER BY u.created_at DESC, u.id DESC"#,
                    caller,
                    cursor.created_at,
                    cursor.id,
                    limit
                )
                .fetch_all(&mut *conn)
                .await?;
                page_of!(rows)
            }
        };
        let Some((facts, total, mut users)) = found else {
            return Ok(None);
        };
        let more = users.len() > pagination.size as usize;
        users.truncate(pagination.size as usize);
        Ok(Some((facts, ListedPage { users, more, total })))
    }

    pub async fn update(&self, id: Uuid, changes: &UserChanges) -> Result<Option<User>, RepoError> {
        let full_name = changes
            .full_name
            .as_ref()
            .map(|name| name.as_ref().map(|n| n.as_str().to_owned()));
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        if changes.is_active == Some(false) {
            refuse_the_last_admin(&mut tx, id, "is_active").await?;
        }
        let user = sqlx::query_as!(
            User,
            "UPDATE users SET \
                 full_name = CASE WHEN $2 THEN $3 ELSE full_name END, \
                 is_active = COALESCE($4, is_active), \
                 token_version = token_version + CASE WHEN $4 = false THEN 1 ELSE 0 END, \
                 updated_at = clock_timestamp() \
             WHERE id = $1 \
             RETURNING id, email, username, full_name, is_active, is_verified, is_admin, \
                       created_at, updated_at",
            id,
            full_name.is_some(),
            full_name.flatten(),
            changes.is_active
        )
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// `true` when a user was deleted.
    pub async fn delete(&self, id: Uuid) -> Result<bool, RepoError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        refuse_the_last_admin(&mut tx, id, "id").await?;
        let result = sqlx::query!("DELETE FROM users WHERE id = $1", id)
            .execute(&mut *tx)
            .await
            .map_err(conflict_or_other)?;
        tx.commit().await?;
        Ok(result.rows_affected() == 1)
    }
}

/// 409 when `id` is the only active administrator: removing or deactivating it would
/// leave nobody to manage users (and the bootstrap would re-create `admin` with a stale
/// password). The active administrators' rows stay locked until the transaction ends, so
/// two administrators removing each other at once cannot both succeed.
async fn refuse_the_last_admin(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    field: &'static str,
) -> Result<(), RepoError> {
    let admins =
        sqlx::query_scalar!("SELECT id FROM users WHERE is_admin AND is_active FOR UPDATE")
            .fetch_all(conn)
            .await?;
    if admins == [id] {
        return Err(RepoError::Conflict {
            field,
            message: "this is the last active administrator; make another user an \
                      administrator first (api create-admin)"
                .into(),
        });
    }
    Ok(())
}

fn conflict_or_other(err: sqlx::Error) -> RepoError {
    if let sqlx::Error::Database(db) = &err
        && db.is_foreign_key_violation()
        && db.constraint() == Some("accounts_owner_id_fkey")
    {
        return RepoError::Conflict {
            field: "id",
            message: "the user holds bank accounts, which the ledger keeps for good; \
                      deactivate the user instead (is_active: false)"
                .into(),
        };
    }
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
    {
        match db.constraint() {
            Some("users_email_key") => {
                return RepoError::Conflict {
                    field: "email",
                    message: "a user with this email already exists".into(),
                };
            }
            Some("users_username_key") => {
                return RepoError::Conflict {
                    field: "username",
                    message: "this username is taken".into(),
                };
            }
            _ => {}
        }
    }
    err.into()
}
