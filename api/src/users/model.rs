//! User domain types. Input is parsed once into these types ("parse, don't validate"):
//! a `NewUser` or `UserChanges` that exists is valid.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::http::json_body::{Field, JsonObject, boolean, plain_text, string};

/// A user as clients see it. There is no password field, hashed or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, salvo::oapi::ToSchema)]
#[salvo(schema(example = json!({"id": "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b", "email": "ada@example.com", "username": "ada", "full_name": "Ada Lovelace", "is_active": true, "is_verified": false, "is_admin": false, "created_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T10:00:00Z"})))]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub full_name: Option<String>,
    pub is_active: bool,
    pub is_verified: bool,
    pub is_admin: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// An email address, trimmed, in Unicode NFC (so a composed and a decomposed spelling are
/// one address), in the case the user typed (uniqueness ignores case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        use unicode_normalization::UnicodeNormalization;
        let email: String = raw.trim().nfc().collect();
        let email = email.as_str();
        let invalid = || format!("{email:?} is not a valid email address");
        if email.chars().count() > 254 {
            return Err("must be at most 254 characters".into());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let local_ok = (1..=64).contains(&local.len())
            && !local.contains('@')
            && local.chars().all(|c| !c.is_whitespace() && !c.is_control());
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                (1..=63).contains(&label.len())
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Self(email.to_owned()))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 3 to 50 letters, digits, `_`, `.` or `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if !(3..=50).contains(&raw.len()) {
            return Err("must be 3 to 50 characters long".into());
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err("may contain only letters, digits, '_', '.' and '-'".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: trimmed, at most 255 characters, no control characters. Blank means none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName(String);

impl FullName {
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        Ok(plain_text(raw, 255)?.map(|name| Self(name.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A plaintext password on its way to the hasher. Its `Debug` never shows it, so it
/// cannot leak through a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// In NFKC (NIST SP 800-63B), so the same password typed on another keyboard or
    /// system, composed or decomposed, is the same password.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let normal = normalize_password(raw);
        if !(8..=128).contains(&normal.chars().count()) {
            return Err("must be 8 to 128 characters long".into());
        }
        Ok(Self(normal))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

pub fn normalize_password(raw: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    raw.nfkc().collect()
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A valid sign-up request.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub username: Username,
    pub full_name: Option<FullName>,
    pub password: Password,
}

/// A password change: the current password, and a valid new one.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub old_password: String,
    pub new_password: Password,
}

impl PasswordChange {
    pub fn parse(mut body: JsonObject) -> Result<Self, ApiError> {
        let old_password = body.required("old_password", string(|s| Ok(s.to_owned())));
        let new_password = body.required("new_password", string(Password::parse));
        body.finish()?;
        match (old_password, new_password) {
            (Some(old_password), Some(new_password)) => Ok(Self {
                old_password,
                new_password,
            }),
            _ => Err(ApiError::Validation(vec![FieldError::new(
                "body",
                "incomplete password change",
            )])),
        }
    }
}

impl NewUser {
    pub fn parse(mut body: JsonObject) -> Result<Self, ApiError> {
        let email = body.required("email", string(Email::parse));
        let username = body.required("username", string(Username::parse));
        let full_name = body.optional("full_name", string(FullName::parse));
        let password = body.required("password", string(Password::parse));
        body.finish()?;
        match (email, username, password) {
            (Some(email), Some(username), Some(password)) => Ok(Self {
                email,
                username,
                full_name: match full_name {
                    Field::Value(name) => name,
                    _ => None,
                },
                password,
            }),
            _ => Err(ApiError::Validation(vec![FieldError::new(
                "body",
                "incomplete user",
            )])),
        }
    }
}

/// The fields an update may change. `None` leaves a field as it is; for `full_name`,
/// `Some(None)` clears it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserChanges {
    pub full_name: Option<Option<FullName>>,
    pub is_active: Option<bool>,
}

impl UserChanges {
    /// `PATCH`: any subset of the fields, at least one.
    pub fn parse_patch(mut body: JsonObject) -> Result<Self, ApiError> {
        let full_name = body.optional("full_name", string(FullName::parse));
        let is_active = body.optional("is_active", boolean);
        if full_name == Field::Absent && is_active == Field::Absent {
            body.reject(
                "body",
                format!(
                    "set at least one of: {}",
                    crate::http::json_body::fields_of::<super::schema::UserPatchRequest>()
                        .join(", ")
                ),
            );
        }
        if is_active == Field::Null {
            body.reject("is_active", "expected true or false, got null");
        }
        body.finish()?;
        Ok(Self {
            full_name: match full_name {
                Field::Value(name) => Some(name),
                Field::Null => Some(None),
                Field::Absent | Field::Invalid => None,
            },
            is_active: match is_active {
                Field::Value(active) => Some(active),
                _ => None,
            },
        })
    }

    /// `PATCH /users/me`: a user's own profile, `full_name` only.
    pub fn parse_profile(mut body: JsonObject) -> Result<Self, ApiError> {
        let full_name = body.optional("full_name", string(FullName::parse));
        if full_name == Field::Absent {
            body.reject("full_name", "is required (use null to clear it)");
        }
        body.finish()?;
        Ok(Self {
            full_name: match full_name {
                Field::Value(name) => Some(name),
                _ => Some(None),
            },
            is_active: None,
        })
    }

    /// `PUT`: the whole updatable representation; `full_name` may be null, not absent.
    pub fn parse_put(mut body: JsonObject) -> Result<Self, ApiError> {
        let full_name = body.optional("full_name", string(FullName::parse));
        let is_active = body.required("is_active", boolean);
        if full_name == Field::Absent {
            body.reject(
                "full_name",
                "is required for PUT (use null to clear it, or PATCH)",
            );
        }
        body.finish()?;
        Ok(Self {
            full_name: Some(match full_name {
                Field::Value(name) => name,
                _ => None,
            }),
            is_active,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::json_body::fields_of;
    use crate::users::schema::{NewUserRequest, UserPatchRequest};

    fn body(json: &str, allowed: &[&str]) -> JsonObject {
        JsonObject::parse(json.as_bytes(), allowed).unwrap()
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", " Ann.Lee+tag@Example.COM ", "x@sub.domain-1.org"] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Email::parse(" a@b.co ").unwrap().as_str(), "a@b.co");
        for bad in [
            "",
            "plain",
            "a@b",
            "a@@b.co",
            "a b@c.de",
            "@b.co",
            "a@-b.co",
            "a@b..co",
            "a@b.co@d.ef",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@b.co", "a".repeat(65))).is_err());
    }

    #[test]
    fn usernames() {
        for ok in ["abc", "a.b-c_d", &"x".repeat(50)] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", &"x".repeat(51), "with space", "émile", "semi;colon"] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn full_names_and_passwords() {
        assert_eq!(
            FullName::parse("  Ada Lovelace ")
                .unwrap()
                .unwrap()
                .as_str(),
            "Ada Lovelace"
        );
        assert_eq!(FullName::parse("   ").unwrap(), None);
        assert!(FullName::parse(&"é".repeat(255)).is_ok());
        assert!(FullName::parse(&"é".repeat(256)).is_err());
        assert!(FullName::parse("tab\there").is_err());
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"p".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("hunter22").unwrap()),
            "Password(<redacted>)"
        );
    }

    #[test]
    fn a_new_user_lists_every_bad_field() {
        let err = NewUser::parse(body(
            r#"{"email": "nope", "username": "x", "password": "short", "full_name": 3}"#,
            fields_of::<NewUserRequest>(),
        ))
        .unwrap_err();
        assert_eq!(
            err.invalid_fields(),
            ["email", "username", "full_name", "password"]
        );
        let err = NewUser::parse(body("{}", fields_of::<NewUserRequest>())).unwrap_err();
        assert_eq!(err.invalid_fields(), ["email", "username", "password"]);
    }

    #[test]
    fn patch_needs_a_field_and_distinguishes_clearing_from_keeping() {
        let err =
            UserChanges::parse_patch(body("{}", fields_of::<UserPatchRequest>())).unwrap_err();
        assert_eq!(err.invalid_fields(), ["body"]);
        let clear = UserChanges::parse_patch(body(
            r#"{"full_name": null}"#,
            fields_of::<UserPatchRequest>(),
        ))
        .unwrap();
        assert_eq!(clear.full_name, Some(None));
        assert_eq!(clear.is_active, None);
        let err = UserChanges::parse_patch(body(
            r#"{"is_active": null}"#,
            fields_of::<UserPatchRequest>(),
        ))
        .unwrap_err();
        assert_eq!(err.invalid_fields(), ["is_active"]);
    }

    #[test]
    fn put_requires_the_whole_representation() {
        let err = UserChanges::parse_put(body("{}", fields_of::<UserPatchRequest>())).unwrap_err();
        assert_eq!(err.invalid_fields(), ["is_active", "full_name"]);
        let put = UserChanges::parse_put(body(
            r#"{"full_name": null, "is_active": false}"#,
            fields_of::<UserPatchRequest>(),
        ))
        .unwrap();
        assert_eq!(
            put,
            UserChanges {
                full_name: Some(None),
                is_active: Some(false)
            }
        );
    }
}
