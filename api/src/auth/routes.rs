//! `POST /api/v1/auth/login`: username or email and password for an access token;
//! `POST /api/v1/auth/logout`: end every token of the caller.

use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::Serialize;

use super::token::{Bearer, now_seconds};
use crate::error::ApiError;
use crate::http::client_address;
use crate::http::json_body::{Field, JsonObject, string};
use crate::limits::rules::Account;
use crate::state::AppState;
use crate::users::repo::UserRepo;
use crate::users::schema::LoginRequest;

pub fn router() -> Router {
    Router::with_path("api/v1/auth")
        .push(Router::with_path("login").post(login))
        .push(
            Router::with_path("logout")
                .hoop(super::caller::require_caller)
                .post(logout),
        )
}

#[derive(Debug, Serialize, ToSchema)]
#[salvo(schema(example = json!({"access_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9...", "token_type": "Bearer", "expires_in": 900})))]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
}

/// The same answer for every way a sign-in can fail, so it reveals nothing.
fn invalid_credentials() -> ApiError {
    ApiError::Unauthorized("invalid username, email or password".into())
}

/// The longest username or email there is (an email's limit); longer is no account.
const MAX_IDENTIFIER: usize = 254;

/// Sign in with a username or email and a password, for a short-lived access token.
///
/// Every attempt counts against the limits before the password is checked (see
/// `crate::limits::rules`), so concurrent guesses cannot slip under them.
#[endpoint(
    tags("auth"),
    request_body = LoginRequest,
    status_codes(200, 400, 401, 413, 415, 422, 429, 503)
)]
async fn login(req: &mut Request, depot: &mut Depot) -> Result<Json<TokenResponse>, ApiError> {
    let mut body = JsonObject::read_as::<LoginRequest>(req).await?;
    // In NFC, as emails are stored (usernames are ASCII).
    let identifier = |s: &str| {
        use unicode_normalization::UnicodeNormalization;
        let s: String = s.trim().nfc().collect();
        if s.chars().count() > MAX_IDENTIFIER {
            Err(format!("must be at most {MAX_IDENTIFIER} characters"))
        } else {
            Ok(s)
        }
    };
    let username = body.optional("username", string(identifier));
    let email = body.optional("email", string(identifier));
    let secret = body.required("password", string(|s| Ok(s.to_owned())));
    let identifier = match (username, email) {
        (Field::Value(name), Field::Absent | Field::Null)
        | (Field::Absent | Field::Null, Field::Value(name)) => Some(name),
        (Field::Invalid, _) | (_, Field::Invalid) => None,
        _ => {
            body.reject("username", "give exactly one of username or email");
            None
        }
    };
    body.finish()?;
    let (Some(identifier), Some(secret)) = (identifier, secret) else {
        return Err(invalid_credentials());
    };

    let state = AppState::from_depot(depot)?;
    let repo = UserRepo::for_state(state);
    let found = repo.find_for_login(&identifier).await?;
    let account = match &found {
        Some(row) => Account::Known(row.user.id),
        None => Account::unknown(&repo.fold(&identifier).await?),
    };
    let address = client_address::of_request(req, &state.trusted_proxies);
    let limits = state.limit_rules.sign_in(&account, address);
    if let Err(refused) = state.limiter.attempt(&limits.counters).await {
        tracing::warn!(rule = refused.rule, account = ?found.as_ref().map(|row| row.user.id), "sign-in refused: over the attempt limit");
        return Err(refused.into());
    }
    // Verify against the real hash, or a dummy one when there is no such user: the time
    // taken does not tell whether the account exists.
    let stored = match &found {
        Some(row) => row.password_hash.clone(),
        None => state.dummy_hash().await?.to_owned(),
    };
    let matches = state.passwords.verify(secret, stored).await?;
    match found {
        Some(row) if matches && row.user.is_active => {
            if let Some(counter) = &limits.forgiven_on_success {
                state.limiter.forgive(counter).await;
            }
            let bearer = Bearer {
                user: row.user.id,
                version: row.token_version,
            };
            let access_token = state.tokens.issue(bearer, now_seconds())?;
            tracing::info!(user_id = %row.user.id, "signed in");
            Ok(Json(TokenResponse {
                access_token,
                token_type: "Bearer",
                expires_in: state.tokens.ttl_seconds(),
            }))
        }
        found => {
            tracing::info!(user_id = ?found.map(|row| row.user.id), "sign-in failed");
            Err(invalid_credentials())
        }
    }
}

/// Sign out everywhere: every access token of the caller issued so far stops working.
#[endpoint(
    tags("auth"),
    security(["bearer" = []]),
    responses((status_code = 204, description = "Signed out")),
    status_codes(204, 401, 503)
)]
async fn logout(depot: &mut Depot) -> Result<StatusCode, ApiError> {
    let state = AppState::from_depot(depot)?;
    let caller = super::caller::Caller::from_depot(depot)?;
    UserRepo::for_state(state).revoke_tokens(caller.id).await?;
    tracing::info!(user_id = %caller.id, "signed out everywhere");
    Ok(StatusCode::NO_CONTENT)
}
