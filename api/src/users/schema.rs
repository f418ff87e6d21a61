//! The request bodies as the OpenAPI document describes them: their properties are the
//! fields the parser accepts (`JsonObject::read_as`), and their constraints are the ones
//! `model` enforces (a test holds the two together). `model` parses, reporting every bad
//! field at once, which serde cannot.
#![allow(dead_code)] // read by the OpenAPI generator and `read_as`, never constructed

use salvo::oapi::ToSchema;
use serde::Deserialize;

/// Sign-up.
#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"email": "ada@example.com", "username": "ada", "full_name": "Ada Lovelace", "password": "correct horse battery"})))]
pub struct NewUserRequest {
    /// Unique regardless of case; at most 254 characters.
    #[salvo(schema(max_length = 254, format = Email))]
    email: String,
    /// 3-50 letters, digits, `_`, `.` or `-`; unique regardless of case.
    #[salvo(schema(min_length = 3, max_length = 50, pattern = r"^[A-Za-z0-9_.-]{3,50}$"))]
    username: String,
    /// At most 255 characters, no control characters; blank means none.
    #[salvo(schema(max_length = 255))]
    full_name: Option<String>,
    /// 8-128 characters (counted in Unicode NFKC). Stored only as an argon2id hash.
    #[salvo(schema(min_length = 8, max_length = 128, format = Password))]
    password: String,
}

/// `PATCH`: any of the fields, at least one.
#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"full_name": "Ada King"})))]
pub struct UserPatchRequest {
    /// A name (at most 255 characters), or `null` to clear it.
    #[salvo(schema(max_length = 255))]
    full_name: Option<String>,
    is_active: Option<bool>,
}

/// `PUT`: both fields; `full_name` may be `null`.
#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"full_name": null, "is_active": false})))]
pub struct UserReplaceRequest {
    #[salvo(schema(max_length = 255))]
    full_name: Option<String>,
    is_active: bool,
}

/// A user's own profile.
#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"full_name": "Ada King"})))]
pub struct ProfileRequest {
    #[salvo(schema(max_length = 255))]
    full_name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"old_password": "correct horse battery", "new_password": "a longer better passphrase"})))]
pub struct PasswordChangeRequest {
    #[salvo(schema(format = Password))]
    old_password: String,
    /// 8-128 characters (counted in Unicode NFKC).
    #[salvo(schema(min_length = 8, max_length = 128, format = Password))]
    new_password: String,
}

/// Exactly one of `username` or `email`, and the password.
#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"username": "ada", "password": "correct horse battery"})))]
pub struct LoginRequest {
    #[salvo(schema(max_length = 254))]
    username: Option<String>,
    #[salvo(schema(max_length = 254))]
    email: Option<String>,
    #[salvo(schema(format = Password))]
    password: String,
}
