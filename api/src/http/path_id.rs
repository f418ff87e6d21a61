//! The `{id}` segment of a route's path.

use salvo::Request;
use uuid::Uuid;

use crate::error::ApiError;

/// The `{id}` path segment as a UUID; anything else is a 400 naming the problem (`what`
/// names the kind of thing: "user", "account").
pub fn path_id(req: &Request, what: &str) -> Result<Uuid, ApiError> {
    let raw = req.param::<String>("id").unwrap_or_default();
    Uuid::parse_str(&raw).map_err(|_| ApiError::BadRequest {
        code: "invalid_id",
        message: format!("{raw:?} is not {} id; ids are UUIDs", with_article(what)),
    })
}

fn with_article(what: &str) -> String {
    match what.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {what}"),
        _ => format!("a {what}"),
    }
}

/// The `{id}` path segment as a positive integer id (notifications); else a 400.
pub fn path_number(req: &Request, what: &str) -> Result<i64, ApiError> {
    let raw = req.param::<String>("id").unwrap_or_default();
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::BadRequest {
            code: "invalid_id",
            message: format!(
                "{raw:?} is not {} id; ids are positive integers",
                with_article(what)
            ),
        })
}
