//! `x-request-id`: honoured when the caller (or the ingress) sends a sane one, generated
//! otherwise, stored for error bodies, echoed on the response, and carried by a `request`
//! tracing span around the rest of the request, so every log line written while it is
//! handled (errors and handler lines included) names it.

use salvo::http::HeaderValue;
use salvo::prelude::*;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

/// The id of the request being handled, kept in the depot.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn of(depot: &Depot) -> Option<&str> {
        depot.get_typed::<RequestId>().ok().map(|id| id.0.as_str())
    }
}

/// Accepts ids of up to 128 characters drawn from a log-safe alphabet; anything else
/// (empty, huge, control characters) is replaced rather than trusted.
fn accept(candidate: &str) -> bool {
    (1..=128).contains(&candidate.len())
        && candidate
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b))
}

#[handler]
pub async fn assign_request_id(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let id = req
        .header::<String>(HEADER)
        .filter(|id| accept(id))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, value);
    }
    let span = tracing::info_span!("request", request_id = %id);
    depot.insert_typed(RequestId(id));
    ctrl.call_next(req, depot, res).instrument(span).await;
}

#[cfg(test)]
mod tests {
    use super::accept;

    #[test]
    fn sane_ids_are_kept_and_odd_ones_replaced() {
        assert!(accept("3f1c2a9e-7b7d-4c56-9d2b-0f6b1b7f6c11"));
        assert!(accept("req_42.a:b/c+d="));
        assert!(!accept(""));
        assert!(!accept(&"x".repeat(129)));
        assert!(!accept("has space"));
        assert!(!accept("line\nbreak"));
    }
}
