//! HTTP handlers under `/api/v1/accounts`: a signed-in user opens, lists, reads and
//! closes their own accounts; administrators reach anyone's. Someone else's account is
//! a 404, as if it did not exist.

use salvo::oapi::ToSchema;
use salvo::oapi::endpoint;
use salvo::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::model::{Account, NewAccount};
use super::repo::{AccountRepo, Closing, Owners};
use super::schema::NewAccountRequest;
use crate::auth::caller::{Caller, require_caller};
use crate::error::{ApiError, FieldError};
use crate::http::json_body::JsonObject;
use crate::http::keyset::Keyset;
use crate::http::path_id::path_id;
use crate::state::AppState;
use crate::users::model::User;

pub fn router() -> Router {
    Router::new()
        .push(Router::with_path("api/v1/currencies").get(list_currencies))
        .push(
            Router::with_path("api/v1/accounts")
                .hoop(require_caller)
                .post(open_account)
                .get(list_accounts)
                .push(
                    Router::with_path("{id}")
                        .get(get_account)
                        .push(Router::with_path("close").post(close_account)),
                ),
        )
}

#[derive(Debug, Serialize, ToSchema)]
struct OfferedCurrency {
    /// ISO 4217 code.
    code: &'static str,
    /// Decimals of the minor unit: amounts are sent in minor units (2: 1050 is 10.50).
    exponent: u8,
}

#[derive(Debug, Serialize, ToSchema)]
#[salvo(schema(example = json!({"currencies": [{"code": "EUR", "exponent": 2}, {"code": "JPY", "exponent": 0}]})))]
struct CurrencyList {
    currencies: Vec<OfferedCurrency>,
}

/// The currencies accounts can be opened in (`CURRENCIES`), with their minor units; open
/// to all, so a sign-up page can show them.
#[endpoint(tags("accounts"), status_codes(200))]
async fn list_currencies(depot: &mut Depot) -> Result<Json<CurrencyList>, ApiError> {
    let state = AppState::from_depot(depot)?;
    Ok(Json(CurrencyList {
        currencies: state
            .currencies
            .all()
            .iter()
            .map(|currency| OfferedCurrency {
                code: currency.code(),
                exponent: currency.exponent(),
            })
            .collect(),
    }))
}

/// The account `id` when `caller` may see it (its owner or an administrator); else 404.
pub async fn visible_account(
    state: &AppState,
    caller: &User,
    id: Uuid,
) -> Result<Account, ApiError> {
    AccountRepo::for_state(state)
        .find(id)
        .await?
        .filter(|account| account.owner_id == caller.id || caller.is_admin)
        .ok_or(ApiError::NotFound("account"))
}

