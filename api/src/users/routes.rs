//! HTTP handlers under `/api/v1/users`: parse input into domain types, call the
//! repository, answer with a typed result or a typed error.

use salvo::oapi::ToSchema;
use salvo::oapi::endpoint;
use salvo::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::model::{NewUser, PasswordChange, User, UserChanges};
use super::pagination::Pagination;
use super::repo::UserRepo;
use super::schema::{
    NewUserRequest, PasswordChangeRequest, ProfileRequest, UserPatchRequest, UserReplaceRequest,
};
use crate::auth::caller::{
    Caller, bearer_from_depot, check_caller, require_admin, require_bearer, require_caller,
    require_self_or_admin,
};
use crate::error::{ApiError, FieldError};
use crate::http::client_address;
use crate::http::json_body::JsonObject;
use crate::state::AppState;

/// Sign-up is open (limited per client address); a user reads and changes itself;
/// listing users, or reading or changing another user, needs an administrator.
/// Every route but sign-up sits behind [`require_caller`] or, for the two reads,
/// [`require_bearer`], so an anonymous request gets 401 before anything reads its path or
/// body.
pub fn router() -> Router {
    Router::with_path("api/v1/users")
        .push(Router::new().post(create_user))
        .push(
            Router::new()
                .hoop(require_caller)
                .push(
                    Router::with_path("me")
                        .get(get_me)
                        .patch(patch_me)
                        .push(Router::with_path("password").post(change_password)),
                )
                .push(
                    Router::with_path("{id}")
                        .patch(patch_user)
                        .put(put_user)
                        .delete(delete_user),
                ),
        )
        // The reads check their caller in the query that loads what they read (one round
        // trip each); last, so `me` and the routes above match first.
        .push(
            Router::new()
                .hoop(require_bearer)
                .get(list_users)
                .push(Router::with_path("{id}").get(get_user)),
        )
}

/// Sign up (open to all; `SIGN_UPS_PER_ADDRESS_PER_HOUR` per client address).
#[endpoint(
    tags("users"),
    request_body = NewUserRequest,
    responses((status_code = 201, description = "The new user", body = User)),
    status_codes(201, 400, 409, 413, 415, 422, 429, 503)
)]
async fn create_user(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<Json<User>, ApiError> {
    let new_user = NewUser::parse(JsonObject::read_as::<NewUserRequest>(req).await?)?;
    let state = AppState::from_depot(depot)?;
    let address = client_address::of_request(req, &state.trusted_proxies);
    state
        .limiter
        .attempt(&state.limit_rules.sign_up(address))
        .await?;
    let hash = state.passwords.hash(new_user.password.clone()).await?;
    let user = UserRepo::for_state(state).create(&new_user, &hash).await?;
    tracing::info!(user_id = %user.id, "user created");
    res.status_code(StatusCode::CREATED);
    Ok(Json(user))
}

#[derive(Debug, Serialize, ToSchema)]
struct UserPage {
    users: Vec<User>,
    total: i64,
    page: u32,
    size: u32,
    /// Where the next page starts (`after=`); absent after the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// List users, newest first (administrators only). The caller is checked in the query
/// that reads the page, so a revoked token with a malformed query gets the 422.
#[endpoint(
    tags("users"),
    security(["bearer" = []]),
    parameters(
        ("page" = Option<u32>, Query, description = "Page number, from 1 (default 1); page numbers reach the first 10,000 users"),
        ("size" = Option<u32>, Query, description = "Users per page, 1 to 100 (default 10)"),
        ("after" = Option<String>, Query, description = "Instead of page: the `next` of the page before, to continue at any depth"),
    ),
    status_codes(200, 401, 403, 422, 503)
)]
async fn list_users(req: &mut Request, depot: &mut Depot) -> Result<Json<UserPage>, ApiError> {
    let state = AppState::from_depot(depot)?;
    let bearer = bearer_from_depot(depot)?;
    let query = |name: &str| req.queries().get(name).map(String::as_str);
    let pagination = Pagination::parse(query("page"), query("size"), query("after"))?;
    let found = UserRepo::for_state(state)
        .list_as(bearer.user, &pagination)
        .await?;
    let (caller, listed) = check_caller(found, &bearer)?;
    require_admin(caller.is_admin)?;
    let next = pagination.next(
        listed.more,
        listed.users.last().map(|u| (u.created_at, u.id)),
    );
    Ok(Json(UserPage {
        users: listed.users,
        total: listed.total,
        page: pagination.page(),
        size: pagination.size,
        next,
    }))
}

/// The `{id}` path segment as a user id (400 otherwise).
fn user_id(req: &Request) -> Result<Uuid, ApiError> {
    crate::http::path_id::path_id(req, "user")
}

/// One user (the user itself or an administrator). The caller is checked in the same
/// query that reads the user, so a revoked token with a malformed id gets the 400.
#[endpoint(tags("users"), security(["bearer" = []]), parameters(("id" = uuid::Uuid, Path, description = "The user's id")), status_codes(200, 400, 401, 403, 404, 503))]
async fn get_user(req: &mut Request, depot: &mut Depot) -> Result<Json<User>, ApiError> {
    let id = user_id(req)?;
    let state = AppState::from_depot(depot)?;
    let bearer = bearer_from_depot(depot)?;
    let found = UserRepo::for_state(state).find_as(bearer.user, id).await?;
    let (caller, user) = check_caller(found, &bearer)?;
    require_self_or_admin(bearer.user, caller.is_admin, id)?;
    user.map(Json).ok_or(ApiError::NotFound("user"))
}

