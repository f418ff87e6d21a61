//! Errors Salvo raises itself (unknown route, wrong method, a caught panic) rendered in the
//! same JSON shape as the handlers' own errors.

use salvo::prelude::*;

use crate::error::ErrorBody;

#[handler]
pub async fn render_json_error(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let Some(status) = res
        .status_code
        .filter(|s| s.is_client_error() || s.is_server_error())
    else {
        return;
    };
    let method = req.method().as_str();
    let path = req.uri().path();
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (
            "not_found".to_owned(),
            format!("no route for {method} {path}"),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed".to_owned(),
            format!("{method} is not allowed on {path}; see the Allow header"),
        ),
        StatusCode::INTERNAL_SERVER_ERROR => (
            "internal_error".to_owned(),
            "internal error; see the server log".to_owned(),
        ),
        other => {
            let reason = other.canonical_reason().unwrap_or("error");
            (
                reason.to_ascii_lowercase().replace([' ', '-'], "_"),
                reason.to_owned(),
            )
        }
    };
    ErrorBody::new(code, message, vec![]).write_to(status, depot, res);
    ctrl.skip_rest();
}
