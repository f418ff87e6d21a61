//! One structured log line per request: method, route template, status, latency, request id.
//! Bodies, query strings and headers are never logged, so neither are passwords.

use std::time::Instant;

use salvo::prelude::*;

use super::request_id::RequestId;

#[handler]
pub async fn log_request(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let started = Instant::now();
    ctrl.call_next(req, depot, res).await;
    let status = res.status_code.unwrap_or(StatusCode::NOT_FOUND).as_u16();
    // The template (`/api/v1/users/{id}`) groups requests; the raw path is kept for
    // finding one request, without its query string.
    let route = super::metrics::route_of(req, status);
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let request_id = RequestId::of(depot).unwrap_or("-");
    let method = req.method().as_str();
    let path = req.uri().path();
    if status >= 500 {
        tracing::warn!(target: "api::access", method, route, path, status, latency_ms, request_id, "request");
    } else {
        tracing::info!(target: "api::access", method, route, path, status, latency_ms, request_id, "request");
    }
}
