//! Reading a JSON request body: content type (415), size (413), syntax (400), then typed
//! fields whose problems are collected, so one 422 lists every bad field.

use salvo::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use salvo::http::{ParseError, mime};
use salvo::prelude::*;
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldError};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A field that may be left out, set to `null`, or given a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field<T> {
    Absent,
    Null,
    Value(T),
    /// Present but wrong; the problem is already recorded.
    Invalid,
}

/// A JSON object body being parsed into domain values.
#[derive(Debug)]
pub struct JsonObject {
    fields: Map<String, Value>,
    errors: Vec<FieldError>,
}

/// The properties a request-body type documents in the OpenAPI schema: the one list of
/// fields the parser accepts, so the document and the parser cannot disagree.
pub fn fields_of<T: salvo::oapi::ToSchema + 'static>() -> &'static [&'static str] {
    use std::any::TypeId;
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static FIELDS: OnceLock<Mutex<HashMap<TypeId, &'static [&'static str]>>> = OnceLock::new();
    let mut cache = FIELDS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    cache.entry(TypeId::of::<T>()).or_insert_with(|| {
        let mut components = salvo::oapi::Components::new();
        let schema = match T::to_schema(&mut components) {
            salvo::oapi::RefOr::Type(schema) => Some(schema),
            salvo::oapi::RefOr::Ref(reference) => reference
                .ref_location
                .rsplit('/')
                .next()
                .and_then(|name| components.schemas.get(name).cloned())
                .and_then(|schema| match schema {
                    salvo::oapi::RefOr::Type(schema) => Some(schema),
                    salvo::oapi::RefOr::Ref(_) => None,
                }),
        };
        let names: Vec<&'static str> = match schema {
            Some(salvo::oapi::Schema::Object(object)) => object
                .properties
                .keys()
                .map(|name| &*Box::leak(name.clone().into_boxed_str()))
                .collect(),
            _ => Vec::new(),
        };
        // Once per body type, so the leak is bounded by the number of types.
        Box::leak(names.into_boxed_slice())
    })
}

impl JsonObject {
    /// Reads the request body as a JSON object whose keys must all be properties of `T`,
    /// the type that documents that body.
    pub async fn read_as<T: salvo::oapi::ToSchema + 'static>(
        req: &mut Request,
    ) -> Result<Self, ApiError> {
        Self::read(req, fields_of::<T>()).await
    }

    /// Reads the request body as a JSON object whose keys must all be in `allowed`.
    pub async fn read(req: &mut Request, allowed: &[&str]) -> Result<Self, ApiError> {
        let bytes = read_json_bytes(req).await?;
        Self::parse(&bytes, allowed)
    }

    /// Parses bytes already read (the pure half of [`JsonObject::read`]).
    pub fn parse(bytes: &[u8], allowed: &[&str]) -> Result<Self, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::BadRequest {
                code: "malformed_json",
                message: "the request body is empty; send a JSON object".into(),
            });
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|err| ApiError::BadRequest {
            code: "malformed_json",
            message: format!("the request body is not valid JSON: {err}"),
        })?;
        let Value::Object(fields) = value else {
            return Err(ApiError::Validation(vec![FieldError::new(
                "body",
                "expected a JSON object",
            )]));
        };
        let errors = fields
            .keys()
            .filter(|key| !allowed.contains(&key.as_str()))
            .map(|key| {
                FieldError::new(
                    key,
                    format!("unknown field; expected one of: {}", allowed.join(", ")),
                )
            })
            .collect();
        Ok(Self { fields, errors })
    }

    /// Records a problem with `field`.
    pub fn reject(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// A field that must be present and non-null, checked by `parse`.
    pub fn required<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Option<T> {
        match self.optional(name, parse) {
            Field::Value(value) => Some(value),
            Field::Absent | Field::Null => {
                self.reject(name, "is required");
                None
            }
            Field::Invalid => None,
        }
    }

    /// A field that may be absent or null, checked by `parse` when it has a value.
    pub fn optional<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Field<T> {
        match self.fields.get(name) {
            None => Field::Absent,
            Some(Value::Null) => Field::Null,
            Some(value) => match parse(value) {
                Ok(parsed) => Field::Value(parsed),
                Err(message) => {
                    self.reject(name, message);
                    Field::Invalid
                }
            },
        }
    }

    /// Ends parsing: every recorded problem, or nothing.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// `finish` passed although a required field is missing: a bug, not a client error.
pub fn incomplete(what: &str) -> ApiError {
    anyhow::anyhow!("a {what} request parsed without its required fields").into()
}

/// `parse` for string fields: checks the JSON type, then hands the text to `check`.
pub fn string<T>(
    check: impl FnOnce(&str) -> Result<T, String>,
) -> impl FnOnce(&Value) -> Result<T, String> {
    move |value| match value {
        Value::String(text) => check(text),
        other => Err(format!("expected a string, got {}", json_type(other))),
    }
}

/// Text for people to read (a name, a description): trimmed, at most `max` characters,
/// no control characters; `None` when blank.
pub fn plain_text(raw: &str, max: usize) -> Result<Option<&str>, String> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok((!text.is_empty()).then_some(text))
}

