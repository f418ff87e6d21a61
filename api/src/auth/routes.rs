//! `POST /api/v1/auth/login`: username or email and password for an access token.

use std::time::Instant;

use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::Serialize;

use super::token::now_seconds;
use crate::error::ApiError;
use crate::http::client_address::{ClientAddress, client_address};
use crate::http::json_body::{Field, JsonObject, string};
use crate::state::AppState;
use crate::users::repo::UserRepo;

pub fn router() -> Router {
    Router::with_path("api/v1/auth/login").post(login)
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

/// Sign in with a username or email and a password, for a short-lived access token.
#[endpoint(
    tags("auth"),
    request_body = crate::users::schema::LoginRequest,
    status_codes(200, 401, 413, 415, 422, 429, 503)
)]
async fn login(req: &mut Request, depot: &mut Depot) -> Result<Json<TokenResponse>, ApiError> {
    let mut body = JsonObject::read(req, &["username", "email", "password"]).await?;
    let username = body.optional("username", string(|s| Ok(s.trim().to_owned())));
    let email = body.optional("email", string(|s| Ok(s.trim().to_owned())));
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
    let keys = throttle_keys(&identifier, req, &state.trusted_proxies);
    if let Err(wait) = state.login_throttle.check(&keys, Instant::now()) {
        return Err(ApiError::TooManyRequests {
            retry_after: wait.as_secs().max(1),
        });
    }
    let found = UserRepo::for_state(state)
        .find_for_login(&identifier)
        .await?;
    // Verify against the real hash, or a dummy one when there is no such user: the time
    // taken does not tell whether the account exists.
    let stored = match &found {
        Some((_, hash)) => hash.clone(),
        None => state.dummy_hash().await?.to_owned(),
    };
    let matches = state.passwords.verify(secret, stored).await?;
    match found {
        Some((user, _)) if matches && user.is_active => {
            state.login_throttle.clear(&keys[0]);
            let access_token = state.tokens.issue(user.id, now_seconds())?;
            tracing::info!(user_id = %user.id, "signed in");
            Ok(Json(TokenResponse {
                access_token,
                token_type: "Bearer",
                expires_in: state.tokens.ttl_seconds(),
            }))
        }
        _ => {
            state.login_throttle.record_failure(&keys, Instant::now());
            Err(invalid_credentials())
        }
    }
}

/// Failures count against the account (any case) and, when it is known, the client
/// address (see `http::client_address`). The account key comes first.
fn throttle_keys(identifier: &str, req: &Request, trusted: &[ipnet::IpNet]) -> Vec<String> {
    let header = |name: &str| {
        let values: Vec<&str> = req
            .headers()
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    let peer = match (req.remote_addr().as_ipv4(), req.remote_addr().as_ipv6()) {
        (Some(v4), _) => Some(std::net::IpAddr::V4(*v4.ip())),
        (None, Some(v6)) => Some(std::net::IpAddr::V6(*v6.ip())),
        _ => None,
    };
    let address = peer.map_or(ClientAddress::Unknown, |peer| {
        client_address(
            peer,
            header("x-forwarded-for").as_deref(),
            header("x-real-ip").as_deref(),
            trusted,
        )
    });
    let mut keys = vec![format!("account:{}", identifier.to_lowercase())];
    keys.extend(address.key().map(|key| format!("address:{key}")));
    keys
}
