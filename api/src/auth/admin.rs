//! The first administrator: created at start when `ADMIN_PASSWORD` is set and no admin
//! exists, or on demand with `api create-admin`.

use sqlx::PgPool;

use crate::config::AdminBootstrap;
use crate::error::ApiError;
use crate::users::model::{Email, NewUser, Password, Username};
use crate::users::password;
use crate::users::repo::UserRepo;

/// What [`ensure_admin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminOutcome {
    Created(String),
    AlreadyThere,
}

/// Creates the bootstrap admin unless an administrator exists already.
pub async fn ensure_admin(pool: &PgPool, admin: &AdminBootstrap) -> Result<AdminOutcome, ApiError> {
    let repo = UserRepo::new(pool);
    if repo.any_admin().await? {
        return Ok(AdminOutcome::AlreadyThere);
    }
    create_admin(pool, admin).await.map(AdminOutcome::Created)
}

/// Creates an administrator from the settings; a taken username or email is a conflict.
pub async fn create_admin(pool: &PgPool, admin: &AdminBootstrap) -> Result<String, ApiError> {
    let invalid = |field: &str, problem: String| {
        ApiError::Validation(vec![crate::error::FieldError::new(field, problem)])
    };
    let user = NewUser {
        email: Email::parse(&admin.email).map_err(|p| invalid("ADMIN_EMAIL", p))?,
        username: Username::parse(&admin.username).map_err(|p| invalid("ADMIN_USERNAME", p))?,
        full_name: None,
        password: Password::parse(&admin.password).map_err(|p| invalid("ADMIN_PASSWORD", p))?,
    };
    let hash = password::hash(user.password.clone()).await?;
    let created = UserRepo::new(pool).create_admin(&user, &hash).await?;
    Ok(created.username)
}
