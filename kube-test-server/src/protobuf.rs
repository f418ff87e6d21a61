//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`), decoded into
//! the JSON form of the object.
//!
//! client-go's typed clientsets (which Helm 4 uses for its release Secrets) send protobuf
//! when the server allows it. A body is the 4-byte magic `k8s\0` followed by a
//! `runtime.Unknown` envelope: `typeMeta` (apiVersion, kind), `raw` (the object's own
//! protobuf message, which carries no TypeMeta of its own), `contentEncoding` and
//! `contentType` (ignored on decode, as the API server's serializer ignores them).
//!
//! The object is decoded the way the API server's gogo-generated `Unmarshal` would and then
//! rendered the way its `encoding/json` would: non-pointer fields tagged `omitempty` are
//! left out when empty or zero, pointer fields (`immutable`, `gracePeriodSeconds`, ...)
//! appear whenever they were sent, `[]byte` map values become base64, timestamps become
//! RFC 3339 seconds in UTC (protobuf nanos are dropped, as upstream drops them).
//!
//! Field numbers come from the upstream `.proto` files: `k8s.io/api/core/v1/generated.proto`
//! (Secret, ConfigMap) and `k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto`
//! (ObjectMeta, OwnerReference, ManagedFieldsEntry, Time, DeleteOptions, Preconditions),
//! `k8s.io/apimachinery/pkg/runtime/generated.proto` (Unknown, TypeMeta). Maps are proto2
//! map fields: repeated entry messages with key = 1, value = 2. Unknown fields are skipped
//! by wire type (groups included).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

/// The media type client-go sends protobuf bodies with.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// What every Kubernetes protobuf body starts with.
const MAGIC: &[u8; 4] = b"k8s\0";

/// Unix seconds of Go's zero `time.Time` (0001-01-01T00:00:00Z), which `IsZero` reports.
const ZERO_TIME_SECONDS: i64 = -62_135_596_800;
/// Unix seconds of 9999-12-31T23:59:59Z, the last instant RFC 3339 can write.
const MAX_TIME_SECONDS: i64 = 253_402_300_799;

