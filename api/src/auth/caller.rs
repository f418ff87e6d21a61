//! Who is calling: the user named by a valid bearer token, still present and active, and
//! the token issued under the user's current token version (not before a password
//! change, a deactivation or a sign-out).

use salvo::http::header::AUTHORIZATION;
use salvo::prelude::*;
use uuid::Uuid;

use super::token::Bearer;
use crate::error::ApiError;
use crate::state::AppState;
use crate::users::model::User;
use crate::users::repo::{CallerFacts, UserRepo};

/// The signed-in user, put in the depot by [`require_caller`].
#[derive(Debug, Clone)]
pub struct Caller(pub User);

impl Caller {
    /// The caller of a route behind [`require_caller`].
    pub fn from_depot(depot: &Depot) -> Result<&User, ApiError> {
        depot
            .get_typed::<Self>()
            .map(|caller| &caller.0)
            .map_err(|_| {
                anyhow::anyhow!("a protected route is missing the require_caller hoop").into()
            })
    }
}

/// Middleware on every protected router: answers 401 before the route looks at its path
/// or body, else puts the [`Caller`] in the depot.
#[handler]
pub async fn require_caller(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let outcome = match AppState::from_depot(depot) {
        Ok(state) => authenticate(req, state).await,
        Err(err) => Err(err),
    };
    match outcome {
        Ok(user) => {
            depot.insert_typed(Caller(user));
        }
        Err(err) => {
            err.write(req, depot, res).await;
            ctrl.skip_rest();
        }
    }
}

/// Middleware for a route that loads its caller together with what it reads, in one
/// query (`GET /api/v1/users/{id}`): answers 401 for a missing, malformed, forged or
/// expired token before the route looks at its path, else puts the [`Bearer`] in the
/// depot. The route must then check the caller with [`check_caller`].
#[handler]
pub async fn require_bearer(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let outcome = match AppState::from_depot(depot) {
        Ok(state) => bearer(req, state),
        Err(err) => Err(err),
    };
    match outcome {
        Ok(bearer) => {
            depot.insert_typed(bearer);
        }
        Err(err) => {
            err.write(req, depot, res).await;
            ctrl.skip_rest();
        }
    }
}

/// The [`Bearer`] put in the depot by [`require_bearer`].
pub fn bearer_from_depot(depot: &Depot) -> Result<Bearer, ApiError> {
    depot
        .get_typed::<Bearer>()
        .copied()
        .map_err(|_| anyhow::anyhow!("a route is missing the require_bearer hoop").into())
}

/// The token of a request, checked for signature, audience and expiry (no database).
fn bearer(req: &Request, state: &AppState) -> Result<Bearer, ApiError> {
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
    state.tokens.verify(token.trim()).ok_or_else(|| {
        ApiError::Unauthorized("the access token is invalid or expired; sign in again".into())
    })
}

/// The signed-in user of a request; 401 when there is none.
async fn authenticate(req: &Request, state: &AppState) -> Result<User, ApiError> {
    let bearer = bearer(req, state)?;
    let found = UserRepo::for_state(state).find_caller(bearer.user).await?;
    let (_, user) = check_caller(found, &bearer)?;
    Ok(user)
}

/// What was read with the token's user, unless that user was not found, is inactive, or
/// the token was issued under an older token version (before a password change, a
/// deactivation or a sign-out): then 401.
pub fn check_caller<T>(
    found: Option<(CallerFacts, T)>,
    bearer: &Bearer,
) -> Result<(CallerFacts, T), ApiError> {
    match found {
        Some((facts, read)) if facts.is_active && facts.token_version == bearer.version => {
            Ok((facts, read))
        }
        Some((facts, _)) if facts.is_active => Err(ApiError::Unauthorized(
            "the access token was revoked (password changed or signed out); sign in again".into(),
        )),
        _ => Err(ApiError::Unauthorized(
            "the access token's user no longer exists or is inactive".into(),
        )),
    }
}

/// 403 unless the caller (`caller_id`, an administrator or not) is `target` or an
/// administrator.
pub fn require_self_or_admin(
    caller_id: Uuid,
    is_admin: bool,
    target: Uuid,
) -> Result<(), ApiError> {
    if caller_id == target || is_admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only administrators may read or change other users".into(),
        ))
    }
}

/// 403 unless the caller is an administrator.
pub fn require_admin(is_admin: bool) -> Result<(), ApiError> {
    if is_admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only administrators may list users".into(),
        ))
    }
}
