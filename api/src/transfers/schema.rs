//! The request bodies as the OpenAPI document describes them (see `crate::users::schema`).
#![allow(dead_code)] // read by the OpenAPI generator and `read_as`, never constructed

use salvo::oapi::ToSchema;
use serde::Deserialize;

/// A deposit into, or a withdrawal from, the account in the path.
#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"amount": 10000, "description": "Salary"})))]
pub struct AccountMovementRequest {
    /// In the account currency's minor unit (10000 is 100.00 EUR): a whole number from 1
    /// to 10^15, never a decimal.
    #[salvo(schema(minimum = 1, maximum = 1_000_000_000_000_000_i64, format = Int64))]
    amount: i64,
    /// At most 140 characters; shown on the statement.
    #[salvo(schema(max_length = 140))]
    description: Option<String>,
}

/// A transfer between two accounts of the same currency.
#[derive(Deserialize, ToSchema)]
#[salvo(schema(example = json!({"from_account_id": "6f1c8a52-3b0e-4d5e-9f57-0c1d2e3f4a5b", "to_account_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "amount": 2500, "description": "Rent"})))]
pub struct TransferRequest {
    /// An account of the caller's (any account, for administrators).
    from_account_id: uuid::Uuid,
    /// Any open account in the same currency.
    to_account_id: uuid::Uuid,
    /// In the currency's minor unit (2500 is 25.00 EUR): a whole number from 1 to 10^15.
    #[salvo(schema(minimum = 1, maximum = 1_000_000_000_000_000_i64, format = Int64))]
    amount: i64,
    /// At most 140 characters; shown on both statements.
    #[salvo(schema(max_length = 140))]
    description: Option<String>,
}
