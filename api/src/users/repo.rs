//! SQL for users. Every query is parameterised; uniqueness is left to the database's
//! unique indexes and their violations are turned into 409s by index name.

use sqlx::PgPool;
use uuid::Uuid;

use super::model::{NewUser, User, UserChanges};
use crate::error::ApiError;

/// The columns of [`User`], in one place; a macro because sqlx wants `'static` SQL.
macro_rules! user_columns {
    () => {
        "id, email, username, full_name, is_active, is_verified, created_at, updated_at"
    };
}

pub struct UserRepo<'a> {
    pool: &'a PgPool,
}

impl<'a> UserRepo<'a> {
    pub fn new(pool: &'a PgPool) -> Self {
        Self { pool }
    }

    pub async fn create(&self, user: &NewUser, password_hash: &str) -> Result<User, ApiError> {
        sqlx::query_as(concat!(
            "INSERT INTO users (email, username, full_name, password_hash) \
                 VALUES ($1, $2, $3, $4) RETURNING ",
            user_columns!()
        ))
        .bind(user.email.as_str())
        .bind(user.username.as_str())
        .bind(user.full_name.as_ref().map(|name| name.as_str()))
        .bind(password_hash)
        .fetch_one(self.pool)
        .await
        .map_err(conflict_or_other)
    }

    pub async fn find(&self, id: Uuid) -> Result<Option<User>, ApiError> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool)
        .await?)
    }

    /// One page, newest first; `id` breaks ties so the order is stable between pages.
    pub async fn list(&self, page: u32, size: u32) -> Result<(Vec<User>, i64), ApiError> {
        let offset = i64::from(page - 1) * i64::from(size);
        let users = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
        ))
        .bind(i64::from(size))
        .bind(offset)
        .fetch_all(self.pool)
        .await?;
        let total = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(self.pool)
            .await?;
        Ok((users, total))
    }

    pub async fn update(&self, id: Uuid, changes: &UserChanges) -> Result<Option<User>, ApiError> {
        let full_name = changes
            .full_name
            .as_ref()
            .map(|name| name.as_ref().map(|n| n.as_str().to_owned()));
        Ok(sqlx::query_as(concat!(
            "UPDATE users SET \
                     full_name = CASE WHEN $2 THEN $3 ELSE full_name END, \
                     is_active = COALESCE($4, is_active), \
                     updated_at = clock_timestamp() \
                 WHERE id = $1 RETURNING ",
            user_columns!()
        ))
        .bind(id)
        .bind(full_name.is_some())
        .bind(full_name.flatten())
        .bind(changes.is_active)
        .fetch_optional(self.pool)
        .await?)
    }

    /// `true` when a user was deleted.
    pub async fn delete(&self, id: Uuid) -> Result<bool, ApiError> {
        let result = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }
}

fn conflict_or_other(err: sqlx::Error) -> ApiError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
    {
        match db.constraint() {
            Some("users_email_key") => {
                return ApiError::Conflict {
                    field: "email",
                    message: "a user with this email already exists".into(),
                };
            }
            Some("users_username_key") => {
                return ApiError::Conflict {
                    field: "username",
                    message: "this username is taken".into(),
                };
            }
            _ => {}
        }
    }
    err.into()
}
