//! The first administrator: created at start when `ADMIN_PASSWORD` is set and no admin
//! exists, or on demand with `api create-admin`.

use sqlx::PgPool;

use crate::config::AdminBootstrap;
use crate::users::model::{Email, NewUser, Password, Username};
use crate::users::password;
use crate::users::repo::{RepoError, UserRepo};

/// Why an administrator could not be made, in the words of the settings.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{setting}: {problem}")]
    Invalid {
        setting: &'static str,
        problem: String,
    },
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Hashing(#[from] anyhow::Error),
}

impl AdminError {
    /// The database is not there or not migrated yet: the bootstrap waits and retries.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Repo(err) if err.is_unavailable())
    }
}

/// What [`ensure_admin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminOutcome {
    Created(String),
    AlreadyThere,
}

/// Creates the bootstrap admin unless an administrator exists already.
pub async fn ensure_admin(
    pool: &PgPool,
    admin: &AdminBootstrap,
) -> Result<AdminOutcome, AdminError> {
    let repo = UserRepo::new(pool);
    if repo.any_admin().await? {
        return Ok(AdminOutcome::AlreadyThere);
    }
    create_admin(pool, admin).await.map(AdminOutcome::Created)
}

/// Creates an administrator from the settings; a taken username or email is a conflict.
pub async fn create_admin(pool: &PgPool, admin: &AdminBootstrap) -> Result<String, AdminError> {
    let invalid = |setting: &'static str, problem: String| AdminError::Invalid { setting, problem };
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
