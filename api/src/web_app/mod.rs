//! The web app (`web/`) served under `/app/`: the built files embedded in the binary, each
//! screen answered with the entry page, hashed files cached for good, and a content
//! security policy that lets the page load and call nothing but this origin.

pub mod assets;
pub mod reply;

use salvo::http::header::{self, HeaderValue};
use salvo::prelude::*;

use reply::{NOT_BUILT_PAGE, Reply};

/// Scripts, styles, images and API calls from this origin only; no inline script or
/// style, no plugins, no framing, forms posting only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router() -> Router {
    Router::with_path("app")
        .get(serve)
        .head(serve)
        .push(Router::with_path("{**path}").get(serve).head(serve))
}

/// `GET /app/<path>`.
#[handler]
async fn serve(req: &mut Request, res: &mut Response) {
    let path = req.param::<String>("path").unwrap_or_default();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    match reply::reply(&path, assets::built) {
        Reply::File { asset, caching } => {
            let tag = format!("\"{}\"", asset.hash);
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(caching.header()),
            );
            if let Ok(value) = HeaderValue::from_str(&tag) {
                headers.insert(header::ETAG, value);
            }
            if let Ok(value) = HeaderValue::from_str(&with_charset(&asset.content_type)) {
                headers.insert(header::CONTENT_TYPE, value);
            }
            if matches_tag(req, &tag) {
                res.status_code(StatusCode::NOT_MODIFIED);
                return;
            }
            res.body(asset.body.into_owned());
        }
        Reply::NotBuilt => {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res.status_code(StatusCode::NOT_FOUND);
            res.render(Text::Html(NOT_BUILT_PAGE));
        }
        Reply::NotFound => {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res.status_code(StatusCode::NOT_FOUND);
            res.render(Text::Plain("no such file in the web app\n"));
        }
    }
}

/// The built text files are UTF-8 (Vite writes nothing else).
fn with_charset(content_type: &str) -> String {
    let textual = content_type.starts_with("text/")
        || matches!(content_type, "application/javascript" | "application/json");
    if textual {
        format!("{content_type}; charset=utf-8")
    } else {
        content_type.to_owned()
    }
}

/// Whether the browser's `If-None-Match` already names this content.
fn matches_tag(req: &Request, tag: &str) -> bool {
    req.header::<String>(header::IF_NONE_MATCH)
        .is_some_and(|tags| {
            tags.split(',').any(|candidate| {
                let candidate = candidate.trim();
                candidate == "*" || candidate.trim_start_matches("W/") == tag
            })
        })
}
