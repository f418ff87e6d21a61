//! The one error type handlers return, and the one JSON shape every error response has:
//!
//! ```json
//! {"error": {"code": "validation_failed", "message": "...", "fields": [{"field": "email", "message": "..."}], "request_id": "..."}}
//! ```
//!
//! The HTTP status of each error is decided here and nowhere else.

use salvo::http::StatusCode;
use salvo::prelude::*;
use serde::Serialize;

use crate::http::request_id::RequestId;

/// One invalid input field (body or query parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, salvo::oapi::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Well-formed input that breaks the rules; lists every bad field.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// No credentials, or ones that do not check out.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials without the right to do this.
    #[error("{0}")]
    Forbidden(String),
    /// Over an attempt limit (see `crate::limits`): `what` says which.
    #[error("{what}; retry in {retry_after} s")]
    TooManyRequests {
        what: &'static str,
        retry_after: u64,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    /// What the rules refuse in the current state (too little money, a closed account):
    /// `code` says which, `field` which input it concerns.
    #[error("{message}")]
    Refused {
        code: &'static str,
        field: &'static str,
        message: String,
    },
    /// An `Idempotency-Key` that already stands for a different request.
    #[error("{0}")]
    KeyReused(String),
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    /// Too much password work at once; the client retries after `retry_after` seconds.
    #[error("the service is busy checking passwords; retry in {retry_after} s")]
    Busy { retry_after: u64 },
    /// Our fault: logged in full, reported to the client without details.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::limits::Refused> for ApiError {
    fn from(refused: crate::limits::Refused) -> Self {
        Self::TooManyRequests {
            what: refused.message,
            retry_after: refused.retry_after.as_secs_f64().ceil() as u64,
        }
    }
}

/// A database error that is nobody's bug but a state to wait out or an operator's fix:
/// its code and message, or `None` for any other error.
pub fn unavailable(err: &sqlx::Error) -> Option<(&'static str, &'static str)> {
    match err {
        // The pool could not hand out a connection in time: the database is down or
        // saturated. Clients may retry; it is not a bug.
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => Some((
            "database_unavailable",
            "the database is not reachable right now; retry shortly",
        )),
        // undefined_table: the schema was never migrated. An operator's fix, not a bug.
        sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => Some((
            "schema_not_migrated",
            "the database schema is missing; run `api migrate`",
        )),
        _ => None,
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        match unavailable(&err) {
            Some((code, message)) => Self::Unavailable {
                code,
                message: message.into(),
            },
            None => Self::Internal(anyhow::Error::new(err).context("database query failed")),
        }
    }
}

impl From<crate::users::repo::RepoError> for ApiError {
    fn from(err: crate::users::repo::RepoError) -> Self {
        match err {
            crate::users::repo::RepoError::Conflict { field, message } => {
                Self::Conflict { field, message }
            }
            crate::users::repo::RepoError::Database(err) => err.into(),
        }
    }
}

impl ApiError {
    /// The names of the invalid fields, for tests; panics on any other error.
    #[cfg(test)]
    pub fn invalid_fields(&self) -> Vec<&str> {
        match self {
            Self::Validation(fields) => fields.iter().map(|f| f.field.as_str()).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } | Self::Refused { .. } => StatusCode::CONFLICT,
            Self::KeyReused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable { .. } | Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation_failed",
            Self::BadRequest { code, .. }
            | Self::Unavailable { code, .. }
            | Self::Refused { code, .. } => code,
            Self::KeyReused(_) => "idempotency_key_reused",
            Self::NotFound(_) => "not_found",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Busy { .. } => "busy",
            Self::Conflict { .. } => "conflict",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::Internal(_) => "internal_error",
        }
    }

    fn body(&self) -> ErrorBody {
        let (message, fields) = match self {
            Self::Validation(fields) => (
                format!(
                    "{} invalid field{}; see fields",
                    fields.len(),
                    if fields.len() == 1 { "" } else { "s" }
                ),
                fields.clone(),
            ),
            Self::Conflict { field, message } | Self::Refused { field, message, .. } => (
                message.clone(),
                vec![FieldError::new(*field, message.clone())],
            ),
            Self::Internal(_) => ("internal error; see the server log".to_owned(), vec![]),
            other => (other.to_string(), vec![]),
        };
        ErrorBody::new(self.code(), message, fields)
    }
}

