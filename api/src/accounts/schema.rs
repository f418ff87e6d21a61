//! The request bodies as the OpenAPI document describes them (see `crate::users::schema`).
#![allow(dead_code)] // read by the OpenAPI generator and `read_as`, never constructed

use salvo::oapi::ToSchema;
use serde::Deserialize;

/// Opening an account.
#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"name": "Savings", "currency": "EUR"})))]
pub struct NewAccountRequest {
    /// 1-100 characters, no control characters.
    #[salvo(schema(min_length = 1, max_length = 100))]
    name: String,
    /// An ISO 4217 code among the offered ones (`CURRENCIES`; by default EUR, USD, GBP).
    #[salvo(schema(min_length = 3, max_length = 3, pattern = r"^[A-Za-z]{3}$"))]
    currency: String,
}