/// Why a protobuf body could not be turned into JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The body does not start with the `k8s\0` magic.
    BadMagic,
    /// Nothing follows the magic.
    EmptyBody,
    /// The protobuf wire data is broken (truncated, wrong wire type, invalid JSON in
    /// `fieldsV1`, timestamp out of range, ...); the text says what and where.
    Malformed(String),
    /// The envelope names a kind this decoder does not know.
    UnsupportedKind {
        /// The envelope's `typeMeta.apiVersion`.
        api_version: String,
        /// The envelope's `typeMeta.kind`.
        kind: String,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => write!(
                f,
                "not a Kubernetes protobuf body: it does not start with the magic \"k8s\\0\""
            ),
            Self::EmptyBody => write!(
                f,
                "empty Kubernetes protobuf body: nothing follows the magic \"k8s\\0\""
            ),
            Self::Malformed(what) => write!(f, "malformed Kubernetes protobuf body: {what}"),
            Self::UnsupportedKind { api_version, kind } => write!(
                f,
                "unsupported kind \"{api_version}/{kind}\" in protobuf body (this server decodes \
                 protobuf only for v1/Secret, v1/ConfigMap, v1/Namespace, v1/DeleteOptions and \
                 meta.k8s.io/v1/DeleteOptions; send JSON instead)"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes a Kubernetes protobuf body (the 4-byte magic `k8s\0` followed by a `runtime.Unknown`
/// envelope) into the object's JSON form, as the API server would have received it as JSON.
pub fn decode(body: &[u8]) -> Result<Value, DecodeError> {
    let envelope = body.strip_prefix(MAGIC).ok_or(DecodeError::BadMagic)?;
    if envelope.is_empty() {
        return Err(DecodeError::EmptyBody);
    }
    let (api_version, kind, raw) = decode_unknown(envelope)?;

    let mut object = Map::new();
    match (api_version.as_str(), kind.as_str()) {
        ("v1", "Secret") => decode_secret(raw, &mut object)?,
        ("v1", "ConfigMap") => decode_config_map(raw, &mut object)?,
        ("v1", "Namespace") => decode_namespace(raw, &mut object)?,
        // client-go's typed core/v1 client sends "v1": metav1.AddToGroupVersion registers
        // DeleteOptions in every group version and the client's encoder picks its own one.
        // "meta.k8s.io/v1" is metav1's own group, which other clients may use.
        ("v1" | "meta.k8s.io/v1", "DeleteOptions") => decode_delete_options(raw, &mut object)?,
        _ => return Err(DecodeError::UnsupportedKind { api_version, kind }),
    }
    object.insert("apiVersion".into(), Value::String(api_version));
    object.insert("kind".into(), Value::String(kind));
    Ok(Value::Object(object))
}

/// `runtime.Unknown`: typeMeta = 1 (apiVersion = 1, kind = 2), raw = 2, contentEncoding = 3,
/// contentType = 4. Returns apiVersion, kind and raw.
fn decode_unknown(buf: &[u8]) -> Result<(String, String, &[u8]), DecodeError> {
    let (mut api_version, mut kind, mut raw): (String, String, &[u8]) =
        (String::new(), String::new(), &[]);
    let mut reader = Reader::new(buf, "runtime.Unknown");
    while let Some(field) = reader.next_field()? {
        match field.number {
            1 => {
                let mut type_meta = Reader::new(field.bytes()?, "runtime.TypeMeta");
                while let Some(field) = type_meta.next_field()? {
                    match field.number {
                        1 => api_version = field.string()?,
                        2 => kind = field.string()?,
                        _ => {}
                    }
                }
            }
            2 => raw = field.bytes()?,
            _ => {}
        }
    }
    Ok((api_version, kind, raw))
}

/// core/v1 `Secret`: metadata = 1, data = 2 (map<string, bytes>), type = 3,
/// stringData = 4 (map<string, string>), immutable = 5.
fn decode_secret(buf: &[u8], out: &mut Map<String, Value>) -> Result<(), DecodeError> {
    out.insert("metadata".into(), Value::Object(Map::new()));
    let mut reader = Reader::new(buf, "Secret");
    while let Some(field) = reader.next_field()? {
        match field.number {
            1 => with_object(out, "metadata", |meta| {
                decode_object_meta(field.bytes()?, meta)
            })?,
            2 => insert_map_entry(out, "data", field.bytes()?, "Secret.data", MapValue::Bytes)?,
            3 => set_string_omitempty(out, "type", field.string()?),
            4 => insert_map_entry(
                out,
                "stringData",
                field.bytes()?,
                "Secret.stringData",
                MapValue::String,
            )?,
            5 => set(out, "immutable", Value::Bool(field.bool()?)),
            _ => {}
        }
    }
    Ok(())
}

/// core/v1 `ConfigMap`: metadata = 1, data = 2 (map<string, string>),
/// binaryData = 3 (map<string, bytes>), immutable = 4.
fn decode_config_map(buf: &[u8], out: &mut Map<String, Value>) -> Result<(), DecodeError> {
    out.insert("metadata".into(), Value::Object(Map::new()));
    let mut reader = Reader::new(buf, "ConfigMap");
    while let Some(field) = reader.next_field()? {
        match field.number {
            1 => with_object(out, "metadata", |meta| {
                decode_object_meta(field.bytes()?, meta)
            })?,
            2 => insert_map_entry(
                out,
                "data",
                field.bytes()?,
                "ConfigMap.data",
                MapValue::String,
            )?,
            3 => insert_map_entry(
                out,
                "binaryData",
                field.bytes()?,
                "ConfigMap.binaryData",
                MapValue::Bytes,
            )?,
            4 => set(out, "immutable", Value::Bool(field.bool()?)),
            _ => {}
        }
    }
    Ok(())
}

/// core/v1 `Namespace` (what `kubectl create namespace` sends): metadata = 1, spec = 2
/// (finalizers = 1), status = 3 (phase = 1; conditions are skipped).
fn decode_namespace(buf: &[u8], out: &mut Map<String, Value>) -> Result<(), DecodeError> {
    out.insert("metadata".into(), Value::Object(Map::new()));
    let mut reader = Reader::new(buf, "Namespace");
    while let Some(field) = reader.next_field()? {
        match field.number {
            1 => with_object(out, "metadata", |meta| {
                decode_object_meta(field.bytes()?, meta)
            })?,
            2 => with_object(out, "spec", |spec| {
                let mut inner = Reader::new(field.bytes()?, "NamespaceSpec");
                while let Some(field) = inner.next_field()? {
                    if field.number == 1 {
                        push(spec, "finalizers", Value::String(field.string()?));
                    }
                }
                Ok(())
            })?,
            3 => with_object(out, "status", |status| {
                let mut inner = Reader::new(field.bytes()?, "NamespaceStatus");
                while let Some(field) = inner.next_field()? {
                    if field.number == 1 {
                        set_string_omitempty(status, "phase", field.string()?);
                    }
                }
                Ok(())
            })?,
            _ => {}
        }
    }
    Ok(())
}

/// meta/v1 `DeleteOptions`: gracePeriodSeconds = 1, preconditions = 2 (uid = 1,
/// resourceVersion = 2), orphanDependents = 3, propagationPolicy = 4 (a string on the wire,
/// whatever the Go struct tag says), dryRun = 5, ignoreStoreReadErrorWithClusterBreakingPotential
/// = 6. All but dryRun are pointers in Go, so they appear whenever they were sent.
fn decode_delete_options(buf: &[u8], out: &mut Map<String, Value>) -> Result<(), DecodeError> {
    let mut reader = Reader::new(buf, "DeleteOptions");
    while let Some(field) = reader.next_field()? {
        match field.number {
            1 => set(out, "gracePeriodSeconds", Value::from(field.int64()?)),
            2 => {
                with_object(out, "preconditions", |preconditions| {
                    let mut inner = Reader::new(field.bytes()?, "Preconditions");
                    while let Some(field) = inner.next_field()? {
                        match field.number {
                            1 => set(preconditions, "uid", Value::String(field.string()?)),
                            2 => set(
                                preconditions,
                                "resourceVersion",
                                Value::String(field.string()?),
                            ),
                            _ => {}
                        }
                    }
                    Ok(())
                })?;
            }
            3 => set(out, "orphanDependents", Value::Bool(field.bool()?)),
            4 => set(out, "propagationPolicy", Value::String(field.string()?)),
            5 => push(out, "dryRun", Value::String(field.string()?)),
            6 => set(
                out,
                "ignoreStoreReadErrorWithClusterBreakingPotential",
                Value::Bool(field.bool()?),
            ),
            _ => {}
        }
    }
    Ok(())
}

/// meta/v1 `ObjectMeta`: name = 1, generateName = 2, namespace = 3, selfLink = 4, uid = 5,
/// resourceVersion = 6, generation = 7, creationTimestamp = 8, deletionTimestamp = 9,
/// deletionGracePeriodSeconds = 10, labels = 11, annotations = 12, ownerReferences = 13,
/// finalizers = 14, managedFields = 17. Merges into `out` (a repeated embedded message merges).
fn decode_object_meta(buf: &[u8], out: &mut Map<String, Value>) -> Result<(), DecodeError> {
    let mut reader = Reader::new(buf, "ObjectMeta");
    while let Some(field) = reader.next_field()? {
        match field.number {
            1 => set_string_omitempty(out, "name", field.string()?),
            2 => set_string_omitempty(out, "generateName", field.string()?),
            3 => set_string_omitempty(out, "namespace", field.string()?),
            4 => set_string_omitempty(out, "selfLink", field.string()?),
            5 => set_string_omitempty(out, "uid", field.string()?),
            6 => set_string_omitempty(out, "resourceVersion", field.string()?),
            7 => match field.int64()? {
                0 => {
                    out.remove("generation");
                }
                generation => set(out, "generation", Value::from(generation)),
            },
            8 => set_time(
                out,
                "creationTimestamp",
                field.bytes()?,
                "ObjectMeta.creationTimestamp",
            )?,
            // A pointer to a zero Time is `null` in Go's JSON: the same as leaving it out.
            9 => set_time(
                out,
                "deletionTimestamp",
                field.bytes()?,
                "ObjectMeta.deletionTimestamp",
            )?,
            10 => set(
                out,
                "deletionGracePeriodSeconds",
                Value::from(field.int64()?),
            ),
            11 => insert_map_entry(
                out,
                "labels",
                field.bytes()?,
                "ObjectMeta.labels",
                MapValue::String,
            )?,
            12 => insert_map_entry(
                out,
                "annotations",
                field.bytes()?,
                "ObjectMeta.annotations",
                MapValue::String,
            )?,
            13 => push(
                out,
                "ownerReferences",
                decode_owner_reference(field.bytes()?)?,
            ),
            14 => push(out, "finalizers", Value::String(field.string()?)),
            17 => push(
                out,
                "managedFields",
                decode_managed_fields_entry(field.bytes()?)?,
            ),
            _ => {}
        }
    }
    Ok(())
}

/// meta/v1 `OwnerReference`: kind = 1, name = 3, uid = 4, apiVersion = 5, controller = 6,
/// blockOwnerDeletion = 7. apiVersion, kind, name and uid have no `omitempty`.
fn decode_owner_reference(buf: &[u8]) -> Result<Value, DecodeError> {
    let mut out = Map::new();
    for key in ["apiVersion", "kind", "name", "uid"] {
        out.insert(key.into(), Value::String(String::new()));
    }
    let mut reader = Reader::new(buf, "OwnerReference");
    while let Some(field) = reader.next_field()? {
        match field.number {
            1 => set(&mut out, "kind", Value::String(field.string()?)),
            3 => set(&mut out, "name", Value::String(field.string()?)),
            4 => set(&mut out, "uid", Value::String(field.string()?)),
            5 => set(&mut out, "apiVersion", Value::String(field.string()?)),
            6 => set(&mut out, "controller", Value::Bool(field.bool()?)),
            7 => set(&mut out, "blockOwnerDeletion", Value::Bool(field.bool()?)),
            _ => {}
        }
    }
    Ok(Value::Object(out))
}

/// meta/v1 `ManagedFieldsEntry`: manager = 1, operation = 2, apiVersion = 3, time = 4,
/// fieldsType = 6, fieldsV1 = 7 (`FieldsV1 { bytes Raw = 1 }`, raw JSON), subresource = 8.
fn decode_managed_fields_entry(buf: &[u8]) -> Result<Value, DecodeError> {
    let mut out = Map::new();
    let mut reader = Reader::new(buf, "ManagedFieldsEntry");
    while let Some(field) = reader.next_field()? {
        match field.number {
            1 => set_string_omitempty(&mut out, "manager", field.string()?),
            2 => set_string_omitempty(&mut out, "operation", field.string()?),
            3 => set_string_omitempty(&mut out, "apiVersion", field.string()?),
            4 => set_time(&mut out, "time", field.bytes()?, "ManagedFieldsEntry.time")?,
            6 => set_string_omitempty(&mut out, "fieldsType", field.string()?),
            7 => {
                let mut raw: &[u8] = &[];
                let mut inner = Reader::new(field.bytes()?, "FieldsV1");
                while let Some(field) = inner.next_field()? {
                    if field.number == 1 {
                        raw = field.bytes()?;
                    }
                }
                if raw.is_empty() {
                    out.remove("fieldsV1");
                } else {
                    let fields = serde_json::from_slice(raw).map_err(|err| {
                        DecodeError::Malformed(format!(
                            "ManagedFieldsEntry.fieldsV1 is not valid JSON: {err}"
                        ))
                    })?;
                    set(&mut out, "fieldsV1", fields);
                }
            }
            8 => set_string_omitempty(&mut out, "subresource", field.string()?),
            _ => {}
        }
    }
    Ok(Value::Object(out))
}

/// Sets `key` to the RFC 3339 form of a meta/v1 `Time` message (seconds = 1, nanos = 2), or
/// removes it when the time is Go's zero time (an empty message, which is how a zero Time
/// marshals). Like upstream's `Time.Unmarshal`, nanos are ignored.
fn set_time(
    out: &mut Map<String, Value>,
    key: &str,
    buf: &[u8],
    context: &str,
) -> Result<(), DecodeError> {
    if buf.is_empty() {
        out.remove(key);
        return Ok(());
    }
    let mut seconds = 0;
    let mut reader = Reader::new(buf, "Time");
    while let Some(field) = reader.next_field()? {
        if field.number == 1 {
            seconds = field.int64()?;
        }
    }
    if seconds == ZERO_TIME_SECONDS {
        out.remove(key);
        return Ok(());
    }
    let text = format_rfc3339(seconds).ok_or_else(|| {
        DecodeError::Malformed(format!(
            "{context} is {seconds} seconds since the epoch, outside years 0001-9999"
        ))
    })?;
    set(out, key, Value::String(text));
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix `seconds`, or `None` outside years 0001 to 9999.
fn format_rfc3339(seconds: i64) -> Option<String> {
    if !(ZERO_TIME_SECONDS..=MAX_TIME_SECONDS).contains(&seconds) {
        return None;
    }
    let days = seconds.div_euclid(86_400);
    let secs_of_day = seconds.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs_of_day / 3_600,
        secs_of_day / 60 % 60,
        secs_of_day % 60
    ))
}

/// How a map field's values appear in JSON.
#[derive(Clone, Copy)]
enum MapValue {
    /// `map<string, string>`: as is.
    String,
    /// `map<string, bytes>`: base64, as Go's JSON shows `[]byte`.
    Bytes,
}

/// Decodes one proto2 map entry (key = 1, value = 2; a missing one is empty) into the JSON
/// object at `out[key]`; a later entry with the same key wins, as in Go.
fn insert_map_entry(
    out: &mut Map<String, Value>,
    key: &str,
    entry: &[u8],
    context: &'static str,
    kind: MapValue,
) -> Result<(), DecodeError> {
    let (mut entry_key, mut entry_value): (String, &[u8]) = (String::new(), &[]);
    let mut reader = Reader::new(entry, context);
    while let Some(field) = reader.next_field()? {
        match field.number {
            1 => entry_key = field.string()?,
            2 => entry_value = field.bytes()?,
            _ => {}
        }
    }
    let value = match kind {
        MapValue::String => Value::String(String::from_utf8_lossy(entry_value).into_owned()),
        MapValue::Bytes => Value::String(BASE64.encode(entry_value)),
    };
    with_object(out, key, |map| {
        map.insert(entry_key, value);
        Ok(())
    })
}

/// Runs `merge` on the JSON object at `out[key]` (created when missing), which stays in
/// `out` even when `merge` fails.
fn with_object(
    out: &mut Map<String, Value>,
    key: &str,
    merge: impl FnOnce(&mut Map<String, Value>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut object = match out.remove(key) {
        Some(Value::Object(object)) => object,
        _ => Map::new(),
    };
    let result = merge(&mut object);
    out.insert(key.into(), Value::Object(object));
    result
}

/// Appends to the JSON array at `out[key]`, creating it when needed.
fn push(out: &mut Map<String, Value>, key: &str, value: Value) {
    let slot = out.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    match slot {
        Value::Array(items) => items.push(value),
        other => *other = Value::Array(vec![value]),
    }
}

fn set(out: &mut Map<String, Value>, key: &str, value: Value) {
    out.insert(key.into(), value);
}

/// A Go `string` field tagged `omitempty`: a later empty value clears an earlier one.
fn set_string_omitempty(out: &mut Map<String, Value>, key: &str, value: String) {
    if value.is_empty() {
        out.remove(key);
    } else {
        out.insert(key.into(), Value::String(value));
    }
}

/// A field's payload, by wire type.
#[derive(Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Group,
    Fixed32,
}

impl Wire<'_> {
    fn name(self) -> &'static str {
        match self {
            Self::Varint(_) => "varint (0)",
            Self::Fixed64 => "fixed64 (1)",
            Self::Bytes(_) => "length-delimited (2)",
            Self::Group => "group (3)",
            Self::Fixed32 => "fixed32 (5)",
        }
    }
}