/// Open an account in one of the offered currencies, with a zero balance.
#[endpoint(
    tags("accounts"),
    security(["bearer" = []]),
    request_body = NewAccountRequest,
    responses((status_code = 201, description = "The new account", body = Account)),
    status_codes(201, 400, 401, 413, 415, 422, 503)
)]
async fn open_account(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<Json<Account>, ApiError> {
    let state = AppState::from_depot(depot)?;
    let caller = Caller::from_depot(depot)?;
    let new = NewAccount::parse(
        JsonObject::read_as::<NewAccountRequest>(req).await?,
        &state.currencies,
    )?;
    let account = AccountRepo::for_state(state)
        .create(caller.id, &new)
        .await?;
    tracing::info!(user_id = %caller.id, account_id = %account.id, currency = account.currency, "account opened");
    res.status_code(StatusCode::CREATED);
    Ok(Json(account))
}

#[derive(Debug, Serialize, ToSchema)]
struct AccountPage {
    accounts: Vec<Account>,
    /// Where the next page starts (`after=`); absent after the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// Whose accounts `owner_id` asks for: the caller's own by default; anyone's (a user's id,
/// or `any`) for administrators.
fn owners(raw: Option<&str>, caller: &User) -> Result<Owners, ApiError> {
    let owners = match raw.map(str::trim) {
        None => Owners::One(caller.id),
        Some("any") => Owners::All,
        Some(text) => Owners::One(Uuid::parse_str(text).map_err(|_| {
            ApiError::Validation(vec![FieldError::new(
                "owner_id",
                format!("expected a user id or `any`, got {text:?}"),
            )])
        })?),
    };
    if owners == Owners::One(caller.id) || caller.is_admin {
        Ok(owners)
    } else {
        Err(ApiError::Forbidden(
            "only administrators may list other users' accounts".into(),
        ))
    }
}

/// List accounts, oldest first: the caller's own, or (administrators) a user's or
/// everyone's.
#[endpoint(
    tags("accounts"),
    security(["bearer" = []]),
    parameters(
        ("owner_id" = Option<String>, Query, description = "Administrators: a user's id, or `any` for everyone's (default: the caller's own)"),
        ("currency" = Option<String>, Query, description = "Only accounts in this currency (ISO 4217)"),
        ("after" = Option<String>, Query, description = "The `next` of the page before"),
        ("size" = Option<u32>, Query, description = "Accounts per page, 1 to 100 (default 20)"),
    ),
    status_codes(200, 401, 403, 422, 503)
)]
async fn list_accounts(
    req: &mut Request,
    depot: &mut Depot,
) -> Result<Json<AccountPage>, ApiError> {
    let state = AppState::from_depot(depot)?;
    let caller = Caller::from_depot(depot)?;
    let query = |name: &str| req.queries().get(name).map(String::as_str);
    let page = Keyset::<Uuid>::of_request(req);
    let owners = owners(query("owner_id"), caller);
    let currency = query("currency").map(|code| code.trim().to_ascii_uppercase());
    let (page, owners) = match (page, owners) {
        (Ok(page), Ok(owners)) => (page, owners),
        (Err(ApiError::Validation(mut a)), Err(ApiError::Validation(b))) => {
            a.extend(b);
            return Err(ApiError::Validation(a));
        }
        (Err(err), _) | (_, Err(err)) => return Err(err),
    };
    let mut accounts = AccountRepo::for_state(state)
        .list(owners, currency.as_deref(), &page)
        .await?;
    let next = page.finish(&mut accounts, |a| a.id.to_string());
    Ok(Json(AccountPage { accounts, next }))
}

/// One account with its balance (its owner or an administrator).
#[endpoint(
    tags("accounts"),
    security(["bearer" = []]),
    parameters(("id" = uuid::Uuid, Path, description = "The account's id")),
    status_codes(200, 400, 401, 404, 503)
)]
async fn get_account(req: &mut Request, depot: &mut Depot) -> Result<Json<Account>, ApiError> {
    let id = path_id(req, "account")?;
    let state = AppState::from_depot(depot)?;
    let caller = Caller::from_depot(depot)?;
    Ok(Json(visible_account(state, caller, id).await?))
}

/// Close an account (its owner or an administrator). Only an empty account closes: move
/// its money out first. A closed account takes no more movements; its statement stays.
/// Closing a closed account again answers with it as it is.
#[endpoint(
    tags("accounts"),
    security(["bearer" = []]),
    parameters(("id" = uuid::Uuid, Path, description = "The account's id")),
    status_codes(200, 400, 401, 404, 409, 503)
)]
async fn close_account(req: &mut Request, depot: &mut Depot) -> Result<Json<Account>, ApiError> {
    let id = path_id(req, "account")?;
    let state = AppState::from_depot(depot)?;
    let caller = Caller::from_depot(depot)?;
    visible_account(state, caller, id).await?;
    match AccountRepo::for_state(state).close(id).await? {
        Some(Closing::Closed(account)) => {
            tracing::info!(actor = %caller.id, account_id = %id, "account closed");
            Ok(Json(account))
        }
        Some(Closing::NotEmpty(account)) => Err(ApiError::Refused {
            code: "account_not_empty",
            field: "balance",
            message: format!(
                "the account still holds {} {} (in minor units); withdraw or transfer it first",
                account.balance, account.currency
            ),
        }),
        None => Err(ApiError::NotFound("account")),
    }
}
