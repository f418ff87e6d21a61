//! Who is calling: the user named by a valid bearer token, still present and active.

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
    let user_id = state.tokens.verify(token.trim()).ok_or_else(|| {
        ApiError::Unauthorized("the access token is invalid or expired; sign in again".into())
    })?;
    match UserRepo::for_state(state).find(user_id).await? {
        Some(user) if user.is_active => Ok(user),
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
            "only administrators may change other users".into(),
        ))
    }
}