/// One field of a message.
struct Field<'a> {
    number: u32,
    wire: Wire<'a>,
    message: &'static str,
}

impl<'a> Field<'a> {
    fn wrong_type(&self, expected: &str) -> DecodeError {
        DecodeError::Malformed(format!(
            "field {} of {} has wire type {}, expected {expected}",
            self.number,
            self.message,
            self.wire.name()
        ))
    }

    fn bytes(&self) -> Result<&'a [u8], DecodeError> {
        match self.wire {
            Wire::Bytes(bytes) => Ok(bytes),
            _ => Err(self.wrong_type("length-delimited (2)")),
        }
    }

    /// Go keeps invalid UTF-8 in strings and its JSON encoder writes U+FFFD for it.
    fn string(&self) -> Result<String, DecodeError> {
        Ok(String::from_utf8_lossy(self.bytes()?).into_owned())
    }

    fn varint(&self) -> Result<u64, DecodeError> {
        match self.wire {
            Wire::Varint(value) => Ok(value),
            _ => Err(self.wrong_type("varint (0)")),
        }
    }

    fn int64(&self) -> Result<i64, DecodeError> {
        // int64 is two's complement in a varint, exactly as Go's `int64(v)` reads it.
        self.varint().map(|value| value as i64)
    }

    fn bool(&self) -> Result<bool, DecodeError> {
        self.varint().map(|value| value != 0)
    }
}

