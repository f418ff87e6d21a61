//! HTTP handlers that move money (`POST /api/v1/accounts/{id}/deposits`,
//! `/withdrawals`, `POST /api/v1/transfers`, each with an `Idempotency-Key`) and read an
//! account's statement (`GET /api/v1/accounts/{id}/entries`).

use salvo::http::HeaderValue;
use salvo::oapi::ToSchema;
use salvo::oapi::endpoint;
use salvo::prelude::*;
use serde::Serialize;

use super::idempotency::{Answer, IdempotencyKey, REPLAYED_HEADER};
use super::ledger;
use super::model::{Entry, Movement, MovementKind, MovementRequest};
use super::schema::{AccountMovementRequest, TransferRequest};
use crate::accounts::routes::visible_account;
use crate::auth::caller::{Caller, require_caller};
use crate::error::ApiError;
use crate::http::json_body::JsonObject;
use crate::http::keyset::Keyset;
use crate::http::path_id::path_id;
use crate::state::AppState;

pub fn router() -> Router {
    Router::new()
        .hoop(require_caller)
        .push(Router::with_path("api/v1/transfers").post(transfer))
        .push(
            Router::with_path("api/v1/accounts/{id}")
                .push(Router::with_path("deposits").post(deposit))
                .push(Router::with_path("withdrawals").post(withdraw))
                .push(Router::with_path("entries").get(statement)),
        )
}

/// Makes the movement (or answers again for a retried key): 201 with the movement, or
/// the refusal, as the first request with the key was answered.
async fn move_money(
    req: &Request,
    depot: &Depot,
    res: &mut Response,
    request: MovementRequest,
    key: IdempotencyKey,
) -> Result<Json<Movement>, ApiError> {
    let state = AppState::from_depot(depot)?;
    let caller = Caller::from_depot(depot)?;
    let outcome = ledger::execute(state, caller, &request, &key).await?;
    if outcome.replayed {
        res.headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
        tracing::info!(user_id = %caller.id, key = key.as_str(), request_path = req.uri().path(), "idempotent answer given again");
    }
    match outcome.answer {
        Answer::Moved(movement) => {
            res.status_code(StatusCode::CREATED);
            Ok(Json(movement))
        }
        Answer::Refused(refusal) => Err(refusal.into()),
    }
}

/// The key first (a request without one is refused before its body is read), then the
/// body of the account's deposit or withdrawal.
async fn on_account(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    kind: MovementKind,
) -> Result<Json<Movement>, ApiError> {
    let account = path_id(req, "account")?;
    let key = IdempotencyKey::of_request(req)?;
    let body = JsonObject::read_as::<AccountMovementRequest>(req).await?;
    let request = MovementRequest::parse_on_account(kind, account, body)?;
    move_money(req, depot, res, request, key).await
}

/// Deposit money from outside the bank into an account (its owner or an administrator).
/// Send a fresh `Idempotency-Key` per deposit: a retry with the same key and body
/// answers as the first did and moves nothing again.
#[endpoint(
    tags("movements"),
    security(["bearer" = []]),
    parameters(
        ("id" = uuid::Uuid, Path, description = "The account's id"),
        ("Idempotency-Key" = String, Header, description = "A fresh key (such as a UUID) per movement; reused only to retry it. Kept for IDEMPOTENCY_KEY_TTL (24 h by default)"),
    ),
    request_body = AccountMovementRequest,
    responses((status_code = 201, description = "The deposit (Idempotent-Replayed: true when answered again)", body = Movement)),
    status_codes(201, 400, 401, 404, 409, 413, 415, 422, 503)
)]
async fn deposit(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<Json<Movement>, ApiError> {
    on_account(req, depot, res, MovementKind::Deposit).await
}

/// Withdraw money from an account to outside the bank (its owner or an administrator);
/// never below a zero balance (409 `insufficient_funds`).
#[endpoint(
    tags("movements"),
    security(["bearer" = []]),
    parameters(
        ("id" = uuid::Uuid, Path, description = "The account's id"),
        ("Idempotency-Key" = String, Header, description = "A fresh key (such as a UUID) per movement; reused only to retry it"),
    ),
    request_body = AccountMovementRequest,
    responses((status_code = 201, description = "The withdrawal", body = Movement)),
    status_codes(201, 400, 401, 404, 409, 413, 415, 422, 503)
)]
async fn withdraw(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<Json<Movement>, ApiError> {
    on_account(req, depot, res, MovementKind::Withdrawal).await
}

/// Transfer money from one of the caller's accounts to any open account of the same
/// currency. Both balances change in one transaction, never below zero on the source.
#[endpoint(
    tags("movements"),
    security(["bearer" = []]),
    parameters(
        ("Idempotency-Key" = String, Header, description = "A fresh key (such as a UUID) per movement; reused only to retry it"),
    ),
    request_body = TransferRequest,
    responses((status_code = 201, description = "The transfer; `balance_after` is the source account's", body = Movement)),
    status_codes(201, 400, 401, 404, 409, 413, 415, 422, 503)
)]
async fn transfer(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<Json<Movement>, ApiError> {
    let key = IdempotencyKey::of_request(req)?;
    let request =
        MovementRequest::parse_transfer(JsonObject::read_as::<TransferRequest>(req).await?)?;
    move_money(req, depot, res, request, key).await
}

#[derive(Debug, Serialize, ToSchema)]
struct EntryPage {
    entries: Vec<Entry>,
    /// Where the next page starts (`after=`); absent after the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// An account's statement, newest entry first (its owner or an administrator).
#[endpoint(
    tags("movements"),
    security(["bearer" = []]),
    parameters(
        ("id" = uuid::Uuid, Path, description = "The account's id"),
        ("after" = Option<String>, Query, description = "The `next` of the page before"),
        ("size" = Option<u32>, Query, description = "Entries per page, 1 to 100 (default 20)"),
    ),
    status_codes(200, 400, 401, 404, 422, 503)
)]
async fn statement(req: &mut Request, depot: &mut Depot) -> Result<Json<EntryPage>, ApiError> {
    let id = path_id(req, "account")?;
    let state = AppState::from_depot(depot)?;
    let caller = Caller::from_depot(depot)?;
    let page = Keyset::<i64>::of_request(req)?;
    visible_account(state, caller, id).await?;
    let mut entries =
        super::statement::entries(crate::db::Connections::of_state(state), id, &page).await?;
    let next = page.finish(&mut entries, |e| e.id.to_string());
    Ok(Json(EntryPage { entries, next }))
}
