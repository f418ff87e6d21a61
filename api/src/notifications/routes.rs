//! HTTP handlers under `/api/v1/notifications`: the signed-in user's own, only.

use salvo::oapi::ToSchema;
use salvo::oapi::endpoint;
use salvo::prelude::*;
use serde::Serialize;

use super::model::Notification;
use super::repo;
use crate::auth::caller::{Caller, require_caller};
use crate::db::Connections;
use crate::error::ApiError;
use crate::http::keyset::Keyset;
use crate::http::path_id::path_number;
use crate::state::AppState;

pub fn router() -> Router {
    Router::with_path("api/v1/notifications")
        .hoop(require_caller)
        .get(list_notifications)
        .push(Router::with_path("read").post(read_all))
        .push(Router::with_path("{id}/read").post(read_one))
}

#[derive(Debug, Serialize, ToSchema)]
struct NotificationPage {
    notifications: Vec<Notification>,
    /// The caller's unread notifications, on every page.
    unread: i64,
    /// Where the next page starts (`after=`); absent after the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// The caller's notifications, newest first, with the unread count. They arrive a moment
/// after the movement (through the worker and RabbitMQ): poll this to see them.
#[endpoint(
    tags("notifications"),
    security(["bearer" = []]),
    parameters(
        ("after" = Option<String>, Query, description = "The `next` of the page before"),
        ("size" = Option<u32>, Query, description = "Notifications per page, 1 to 100 (default 20)"),
    ),
    status_codes(200, 401, 422, 503)
)]
async fn list_notifications(
    req: &mut Request,
    depot: &mut Depot,
) -> Result<Json<NotificationPage>, ApiError> {
    let state = AppState::from_depot(depot)?;
    let caller = Caller::from_depot(depot)?;
    let page = Keyset::<i64>::of_request(req)?;
    let (mut notifications, unread) =
        repo::list(Connections::of_state(state), caller.id, &page).await?;
    let next = page.finish(&mut notifications, |n| n.id.to_string());
    Ok(Json(NotificationPage {
        notifications,
        unread,
        next,
    }))
}

/// Mark one of the caller's notifications read.
#[endpoint(
    tags("notifications"),
    security(["bearer" = []]),
    parameters(("id" = i64, Path, description = "The notification's id")),
    status_codes(200, 400, 401, 404, 503)
)]
async fn read_one(req: &mut Request, depot: &mut Depot) -> Result<Json<Notification>, ApiError> {
    let id = path_number(req, "notification")?;
    let state = AppState::from_depot(depot)?;
    let caller = Caller::from_depot(depot)?;
    repo::mark_read(Connections::of_state(state), caller.id, id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("notification"))
}

#[derive(Debug, Serialize, ToSchema)]
struct Marked {
    /// How many were unread before.
    marked: u64,
}

/// Mark all of the caller's notifications read.
#[endpoint(
    tags("notifications"),
    security(["bearer" = []]),
    status_codes(200, 401, 503)
)]
async fn read_all(depot: &mut Depot) -> Result<Json<Marked>, ApiError> {
    let state = AppState::from_depot(depot)?;
    let caller = Caller::from_depot(depot)?;
    let marked = repo::mark_all_read(Connections::of_state(state), caller.id).await?;
    Ok(Json(Marked { marked }))
}