/// A protobuf wire-format reader over one message's bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    message: &'static str,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], message: &'static str) -> Self {
        Self {
            buf,
            pos: 0,
            message,
        }
    }

    fn malformed(&self, what: impl fmt::Display) -> DecodeError {
        DecodeError::Malformed(format!("{what} in {} at byte {}", self.message, self.pos))
    }

    /// The next field, or `None` at the end of the message.
    fn next_field(&mut self) -> Result<Option<Field<'a>>, DecodeError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > i32::MAX as u64 {
            return Err(self.malformed(format_args!("invalid field number {number}")));
        }
        let number = u32::try_from(number).map_err(|_| self.malformed("invalid field number"))?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => {
                self.take(8, number)?;
                Wire::Fixed64
            }
            2 => {
                let len = self.varint()?;
                Wire::Bytes(self.take(len, number)?)
            }
            3 => {
                self.skip_group(number)?;
                Wire::Group
            }
            5 => {
                self.take(4, number)?;
                Wire::Fixed32
            }
            4 => {
                return Err(self.malformed(format_args!(
                    "end-group for field {number} without a start-group"
                )));
            }
            other => {
                return Err(
                    self.malformed(format_args!("invalid wire type {other} for field {number}"))
                );
            }
        };
        Ok(Some(Field {
            number,
            wire,
            message: self.message,
        }))
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(self.malformed("truncated varint"));
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.malformed("varint longer than 10 bytes"))
    }

    fn take(&mut self, len: u64, number: u32) -> Result<&'a [u8], DecodeError> {
        let left = self.buf.len() - self.pos;
        let end = usize::try_from(len)
            .ok()
            .filter(|&len| len <= left)
            .map(|len| self.pos + len)
            .ok_or_else(|| {
                self.malformed(format_args!(
                    "truncated field {number}: {len} bytes announced, {left} left"
                ))
            })?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// Skips a (deprecated) group up to its matching end-group, nested groups included.
    fn skip_group(&mut self, number: u32) -> Result<(), DecodeError> {
        let mut depth = 1usize;
        while depth > 0 {
            if self.pos >= self.buf.len() {
                return Err(self.malformed(format_args!("unterminated group {number}")));
            }
            let key = self.varint()?;
            match key & 7 {
                0 => {
                    self.varint()?;
                }
                1 => {
                    self.take(8, number)?;
                }
                2 => {
                    let len = self.varint()?;
                    self.take(len, number)?;
                }
                3 => depth += 1,
                4 => depth -= 1,
                5 => {
                    self.take(4, number)?;
                }
                other => {
                    return Err(self.malformed(format_args!(
                        "invalid wire type {other} inside group {number}"
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A tiny protobuf encoder, enough to build bodies the way client-go does.
    #[derive(Default, Clone)]
    struct Msg(Vec<u8>);

    impl Msg {
        fn new() -> Self {
            Self::default()
        }

        fn raw_varint(mut self, mut value: u64) -> Self {
            while value >= 0x80 {
                self.0.push((value as u8) | 0x80);
                value >>= 7;
            }
            self.0.push(value as u8);
            self
        }

        fn key(self, number: u32, wire_type: u8) -> Self {
            self.raw_varint((u64::from(number) << 3) | u64::from(wire_type))
        }

        fn varint(self, number: u32, value: u64) -> Self {
            self.key(number, 0).raw_varint(value)
        }

        fn int64(self, number: u32, value: i64) -> Self {
            self.varint(number, value as u64)
        }

        fn bytes(self, number: u32, value: &[u8]) -> Self {
            let mut msg = self.key(number, 2).raw_varint(value.len() as u64);
            msg.0.extend_from_slice(value);
            msg
        }

        fn str(self, number: u32, value: &str) -> Self {
            self.bytes(number, value.as_bytes())
        }

        fn msg(self, number: u32, value: Msg) -> Self {
            self.bytes(number, &value.0)
        }

        fn entry(self, number: u32, key: &str, value: &[u8]) -> Self {
            self.msg(number, Msg::new().str(1, key).bytes(2, value))
        }

        /// One field of every wire type, numbered where no Kubernetes message has fields.
        fn junk(self) -> Self {
            let mut msg = self.varint(900, 1 << 40).key(901, 1);
            msg.0.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
            let mut msg = msg.key(902, 5);
            msg.0.extend_from_slice(&[9, 9, 9, 9]);
            msg.str(903, "ignored")
                .key(904, 3)
                .varint(1, 5)
                .key(905, 3)
                .str(2, "nested")
                .key(905, 4)
                .key(904, 4)
        }
    }

    fn body(api_version: &str, kind: &str, raw: &Msg) -> Vec<u8> {
        let unknown = Msg::new()
            .msg(1, Msg::new().str(1, api_version).str(2, kind))
            .bytes(2, &raw.0)
            .str(3, "")
            .str(4, "");
        [MAGIC.as_slice(), &unknown.0].concat()
    }

    /// ObjectMeta the way gogo marshals it: every non-pointer field, zero Time as an empty
    /// message.
    fn go_object_meta(name: &str, namespace: &str) -> Msg {
        Msg::new()
            .str(1, name)
            .str(2, "")
            .str(3, namespace)
            .str(4, "")
            .str(5, "")
            .str(6, "")
            .varint(7, 0)
            .msg(8, Msg::new())
    }

    const RELEASE: &[u8] = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xffH4sI\x00\xfe";

    fn helm_secret() -> Msg {
        let meta = go_object_meta("sh.helm.release.v1.api.v1", "")
            .entry(11, "name", b"api")
            .entry(11, "owner", b"helm")
            .entry(11, "status", b"deployed")
            .entry(11, "version", b"1");
        Msg::new()
            .msg(1, meta)
            .entry(2, "release", RELEASE)
            .str(3, "helm.sh/release.v1")
    }

    fn helm_secret_json() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "sh.helm.release.v1.api.v1",
                "labels": {"name": "api", "owner": "helm", "status": "deployed", "version": "1"},
            },
            "type": "helm.sh/release.v1",
            "data": {"release": "H4sIAAAAAAAA/0g0c0kA/g=="},
        })
    }

    // The PY_* vectors below were produced by a real protobuf implementation: protoc 3.21.12
    // (Debian protobuf-compiler) compiled the upstream k8s.io/api core/v1/generated.proto and
    // k8s.io/apimachinery {pkg/apis/meta/v1,pkg/runtime,pkg/runtime/schema,pkg/api/resource,
    // pkg/util/intstr}/generated.proto to Python, and Debian's python3-protobuf 3.21.12
    // serialized the messages, wrapped in runtime.Unknown behind the "k8s\0" magic. Fields
    // that Go's gogo Marshal always writes (empty strings, generation 0, the zero
    // creationTimestamp as an empty message, Unknown.contentEncoding/contentType) were set
    // explicitly so the bytes have the shape client-go sends. Python encodes map entries
    // in insertion order, Go in sorted key order; either decodes the same.

    /// The Helm release Secret of `helm_secret_json`.
    const PY_SECRET: &[u8] = b"\
    \x6b\x38\x73\x00\x0a\x0c\x0a\x02\x76\x31\x12\x06\x53\x65\x63\x72\x65\x74\x12\x9a\x01\x0a\
    \x67\x0a\x19\x73\x68\x2e\x68\x65\x6c\x6d\x2e\x72\x65\x6c\x65\x61\x73\x65\x2e\x76\x31\x2e\
    \x61\x70\x69\x2e\x76\x31\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x5a\x0b\
    \x0a\x04\x6e\x61\x6d\x65\x12\x03\x61\x70\x69\x5a\x0d\x0a\x05\x6f\x77\x6e\x65\x72\x12\x04\
    \x68\x65\x6c\x6d\x5a\x0c\x0a\x07\x76\x65\x72\x73\x69\x6f\x6e\x12\x01\x31\x5a\x12\x0a\x06\
    \x73\x74\x61\x74\x75\x73\x12\x08\x64\x65\x70\x6c\x6f\x79\x65\x64\x12\x1b\x0a\x07\x72\x65\
    \x6c\x65\x61\x73\x65\x12\x10\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x48\x34\x73\x49\x00\
    \xfe\x1a\x12\x68\x65\x6c\x6d\x2e\x73\x68\x2f\x72\x65\x6c\x65\x61\x73\x65\x2e\x76\x31\x1a\
    \x00\x22\x00";

    /// The ConfigMap of `config_map_json`.
    const PY_CONFIGMAP: &[u8] = b"\
    \x6b\x38\x73\x00\x0a\x0f\x0a\x02\x76\x31\x12\x09\x43\x6f\x6e\x66\x69\x67\x4d\x61\x70\x12\
    \xcf\x01\x0a\xae\x01\x0a\x03\x63\x66\x67\x12\x00\x1a\x07\x64\x65\x66\x61\x75\x6c\x74\x22\
    \x00\x2a\x09\x31\x32\x33\x34\x2d\x61\x62\x63\x64\x32\x02\x34\x32\x38\x03\x42\x08\x08\xa0\
    \xc0\x95\xd8\x06\x10\x00\x62\x0a\x0a\x04\x6e\x6f\x74\x65\x12\x02\x68\x69\x6a\x21\x0a\x0a\
    \x44\x65\x70\x6c\x6f\x79\x6d\x65\x6e\x74\x1a\x03\x77\x65\x62\x22\x03\x75\x2d\x31\x2a\x07\
    \x61\x70\x70\x73\x2f\x76\x31\x30\x01\x72\x10\x65\x78\x61\x6d\x70\x6c\x65\x2e\x63\x6f\x6d\
    \x2f\x6b\x65\x65\x70\x8a\x01\x3d\x0a\x04\x68\x65\x6c\x6d\x12\x06\x55\x70\x64\x61\x74\x65\
    \x1a\x02\x76\x31\x22\x06\x08\xa0\xc0\x95\xd8\x06\x32\x08\x46\x69\x65\x6c\x64\x73\x56\x31\
    \x3a\x17\x0a\x15\x7b\x22\x66\x3a\x64\x61\x74\x61\x22\x3a\x7b\x22\x66\x3a\x61\x22\x3a\x7b\
    \x7d\x7d\x7d\x12\x05\x0a\x01\x62\x12\x00\x12\x06\x0a\x01\x61\x12\x01\x31\x1a\x0b\x0a\x03\
    \x62\x69\x6e\x12\x04\x00\x01\x02\xff\x20\x01\x1a\x00\x22\x00";

    /// DeleteOptions{propagationPolicy: Background} as the core/v1 client sends it.
    const PY_DELETE_OPTIONS: &[u8] = b"\
    \x6b\x38\x73\x00\x0a\x13\x0a\x02\x76\x31\x12\x0d\x44\x65\x6c\x65\x74\x65\x4f\x70\x74\x69\
    \x6f\x6e\x73\x12\x0c\x22\x0a\x42\x61\x63\x6b\x67\x72\x6f\x75\x6e\x64\x1a\x00\x22\x00";

    /// Every DeleteOptions field, in the meta.k8s.io/v1 group.
    const PY_DELETE_OPTIONS_FULL: &[u8] = b"\
    \x6b\x38\x73\x00\x0a\x1f\x0a\x0e\x6d\x65\x74\x61\x2e\x6b\x38\x73\x2e\x69\x6f\x2f\x76\x31\
    \x12\x0d\x44\x65\x6c\x65\x74\x65\x4f\x70\x74\x69\x6f\x6e\x73\x12\x1f\x08\x00\x12\x08\x0a\
    \x03\x75\x2d\x39\x12\x01\x37\x18\x00\x22\x0a\x46\x6f\x72\x65\x67\x72\x6f\x75\x6e\x64\x2a\
    \x03\x41\x6c\x6c\x1a\x00\x22\x00";

    /// 2026-11-24T10:00:00Z.
    const CREATED: i64 = 1_795_514_400;

    fn config_map() -> Msg {
        let meta = go_object_meta("cfg", "default")
            .str(5, "1234-abcd")
            .str(6, "42")
            .int64(7, 3)
            .msg(8, Msg::new().int64(1, CREATED).varint(2, 0))
            .entry(12, "note", b"hi")
            .msg(
                13,
                Msg::new()
                    .str(1, "Deployment")
                    .str(3, "web")
                    .str(4, "u-1")
                    .str(5, "apps/v1")
                    .varint(6, 1),
            )
            .str(14, "example.com/keep")
            .msg(
                17,
                Msg::new()
                    .str(1, "helm")
                    .str(2, "Update")
                    .str(3, "v1")
                    .msg(4, Msg::new().int64(1, CREATED))
                    .str(6, "FieldsV1")
                    .msg(7, Msg::new().str(1, r#"{"f:data":{"f:a":{}}}"#)),
            );
        Msg::new()
            .msg(1, meta)
            .entry(2, "b", b"")
            .entry(2, "a", b"1")
            .entry(3, "bin", b"\x00\x01\x02\xff")
            .varint(4, 1)
    }

    fn config_map_json() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "cfg",
                "namespace": "default",
                "uid": "1234-abcd",
                "resourceVersion": "42",
                "generation": 3,
                "creationTimestamp": "2026-11-24T10:00:00Z",
                "annotations": {"note": "hi"},
                "ownerReferences": [{
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "web",
                    "uid": "u-1",
                    "controller": true,
                }],
                "finalizers": ["example.com/keep"],
                "managedFields": [{
                    "manager": "helm",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": "2026-11-24T10:00:00Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:data": {"f:a": {}}},
                }],
            },
            "data": {"a": "1", "b": ""},
            "binaryData": {"bin": "AAEC/w=="},
            "immutable": true,
        })
    }

    fn decode_ok(body: &[u8]) -> Value {
        match decode(body) {
            Ok(value) => value,
            Err(err) => panic!("decode failed: {err}"),
        }
    }

    fn decode_err(body: &[u8]) -> DecodeError {
        match decode(body) {
            Ok(value) => panic!("decode unexpectedly succeeded: {value}"),
            Err(err) => err,
        }
    }

    #[test]
    fn helm_release_secret() {
        assert_eq!(
            decode_ok(&body("v1", "Secret", &helm_secret())),
            helm_secret_json()
        );
    }

    #[test]
    fn helm_release_secret_from_real_protobuf() {
        assert_eq!(decode_ok(PY_SECRET), helm_secret_json());
    }

    #[test]
    fn secret_string_data_immutable_and_empty_values() {
        let raw = Msg::new()
            .msg(1, go_object_meta("s", "ns"))
            .msg(2, Msg::new().str(1, "no-value"))
            .entry(2, "empty", b"")
            .entry(4, "plain", b"text")
            .str(3, "")
            .varint(5, 0);
        assert_eq!(
            decode_ok(&body("v1", "Secret", &raw)),
            json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s", "namespace": "ns"},
                "data": {"no-value": "", "empty": ""},
                "stringData": {"plain": "text"},
                "immutable": false,
            })
        );
    }

    #[test]
    fn empty_secret_keeps_metadata_object() {
        assert_eq!(
            decode_ok(&body("v1", "Secret", &Msg::new())),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {}})
        );
    }

    #[test]
    fn config_map_all_fields() {
        assert_eq!(
            decode_ok(&body("v1", "ConfigMap", &config_map())),
            config_map_json()
        );
    }

    #[test]
    fn config_map_from_real_protobuf() {
        assert_eq!(decode_ok(PY_CONFIGMAP), config_map_json());
    }

    #[test]
    fn delete_options_background() {
        let raw = Msg::new().str(4, "Background");
        let expected = json!({
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Background",
        });
        assert_eq!(decode_ok(&body("v1", "DeleteOptions", &raw)), expected);
        assert_eq!(decode_ok(PY_DELETE_OPTIONS), expected);
    }

    #[test]
    fn delete_options_every_field() {
        let raw = Msg::new()
            .int64(1, 0)
            .msg(2, Msg::new().str(1, "u-9").str(2, "7"))
            .varint(3, 0)
            .str(4, "Foreground")
            .str(5, "All");
        let expected = json!({
            "apiVersion": "meta.k8s.io/v1",
            "kind": "DeleteOptions",
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": "u-9", "resourceVersion": "7"},
            "orphanDependents": false,
            "propagationPolicy": "Foreground",
            "dryRun": ["All"],
        });
        assert_eq!(
            decode_ok(&body("meta.k8s.io/v1", "DeleteOptions", &raw)),
            expected
        );
        assert_eq!(decode_ok(PY_DELETE_OPTIONS_FULL), expected);
    }

    #[test]
    fn delete_options_pointer_fields_appear_when_sent() {
        let raw = Msg::new()
            .int64(1, -1)
            .msg(2, Msg::new())
            .str(4, "")
            .varint(6, 1);
        assert_eq!(
            decode_ok(&body("v1", "DeleteOptions", &raw)),
            json!({
                "apiVersion": "v1",
                "kind": "DeleteOptions",
                "gracePeriodSeconds": -1,
                "preconditions": {},
                "propagationPolicy": "",
                "ignoreStoreReadErrorWithClusterBreakingPotential": true,
            })
        );
        assert_eq!(
            decode_ok(&body("v1", "DeleteOptions", &Msg::new())),
            json!({"apiVersion": "v1", "kind": "DeleteOptions"})
        );
    }

    #[test]
    fn unknown_fields_of_every_wire_type_are_skipped() {
        let meta = go_object_meta("sh.helm.release.v1.api.v1", "")
            .junk()
            .entry(11, "name", b"api")
            .entry(11, "owner", b"helm")
            .msg(11, Msg::new().str(1, "status").junk().str(2, "deployed"))
            .entry(11, "version", b"1");
        let raw = Msg::new()
            .junk()
            .msg(1, meta)
            .entry(2, "release", RELEASE)
            .str(3, "helm.sh/release.v1")
            .junk();
        let unknown = Msg::new()
            .junk()
            .msg(1, Msg::new().str(1, "v1").junk().str(2, "Secret"))
            .bytes(2, &raw.0)
            .str(3, "")
            .str(4, "application/vnd.kubernetes.protobuf")
            .junk();
        let body = [MAGIC.as_slice(), &unknown.0].concat();
        assert_eq!(decode_ok(&body), helm_secret_json());
    }

    #[test]
    fn later_fields_win_and_embedded_messages_merge() {
        let raw = Msg::new()
            .msg(1, go_object_meta("first", "ns").entry(11, "a", b"1"))
            .msg(
                1,
                Msg::new()
                    .str(1, "second")
                    .str(3, "")
                    .int64(7, 5)
                    .entry(11, "a", b"2")
                    .entry(11, "b", b"3"),
            )
            .str(3, "Opaque");
        assert_eq!(
            decode_ok(&body("v1", "Secret", &raw)),
            json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "second", "generation": 5, "labels": {"a": "2", "b": "3"}},
                "type": "Opaque",
            })
        );
    }

    #[test]
    fn timestamps() {
        let meta = |created: Msg, deleted: Msg| {
            let raw = Msg::new().msg(1, Msg::new().msg(8, created).msg(9, deleted).int64(10, 30));
            decode_ok(&body("v1", "ConfigMap", &raw))["metadata"].clone()
        };
        // Nanos are dropped, as upstream's Time.Unmarshal drops them.
        assert_eq!(
            meta(
                Msg::new().int64(1, 951_782_400).varint(2, 999),
                Msg::new().int64(1, 0)
            ),
            json!({
                "creationTimestamp": "2000-02-29T00:00:00Z",
                "deletionTimestamp": "1970-01-01T00:00:00Z",
                "deletionGracePeriodSeconds": 30,
            })
        );
        // Go's zero time, written either way, is left out.
        assert_eq!(
            meta(Msg::new().int64(1, ZERO_TIME_SECONDS), Msg::new()),
            json!({"deletionGracePeriodSeconds": 30})
        );
        assert_eq!(
            meta(
                Msg::new().int64(1, -1),
                Msg::new().int64(1, MAX_TIME_SECONDS)
            ),
            json!({
                "creationTimestamp": "1969-12-31T23:59:59Z",
                "deletionTimestamp": "9999-12-31T23:59:59Z",
                "deletionGracePeriodSeconds": 30,
            })
        );
        assert_eq!(
            format_rfc3339(ZERO_TIME_SECONDS + 86_400 + 3_661).as_deref(),
            Some("0001-01-02T01:01:01Z")
        );
        assert_eq!(
            format_rfc3339(CREATED).as_deref(),
            Some("2026-11-24T10:00:00Z")
        );
        assert_eq!(format_rfc3339(MAX_TIME_SECONDS + 1), None);
        assert_eq!(format_rfc3339(ZERO_TIME_SECONDS - 1), None);

        let raw = Msg::new().msg(1, Msg::new().msg(8, Msg::new().int64(1, i64::MAX)));
        let err = decode_err(&body("v1", "ConfigMap", &raw));
        assert!(err.to_string().contains("creationTimestamp"), "{err}");
    }

    #[test]
    fn invalid_utf8_becomes_replacement_character() {
        let raw = Msg::new().msg(
            1,
            Msg::new().bytes(1, b"bad\xffname").entry(11, "k", b"v\xc3"),
        );
        assert_eq!(
            decode_ok(&body("v1", "ConfigMap", &raw))["metadata"],
            json!({"name": "bad\u{fffd}name", "labels": {"k": "v\u{fffd}"}})
        );
    }

    #[test]
    fn bad_fields_v1_json_is_an_error() {
        let entry = Msg::new().msg(7, Msg::new().str(1, "{not json"));
        let raw = Msg::new().msg(1, Msg::new().msg(17, entry));
        let err = decode_err(&body("v1", "ConfigMap", &raw));
        assert!(matches!(err, DecodeError::Malformed(_)), "{err:?}");
        assert!(err.to_string().contains("fieldsV1"), "{err}");
    }

    #[test]
    fn wrong_magic() {
        for bad in [
            &b""[..],
            b"k8s",
            b"k8s\x01\x0a\x00",
            b"{\"apiVersion\":\"v1\"}",
            &PY_SECRET[1..],
        ] {
            assert_eq!(decode_err(bad), DecodeError::BadMagic);
        }
        assert!(decode_err(b"K8S\0").to_string().contains("magic"));
        assert_eq!(decode_err(b"k8s\0"), DecodeError::EmptyBody);
    }

    #[test]
    fn truncated_varint() {
        // The envelope's first key is fine, its length varint stops mid-way.
        let err = decode_err(b"k8s\0\x0a\x80");
        assert!(matches!(err, DecodeError::Malformed(_)), "{err:?}");
        assert!(err.to_string().contains("truncated varint"), "{err}");
        assert!(err.to_string().contains("runtime.Unknown"), "{err}");

        // Deep inside: ObjectMeta.generation's varint runs off the end of its message.
        let mut meta = Msg::new().str(1, "x").key(7, 0);
        meta.0.push(0xff);
        let err = decode_err(&body("v1", "Secret", &Msg::new().msg(1, meta)));
        assert!(
            err.to_string().contains("truncated varint in ObjectMeta"),
            "{err}"
        );

        // A varint of 11 bytes.
        let mut body = b"k8s\0\x08".to_vec();
        body.extend_from_slice(&[0xff; 11]);
        assert!(
            decode_err(&body)
                .to_string()
                .contains("longer than 10 bytes")
        );
    }

    #[test]
    fn truncated_bytes_and_other_wire_errors() {
        let full = body("v1", "Secret", &helm_secret());
        for cut in [5, 10, 20, full.len() - 1] {
            let err = decode_err(&full[..cut]);
            assert!(
                matches!(err, DecodeError::Malformed(_)),
                "cut at {cut}: {err:?}"
            );
        }
        // The envelope is whole but the Secret in it lost its last byte: the type string.
        let mut raw = helm_secret();
        raw.0.pop();
        let err = decode_err(&body("v1", "Secret", &raw));
        assert!(
            err.to_string()
                .contains("truncated field 3: 18 bytes announced, 17 left in Secret"),
            "{err}"
        );

        // Known field, wrong wire type.
        let raw = Msg::new().varint(3, 7);
        let err = decode_err(&body("v1", "Secret", &raw));
        assert!(
            err.to_string()
                .contains("field 3 of Secret has wire type varint (0), expected length-delimited"),
            "{err}"
        );

        // Field number 0, stray end-group, wire types 6 and 7, unterminated group.
        for raw in [
            Msg::new().key(0, 0).raw_varint(1),
            Msg::new().key(9, 4),
            Msg::new().key(9, 6),
            Msg::new().key(9, 7),
            Msg::new().key(9, 3).varint(1, 1),
            Msg::new().key(9, 3).key(1, 7),
        ] {
            let err = decode_err(&body("v1", "ConfigMap", &raw));
            assert!(matches!(err, DecodeError::Malformed(_)), "{err:?}");
        }
    }

    #[test]
    fn unsupported_kind() {
        let err = decode_err(&body("apps/v1", "Deployment", &Msg::new()));
        assert_eq!(
            err,
            DecodeError::UnsupportedKind {
                api_version: "apps/v1".into(),
                kind: "Deployment".into()
            }
        );
        assert!(
            err.to_string()
                .contains("unsupported kind \"apps/v1/Deployment\""),
            "{err}"
        );

        for (api_version, kind) in [
            ("v1", "Pod"),
            ("v2", "Secret"),
            ("meta.k8s.io/v1", "Secret"),
            ("apps/v1", "DeleteOptions"),
            ("", ""),
        ] {
            assert!(matches!(
                decode_err(&body(api_version, kind, &Msg::new())),
                DecodeError::UnsupportedKind { .. }
            ));
        }
    }

    #[test]
    fn damaged_bodies_never_panic() {
        for vector in [
            PY_SECRET,
            PY_CONFIGMAP,
            PY_DELETE_OPTIONS,
            PY_DELETE_OPTIONS_FULL,
        ] {
            for cut in 0..vector.len() {
                let _ = decode(&vector[..cut]);
            }
            for at in MAGIC.len()..vector.len() {
                for flip in [0x01, 0x07, 0x80, 0xff] {
                    let mut damaged = vector.to_vec();
                    damaged[at] ^= flip;
                    let _ = decode(&damaged);
                }
            }
        }
    }

    #[test]
    fn error_is_a_std_error() {
        let err: Box<dyn std::error::Error> = Box::new(DecodeError::BadMagic);
        assert!(err.to_string().contains("k8s\\0"));
        assert_eq!(MEDIA_TYPE, "application/vnd.kubernetes.protobuf");
    }
}
