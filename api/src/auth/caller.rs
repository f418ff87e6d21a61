//! Who is calling: the user named by a valid bearer token, still present and active, and
//! the token issued under the user's current token version (not before a password
//! change, a deactivation or a sign-out).

use salvo::http::header::AUTHORIZATION;
use salvo::prelude::*;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;
use crate::users::model::User;
use crate::users::repo::UserRepo;

/// The signed-in user of a request; 401 when there is none.
pub async fn authenticate(req: &Request, state: &AppState) -> Result<User, ApiError> {
    let header = req.header::<String>(AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("sign in first: send Authorization: Bearer <access token>".into())
    })?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "the Authorization header must be `Bearer <access token>`".into(),
            )
        })?;
    let bearer = state.tokens.verify(token.trim()).ok_or_else(|| {
        ApiError::Unauthorized("the access token is invalid or expired; sign in again".into())
    })?;
    match UserRepo::for_state(state).find_caller(bearer.user).await? {
        Some((user, version)) if user.is_active && version == bearer.version => Ok(user),
        Some((user, _)) if user.is_active => Err(ApiError::Unauthorized(
            "the access token was revoked (password changed or signed out); sign in again".into(),
        )),
        _ => Err(ApiError::Unauthorized(
            "the access token's user no longer exists or is inactive".into(),
        )),
    }
}

/// 403 unless `caller` is `target` or an administrator.
pub fn require_self_or_admin(caller: &User, target: Uuid) -> Result<(), ApiError> {
    if caller.id == target || caller.is_admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only administrators may read or change other users".into(),
        ))
    }
}

/// 403 unless `caller` is an administrator.
pub fn require_admin(caller: &User) -> Result<(), ApiError> {
    if caller.is_admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only administrators may list users".into(),
        ))
    }
}
