//! What browsers need: security headers on every response, and CORS for the origins the
//! configuration allows (none by default).

use salvo::http::header::{self, HeaderValue};
use salvo::prelude::*;

/// Headers that make a browser treat responses as data, never as a page to render,
/// frame, sniff or cache. The API serves JSON only, so the policy can be this strict.
#[handler]
pub async fn security_headers(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    ctrl.call_next(req, depot, res).await;
    let headers = res.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
}

/// The policy of Swagger UI at `/docs`: its own bundled scripts and styles (and the inline
/// start-up script of its page), the document from this origin, nothing else. Set before
/// [`security_headers`], which keeps a policy a route chose.
#[handler]
pub async fn docs_policy(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    ctrl.call_next(req, depot, res).await;
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' \
             'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
        ),
    );
}

/// CORS for an allow-list of origins (`CORS_ALLOWED_ORIGINS`).
pub struct Cors {
    allowed: Vec<String>,
}

impl Cors {
    pub fn new(allowed: Vec<String>) -> Self {
        Self { allowed }
    }
}

#[async_trait]
impl Handler for Cors {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        let origin = req
            .header::<String>(header::ORIGIN)
            .filter(|origin| self.allowed.iter().any(|allowed| allowed == origin));
        let preflight = req.method() == salvo::http::Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if let (Some(_), true) = (&origin, preflight) {
            let headers = res.headers_mut();
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE"),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(
                    "authorization, content-type, idempotency-key, x-request-id",
                ),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
            res.status_code(StatusCode::NO_CONTENT);
            ctrl.skip_rest();
        } else {
            ctrl.call_next(req, depot, res).await;
        }
        let headers = res.headers_mut();
        headers.append(header::VARY, HeaderValue::from_static("origin"));
        if let Some(value) = origin.and_then(|origin| HeaderValue::from_str(&origin).ok()) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("x-request-id, retry-after, idempotent-replayed"),
            );
        }
    }
}
