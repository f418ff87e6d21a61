//! The request bodies as the OpenAPI document describes them. Bodies are parsed by
//! `model` (which reports every bad field at once); these types only document the shape.
#![allow(dead_code)] // read by the OpenAPI generator, never constructed

use salvo::oapi::ToSchema;
use serde::Deserialize;

/// Sign-up.
#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"email": "ada@example.com", "username": "ada", "full_name": "Ada Lovelace", "password": "correct horse battery"})))]
pub struct NewUserRequest {
    /// Unique regardless of case; at most 254 characters.
    email: String,
    /// 3-50 letters, digits, `_`, `.` or `-`; unique regardless of case.
    username: String,
    /// At most 255 characters; blank means none.
    full_name: Option<String>,
    /// 8-128 characters. Stored only as an argon2id hash.
    password: String,
}

/// `PATCH`: any of the fields, at least one.
#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"full_name": "Ada King"})))]
pub struct UserPatchRequest {
    /// A name, or `null` to clear it.
    full_name: Option<String>,
    is_active: Option<bool>,
}

/// `PUT`: both fields; `full_name` may be `null`.
#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"full_name": null, "is_active": false})))]
pub struct UserReplaceRequest {
    full_name: Option<String>,
    is_active: bool,
}

/// A user's own profile.
#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"full_name": "Ada King"})))]
pub struct ProfileRequest {
    full_name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"old_password": "correct horse battery", "new_password": "a longer better passphrase"})))]
pub struct PasswordChangeRequest {
    old_password: String,
    /// 8-128 characters.
    new_password: String,
}

/// Exactly one of `username` or `email`, and the password.
#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"username": "ada", "password": "correct horse battery"})))]
pub struct LoginRequest {
    username: Option<String>,
    email: Option<String>,
    password: String,
}
