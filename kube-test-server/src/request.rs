//! What a handler sees of an HTTP request, and what it answers.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::status::ApiError;

pub struct Request {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub content_type: String,
    pub user_agent: String,
    pub body: Bytes,
}

impl Request {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn flag(&self, name: &str) -> bool {
        self.param(name).is_some_and(|v| v == "true" || v == "1")
    }

    /// The field manager a write is recorded under: the `fieldManager` parameter, else
    /// the user agent's program name, as the API server derives it.
    pub fn field_manager(&self) -> String {
        self.param("fieldManager")
            .map(str::to_owned)
            .unwrap_or_else(|| {
                self.user_agent
                    .split('/')
                    .next()
                    .unwrap_or("unknown")
                    .to_owned()
            })
    }

    /// The body as JSON, decoded by its content type (YAML for apply patches, the
    /// Kubernetes protobuf envelope for typed clients).
    pub fn object(&self) -> Result<Value, ApiError> {
        let media = self
            .content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        if media == crate::protobuf::MEDIA_TYPE {
            return crate::protobuf::decode(&self.body)
                .map_err(|e| ApiError::new(415, "UnsupportedMediaType", e.to_string()));
        }
        if media == "application/apply-patch+yaml" {
            let yaml: serde_yaml::Value = serde_yaml::from_slice(&self.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
            return serde_json::to_value(yaml)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            ApiError::bad_request(format!(
                "the body of the request was in an unknown format ({media}): {e}"
            ))
        })
    }
}

pub enum Reply {
    Json(u16, Value),
    Text(u16, String),
    /// A body of another media type.
    Bytes(&'static str, Vec<u8>),
    /// A watch: newline-delimited JSON events as they happen.
    Stream(mpsc::Receiver<Bytes>),
}

impl From<ApiError> for Reply {
    fn from(error: ApiError) -> Self {
        Reply::Json(error.code, error.to_status())
    }
}

/// One request as the server saw it: what the request log keeps.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub content_type: String,
    pub user_agent: String,
    pub status: u16,
}

impl std::fmt::Display for RequestRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let program = self.user_agent.split(' ').next().unwrap_or_default();
        write!(f, "{} {} {}", self.method, self.uri, self.status)?;
        if !self.content_type.is_empty() {
            write!(f, " [{}]", self.content_type)?;
        }
        write!(f, " ({program})")
    }
}