/// `Body` documents the request body (and so names its fields); `parse` reads it.
async fn update<Body: salvo::oapi::ToSchema + 'static>(
    req: &mut Request,
    depot: &Depot,
    parse: fn(JsonObject) -> Result<UserChanges, ApiError>,
) -> Result<Json<User>, ApiError> {
    let id = user_id(req)?;
    let state = AppState::from_depot(depot)?;
    let caller = Caller::from_depot(depot)?;
    require_self_or_admin(caller.id, caller.is_admin, id)?;
    let changes = parse(JsonObject::read_as::<Body>(req).await?)?;
    let user = UserRepo::for_state(state).update(id, &changes).await?;
    if user.is_some() {
        // The audit trail: who changed whom, and whether it ended the user's sessions.
        tracing::info!(actor = %caller.id, user_id = %id, is_active = ?changes.is_active, "user changed");
    }
    user.map(Json).ok_or(ApiError::NotFound("user"))
}

/// Change a user's name or activity (the user or an administrator).
#[endpoint(
    tags("users"),
    security(["bearer" = []]),
    parameters(("id" = uuid::Uuid, Path, description = "The user's id")),
    request_body = UserPatchRequest,
    status_codes(200, 400, 401, 403, 404, 413, 415, 422, 503)
)]
async fn patch_user(req: &mut Request, depot: &mut Depot) -> Result<Json<User>, ApiError> {
    update::<UserPatchRequest>(req, depot, UserChanges::parse_patch).await
}

/// Replace a user's changeable fields (the user or an administrator).
#[endpoint(
    tags("users"),
    security(["bearer" = []]),
    parameters(("id" = uuid::Uuid, Path, description = "The user's id")),
    request_body = UserReplaceRequest,
    status_codes(200, 400, 401, 403, 404, 413, 415, 422, 503)
)]
async fn put_user(req: &mut Request, depot: &mut Depot) -> Result<Json<User>, ApiError> {
    update::<UserReplaceRequest>(req, depot, UserChanges::parse_put).await
}

/// Delete a user (the user or an administrator).
#[endpoint(
    tags("users"),
    security(["bearer" = []]),
    parameters(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses((status_code = 204, description = "Deleted")),
    status_codes(204, 400, 401, 403, 404, 503)
)]
async fn delete_user(req: &mut Request, depot: &mut Depot) -> Result<StatusCode, ApiError> {
    let id = user_id(req)?;
    let state = AppState::from_depot(depot)?;
    let caller = Caller::from_depot(depot)?;
    require_self_or_admin(caller.id, caller.is_admin, id)?;
    if UserRepo::for_state(state).delete(id).await? {
        tracing::info!(actor = %caller.id, user_id = %id, "user deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("user"))
    }
}

/// The signed-in user.
#[endpoint(tags("users"), security(["bearer" = []]), status_codes(200, 401, 503))]
async fn get_me(depot: &mut Depot) -> Result<Json<User>, ApiError> {
    Ok(Json(Caller::from_depot(depot)?.clone()))
}

/// Change one's own name.
#[endpoint(
    tags("users"),
    security(["bearer" = []]),
    request_body = ProfileRequest,
    status_codes(200, 400, 401, 413, 415, 422, 503)
)]
async fn patch_me(req: &mut Request, depot: &mut Depot) -> Result<Json<User>, ApiError> {
    let state = AppState::from_depot(depot)?;
    let caller = Caller::from_depot(depot)?;
    let changes = UserChanges::parse_profile(JsonObject::read_as::<ProfileRequest>(req).await?)?;
    let user = UserRepo::for_state(state)
        .update(caller.id, &changes)
        .await?;
    user.map(Json).ok_or(ApiError::NotFound("user"))
}

/// Change one's own password. Every access token issued before, this one included,
/// stops working: sign in again with the new password. Attempts are limited like
/// sign-ins (`LOGIN_ATTEMPTS_PER_MINUTE`), counted before the current password is checked.
#[endpoint(
    tags("users"),
    security(["bearer" = []]),
    request_body = PasswordChangeRequest,
    responses((status_code = 204, description = "Changed")),
    status_codes(204, 400, 401, 413, 415, 422, 429, 503)
)]
async fn change_password(req: &mut Request, depot: &mut Depot) -> Result<StatusCode, ApiError> {
    let state = AppState::from_depot(depot)?;
    let caller = Caller::from_depot(depot)?;
    let change = PasswordChange::parse(JsonObject::read_as::<PasswordChangeRequest>(req).await?)?;
    state
        .limiter
        .attempt(&state.limit_rules.password_change(caller.id))
        .await?;
    let repo = UserRepo::for_state(state);
    let stored = repo
        .password_hash(caller.id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    if !state.passwords.verify(change.old_password, stored).await? {
        return Err(ApiError::Validation(vec![FieldError::new(
            "old_password",
            "is not the current password",
        )]));
    }
    let hash = state.passwords.hash(change.new_password).await?;
    repo.set_password_hash(caller.id, &hash).await?;
    tracing::info!(user_id = %caller.id, "password changed; earlier tokens revoked");
    Ok(StatusCode::NO_CONTENT)
}