/// `parse` for boolean fields.
pub fn boolean(value: &Value) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("expected true or false, got {}", json_type(value)))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_json(req: &Request) -> bool {
    req.header::<String>(CONTENT_TYPE)
        .and_then(|value| value.parse::<mime::Mime>().ok())
        .is_some_and(|mime| {
            mime.type_() == mime::APPLICATION
                && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
        })
}

async fn read_json_bytes(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    if !is_json(req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let too_large = ApiError::PayloadTooLarge {
        limit: MAX_BODY_BYTES,
    };
    // Refuse an announced oversize body before reading any of it.
    if req
        .header::<u64>(CONTENT_LENGTH)
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err(too_large);
    }
    match req.payload_with_max_size(MAX_BODY_BYTES).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(ParseError::PayloadTooLarge) => Err(too_large),
        Err(err) => Err(ApiError::BadRequest {
            code: "unreadable_body",
            message: format!("the request body could not be read: {err}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_are_bad_requests_with_a_position() {
        let err = JsonObject::parse(b"{\"a\": ", &["a"]).unwrap_err();
        assert!(
            matches!(err, ApiError::BadRequest { code: "malformed_json", ref message } if message.contains("line 1"))
        );
        assert!(matches!(
            JsonObject::parse(b"  ", &[]),
            Err(ApiError::BadRequest { .. })
        ));
    }

    #[test]
    fn non_objects_and_unknown_fields_are_validation_errors() {
        assert_eq!(
            JsonObject::parse(b"[1]", &[]).unwrap_err().invalid_fields(),
            ["body"]
        );
        let body = JsonObject::parse(br#"{"a": 1, "b": 2}"#, &["a"]).unwrap();
        assert_eq!(body.finish().unwrap_err().invalid_fields(), ["b"]);
    }

    #[test]
    fn every_bad_field_is_collected() {
        let mut body = JsonObject::parse(br#"{"a": 1, "c": "x"}"#, &["a", "b", "c"]).unwrap();
        assert_eq!(body.required("a", string(|s| Ok(s.to_owned()))), None);
        assert_eq!(body.required("b", boolean), None);
        assert_eq!(body.optional("c", boolean), Field::Invalid);
        assert_eq!(body.finish().unwrap_err().invalid_fields(), ["a", "b", "c"]);
    }

    #[test]
    fn null_and_absent_are_told_apart() {
        let mut body = JsonObject::parse(br#"{"a": null, "c": true}"#, &["a", "b", "c"]).unwrap();
        assert_eq!(body.optional("a", boolean), Field::Null);
        assert_eq!(body.optional("b", boolean), Field::Absent);
        assert_eq!(body.optional("c", boolean), Field::Value(true));
        assert!(body.finish().is_ok());
    }
}