/// The serialized error envelope, also used by the catcher for errors Salvo raises itself
/// (unknown route, wrong method, panics).
#[derive(Debug, Serialize, salvo::oapi::ToSchema)]
#[salvo(schema(example = json!({"error": {"code": "validation_failed", "message": "1 invalid field; see fields", "fields": [{"field": "email", "message": "\"nope\" is not a valid email address"}], "request_id": "3f1c2a9e-7b7d-4c56-9d2b-0f6b1b7f6c11"}})))]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Serialize, salvo::oapi::ToSchema)]
struct ErrorDetail {
    code: String,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

impl ErrorBody {
    pub fn new(
        code: impl Into<String>,
        message: impl Into<String>,
        fields: Vec<FieldError>,
    ) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
                fields,
                request_id: None,
            },
        }
    }

    /// Writes the body with `status`, tagging it with the request id when there is one.
    pub fn write_to(mut self, status: StatusCode, depot: &Depot, res: &mut Response) {
        self.error.request_id = RequestId::of(depot).map(str::to_owned);
        res.status_code(status);
        res.render(Json(self));
    }
}

#[async_trait]
impl Writer for ApiError {
    async fn write(self, _req: &mut Request, depot: &mut Depot, res: &mut Response) {
        if let Self::Internal(err) = &self {
            tracing::error!(error = format!("{err:#}"), "request failed");
        }
        match &self {
            Self::Unauthorized(_) => {
                res.headers_mut().insert(
                    salvo::http::header::WWW_AUTHENTICATE,
                    salvo::http::HeaderValue::from_static("Bearer"),
                );
            }
            Self::TooManyRequests { retry_after, .. } | Self::Busy { retry_after } => {
                if let Ok(value) = salvo::http::HeaderValue::from_str(&retry_after.to_string()) {
                    res.headers_mut()
                        .insert(salvo::http::header::RETRY_AFTER, value);
                }
            }
            _ => {}
        }
        self.body().write_to(self.status(), depot, res);
    }
}

/// Every error status an endpoint may answer, each with the shared error body; endpoints
/// keep the ones that apply with `status_codes(...)`.
impl salvo::oapi::EndpointOutRegister for ApiError {
    fn register(components: &mut salvo::oapi::Components, operation: &mut salvo::oapi::Operation) {
        use salvo::oapi::ToSchema;
        let schema = ErrorBody::to_schema(components);
        for (status, description) in [
            (
                "400",
                "Malformed JSON, an invalid id, or a missing or malformed Idempotency-Key",
            ),
            (
                "401",
                "Missing or invalid access token, or a failed sign-in",
            ),
            ("403", "Signed in, without the right to do this"),
            ("404", "No such resource"),
            (
                "409",
                "The email or username is taken, the change would remove the last administrator, the user still holds accounts, or a movement is refused (`insufficient_funds`, `account_closed`, `account_not_empty`, `idempotency_key_in_use`)",
            ),
            ("413", "The body is larger than 64 KiB"),
            ("415", "The body is not application/json"),
            (
                "422",
                "Invalid fields, all of them listed; or an Idempotency-Key reused with a different request (`idempotency_key_reused`)",
            ),
            (
                "429",
                "Too many attempts (sign-in, sign-up, password change); see Retry-After",
            ),
            (
                "503",
                "The database is unavailable, the request timed out, or too many passwords are being checked (see Retry-After)",
            ),
        ] {
            let response = salvo::oapi::Response::new(description).add_content(
                "application/json",
                salvo::oapi::Content::new(schema.clone()),
            );
            operation.responses.insert(status, response);
        }
    }
}
