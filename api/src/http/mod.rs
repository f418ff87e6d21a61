//! The HTTP layer: the router, the middleware every request passes through, and the
//! health routes. Feature routes live with their feature (`crate::users::routes`).

pub mod access_log;
pub mod browser;
pub mod client_address;
pub mod error_catcher;
pub mod health;
pub mod json_body;
pub mod keyset;
pub mod metrics;
pub mod path_id;
pub mod request_id;
pub mod request_timeout;

use std::time::Duration;

use salvo::affix_state;
use salvo::catch_panic::CatchPanic;
use salvo::catcher::Catcher;
use salvo::prelude::*;

use crate::state::AppState;

pub fn router() -> Router {
    Router::new()
        .get(health::index)
        .push(Router::with_path("healthz").get(health::liveness))
        .push(Router::with_path("readyz").get(health::readiness))
        .push(Router::with_path("db-check").get(health::db_check))
        .push(Router::with_path("metrics").get(metrics::serve_metrics))
        .push(
            Router::with_path("api/v1/health")
                .get(health::readiness)
                .push(Router::with_path("live").get(health::liveness))
                .push(Router::with_path("ready").get(health::readiness)),
        )
        .push(crate::auth::routes::router())
        .push(crate::users::routes::router())
        .push(crate::accounts::routes::router())
        .push(crate::transfers::routes::router())
        .push(crate::notifications::routes::router())
}

/// The routes plus their OpenAPI 3 document at `/openapi.json` (generated from the
/// endpoints themselves), Swagger UI at `/docs` and the web app at `/app/` (pages, not
/// part of the API's document).
pub fn router_with_docs() -> Router {
    use salvo::oapi::security::{Http, HttpAuthScheme};
    use salvo::oapi::swagger_ui::SwaggerUi;
    use salvo::oapi::{OpenApi, SecurityScheme};
    let router = router();
    let document = OpenApi::new("api", health::VERSION)
        .add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer).bearer_format("JWT")),
        )
        .merge_router(&router);
    router
        .push(document.into_router("/openapi.json"))
        .push(
            SwaggerUi::new("/openapi.json")
                .into_router("/docs")
                .hoop(browser::docs_policy),
        )
        .push(crate::web_app::router())
}

/// The whole service. Middleware order matters: the request id comes first so every log
/// line and error body carries it; the access log wraps everything else so it sees the
/// final status, including panics and timeouts.
pub fn service(state: AppState, request_timeout: Duration, cors_origins: Vec<String>) -> Service {
    let metrics = state.metrics.clone();
    Service::new(router_with_docs())
        .hoop(request_id::assign_request_id)
        .hoop(access_log::log_request)
        .hoop(metrics::RecordMetrics(metrics))
        .hoop(browser::security_headers)
        .hoop(browser::Cors::new(cors_origins))
        .hoop(CatchPanic::new())
        .hoop(request_timeout::RequestTimeout(request_timeout))
        .hoop(affix_state::inject(state))
        .catcher(Catcher::default().hoop(error_catcher::render_json_error))
}
