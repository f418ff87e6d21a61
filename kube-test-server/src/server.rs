//! The HTTP side: hyper on a loopback port, the request log, and the routing of a path
//! to discovery, OpenAPI or an object verb.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::controllers::Memory;
use crate::objects::{self, Target};
use crate::request::{Reply, Request, RequestRecord};
use crate::scenario::{Answer, Scenario};
use crate::status::ApiError;
use crate::store::Store;
use crate::{discovery, resources};

/// Everything one server holds.
pub struct Shared {
    pub store: Arc<Store>,
    scenario: Mutex<Scenario>,
    memory: Mutex<Memory>,
    requests: Mutex<Vec<RequestRecord>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub fn new(scenario: Scenario) -> Self {
        Self {
            store: Arc::default(),
            scenario: Mutex::new(scenario),
            memory: Mutex::default(),
            requests: Mutex::default(),
        }
    }

    pub fn scenario(&self) -> MutexGuard<'_, Scenario> {
        lock(&self.scenario)
    }

    pub fn memory(&self) -> MutexGuard<'_, Memory> {
        lock(&self.memory)
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.requests).clone()
    }
}

pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(shared.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    shared: Arc<Shared>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<ReplyBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let header = |name: hyper::header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    Some((decode(k)?, decode(v)?))
                })
                .collect()
        })
        .unwrap_or_default();
    let req = Request {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query,
        content_type: header(hyper::header::CONTENT_TYPE),
        user_agent: header(hyper::header::USER_AGENT),
        body,
    };
    let rule = request_kind(&req).and_then(|kind| {
        let answer = shared
            .scenario()
            .answer_for(&kind.verb, &kind.resource)
            .cloned()?;
        Some((kind, answer))
    });
    let reply = match rule {
        Some((kind, Answer::Forbidden)) => forbidden(&kind).into(),
        Some((_, Answer::After(delay))) => {
            tokio::time::sleep(delay).await;
            route(&shared, &req)
        }
        None => route(&shared, &req),
    };
    let (status, content_type, body) = match reply {
        Reply::Bytes(media, bytes) => (200, media, ReplyBody::Full(Some(Bytes::from(bytes)))),
        Reply::Json(status, value) => (
            status,
            "application/json",
            ReplyBody::Full(Some(Bytes::from(value.to_string()))),
        ),
        Reply::Text(status, text) => (
            status,
            "text/plain",
            ReplyBody::Full(Some(Bytes::from(text))),
        ),
        Reply::Stream(receiver) => (200, "application/json", ReplyBody::Stream(receiver)),
    };
    lock(&shared.requests).push(RequestRecord {
        method: req.method.clone(),
        uri: parts.uri.to_string(),
        content_type: req.content_type.clone(),
        user_agent: req.user_agent.clone(),
        status,
    });
    let mut response = hyper::Response::new(body);
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    Ok(response)
}

/// What a request does to what, in RBAC's terms.
struct RequestKind {
    verb: String,
    /// The plural, or `plural/subresource`.
    resource: String,
    group: String,
    namespace: Option<String>,
    name: Option<String>,
}

fn request_kind(req: &Request) -> Option<RequestKind> {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let (group, rest) = match segments.as_slice() {
        ["api", _version, rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..] => {
            (Some((*ns).to_owned()), [&[*plural][..], tail].concat())
        }
        other => (None, other.to_vec()),
    };
    let (plural, tail) = rest.split_first()?;
    let name = tail.first().map(|n| (*n).to_owned());
    let resource = match tail.get(1) {
        Some(sub) => format!("{plural}/{sub}"),
        None => (*plural).to_owned(),
    };
    let verb = match (req.method.as_str(), &name) {
        ("GET", Some(_)) => "get",
        ("GET", None) if req.flag("watch") => "watch",
        ("GET", None) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", _) => "delete",
        _ => return None,
    };
    Some(RequestKind {
        verb: verb.to_owned(),
        resource,
        group: group.to_owned(),
        namespace,
        name,
    })
}

/// The API server's refusal for an identity without the right.
fn forbidden(kind: &RequestKind) -> ApiError {
    let object = match &kind.name {
        Some(name) => format!(
            "{} \"{name}\"",
            kind.resource.split('/').next().unwrap_or_default()
        ),
        None => kind.resource.clone(),
    };
    let scope = match &kind.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_owned(),
    };
    ApiError::new(
        403,
        "Forbidden",
        format!(
            "{object} is forbidden: User \"system:serviceaccount:ci:deployer\" cannot {} resource \"{}\" in API group \"{}\" {scope}",
            kind.verb, kind.resource, kind.group
        ),
    )
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn route(shared: &Shared, req: &Request) -> Reply {
    let segments: Vec<&str> = req
        .path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let found = |value: Option<Value>| match value {
        Some(value) => Reply::Json(200, value),
        None => ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .into(),
    };
    match segments.as_slice() {
        ["version"] => Reply::Json(200, discovery::version()),
        ["api"] => Reply::Json(200, discovery::core_versions()),
        ["apis"] => Reply::Json(200, discovery::groups()),
        ["api", version] => found(discovery::resources("", version)),
        ["apis", group, version] => found(discovery::resources(group, version)),
        ["openapi", "v2"] => {
            Reply::Bytes(discovery::OPENAPI_V2_MEDIA_TYPE, discovery::openapi_v2())
        }
        ["openapi", "v3"] => Reply::Json(200, discovery::openapi_index()),
        ["openapi", "v3", rest @ ..] => found(discovery::openapi_document(&rest.join("/"))),
        ["api", version, rest @ ..] => object_route(shared, req, "", version, rest),
        ["apis", group, version, rest @ ..] => object_route(shared, req, group, version, rest),
        _ => found(None),
    }
}

fn object_route(
    shared: &Shared,
    req: &Request,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Reply {
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..]
            if resources::find(group, version, plural).is_some_and(|r| r.namespaced) =>
        {
            (Some((*ns).to_owned()), {
                let mut v = vec![*plural];
                v.extend_from_slice(tail);
                v
            })
        }
        other => (None, other.to_vec()),
    };
    let Some((plural, tail)) = rest.split_first() else {
        return ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .into();
    };
    let Some(resource) = resources::find(group, version, plural) else {
        return ApiError::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({plural})"),
        )
        .into();
    };
    let target = Target {
        resource,
        namespace,
        name: tail.first().map(|n| (*n).to_owned()),
        subresource: tail.get(1).map(|s| (*s).to_owned()),
    };
    objects::handle(shared, req, &target)
}

/// A whole body, or a watch's stream of lines.
pub enum ReplyBody {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Bytes>),
}

impl Body for ReplyBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            ReplyBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ReplyBody::Stream(receiver) => receiver
                .poll_recv(cx)
                .map(|line| line.map(|b| Ok(Frame::data(b)))),
        }
    }
}
