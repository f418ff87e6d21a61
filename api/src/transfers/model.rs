//! Money movements: deposits, withdrawals and transfers, parsed once from requests, and
//! the records clients get back (a movement, a statement's entries).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ApiError;
use crate::http::json_body::{Field, JsonObject, incomplete, plain_text, string};

/// A positive amount in the currency's minor unit (cents for EUR), as a JSON integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(i64);

impl Amount {
    /// 10^15 minor units (10 trillion EUR) per movement: balances, 64-bit, cannot
    /// overflow in any realistic sum of such movements.
    pub const MAX: i64 = 1_000_000_000_000_000;

    pub fn parse(value: &Value) -> Result<Self, String> {
        let Some(amount) = value.as_i64() else {
            return Err(match value {
                Value::Number(_) => format!(
                    "expected a whole number of the currency's minor unit (1050 for 10.50 EUR), got {value}"
                ),
                _ => "expected an integer count of the currency's minor unit (1050 for 10.50 EUR)"
                    .into(),
            });
        };
        if (1..=Self::MAX).contains(&amount) {
            Ok(Self(amount))
        } else {
            Err(format!("must be from 1 to {}, got {amount}", Self::MAX))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// What the movement is for, as the statement shows it: trimmed, at most 140
/// characters, no control characters; blank means none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        Ok(plain_text(raw, 140)?.map(|text| Self(text.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// Money from outside the bank into an account.
    Deposit,
    /// Money out of an account to outside the bank.
    Withdrawal,
    /// Money from one account to another of the same currency.
    Transfer,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deposit => "deposit",
            Self::Withdrawal => "withdrawal",
            Self::Transfer => "transfer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Deposit, Self::Withdrawal, Self::Transfer]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// A valid request to move money. `from` is `None` for a deposit (the money comes from
/// outside), `to` is `None` for a withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementRequest {
    pub kind: MovementKind,
    pub from: Option<Uuid>,
    pub to: Option<Uuid>,
    pub amount: Amount,
    pub description: Option<Description>,
}

/// An account id in a body field.
fn account_id(text: &str) -> Result<Uuid, String> {
    Uuid::parse_str(text.trim())
        .map_err(|_| format!("{text:?} is not an account id; ids are UUIDs"))
}

impl MovementRequest {
    /// `POST /accounts/{account}/deposits` or `/withdrawals`: `amount`, `description`.
    pub fn parse_on_account(
        kind: MovementKind,
        account: Uuid,
        mut body: JsonObject,
    ) -> Result<Self, ApiError> {
        let amount = body.required("amount", Amount::parse);
        let description = description(&mut body);
        body.finish()?;
        let amount = amount.ok_or_else(|| incomplete("amount"))?;
        let (from, to) = match kind {
            MovementKind::Deposit => (None, Some(account)),
            _ => (Some(account), None),
        };
        Ok(Self {
            kind,
            from,
            to,
            amount,
            description,
        })
    }

    /// `POST /transfers`: `from_account_id`, `to_account_id`, `amount`, `description`.
    pub fn parse_transfer(mut body: JsonObject) -> Result<Self, ApiError> {
        let from = body.required("from_account_id", string(account_id));
        let to = body.required("to_account_id", string(account_id));
        let amount = body.required("amount", Amount::parse);
        let description = description(&mut body);
        if let (Some(from), Some(to)) = (from, to)
            && from == to
        {
            body.reject("to_account_id", "must differ from from_account_id");
        }
        body.finish()?;
        match (from, to, amount) {
            (Some(from), Some(to), Some(amount)) => Ok(Self {
                kind: MovementKind::Transfer,
                from: Some(from),
                to: Some(to),
                amount,
                description,
            }),
            _ => Err(incomplete("transfer")),
        }
    }

    /// What makes two requests the same for an `Idempotency-Key`: the parsed request, so
    /// spacing or key order in the JSON does not matter, but any value does.
    pub fn fingerprint(&self) -> Vec<u8> {
        let text = format!(
            "{}\n{}\n{}\n{}\n{}",
            self.kind.as_str(),
            self.from.map(|id| id.to_string()).unwrap_or_default(),
            self.to.map(|id| id.to_string()).unwrap_or_default(),
            self.amount.get(),
            self.description
                .as_ref()
                .map(Description::as_str)
                .unwrap_or_default(),
        );
        Sha256::digest(text.as_bytes()).to_vec()
    }
}

fn description(body: &mut JsonObject) -> Option<Description> {
    match body.optional("description", string(Description::parse)) {
        Field::Value(description) => description,
        _ => None,
    }
}

/// A completed movement. Accounts outside the bank are `null`: `from_account_id` of a
/// deposit, `to_account_id` of a withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, salvo::oapi::ToSchema)]
#[salvo(schema(example = json!({"id": "0d6a2c1e-7f43-4b8e-9a51-3c2b1d0e9f87", "kind": "transfer", "amount": 2500, "currency": "EUR", "from_account_id": "6f1c8a52-3b0e-4d5e-9f57-0c1d2e3f4a5b", "to_account_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "description": "Rent", "balance_after": 7500, "created_at": "2026-11-25T10:00:00Z"})))]
pub struct Movement {
    pub id: Uuid,
    pub kind: MovementKind,
    /// In the currency's minor unit; always positive.
    pub amount: i64,
    pub currency: String,
    pub from_account_id: Option<Uuid>,
    pub to_account_id: Option<Uuid>,
    pub description: Option<String>,
    /// The balance, right after this movement, of the account the request named in its
    /// path (deposits, withdrawals) or in `from_account_id` (transfers).
    pub balance_after: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// One line of an account's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, salvo::oapi::ToSchema)]
#[salvo(schema(example = json!({"id": 1042, "movement_id": "0d6a2c1e-7f43-4b8e-9a51-3c2b1d0e9f87", "kind": "transfer", "amount": -2500, "balance_after": 7500, "counterparty_account_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "description": "Rent", "created_at": "2026-11-25T10:00:00Z"})))]
pub struct Entry {
    /// Increases with every entry: the statement's order and its `after` position.
    pub id: i64,
    pub movement_id: Uuid,
    pub kind: MovementKind,
    /// Signed, in the currency's minor unit: positive credits the account, negative debits it.
    pub amount: i64,
    pub balance_after: i64,
    /// The other account of a transfer; `null` for deposits and withdrawals.
    pub counterparty_account_id: Option<Uuid>,
    pub description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRANSFER_FIELDS: &[&str] = &["from_account_id", "to_account_id", "amount", "description"];

    fn transfer(json: &str) -> Result<MovementRequest, ApiError> {
        MovementRequest::parse_transfer(
            JsonObject::parse(json.as_bytes(), TRANSFER_FIELDS).unwrap(),
        )
    }

    #[test]
    fn amounts_are_positive_whole_minor_units() {
        use serde_json::json;
        assert_eq!(Amount::parse(&json!(1050)).map(Amount::get), Ok(1050));
        for bad in [
            json!(0),
            json!(-5),
            json!(10.5),
            json!(1e3),
            json!("10"),
            json!(Amount::MAX + 1),
        ] {
            assert!(Amount::parse(&bad).is_err(), "{bad} was accepted");
        }
        assert!(
            Amount::parse(&json!(10.5))
                .unwrap_err()
                .contains("whole number")
        );
    }

    #[test]
    fn a_transfer_needs_two_different_accounts_and_an_amount() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        let ok = transfer(&format!(
            r#"{{"from_account_id": "{a}", "to_account_id": "{b}", "amount": 5, "description": "  "}}"#
        ))
        .unwrap();
        assert_eq!(
            (ok.from, ok.to, ok.amount.get(), ok.description),
            (Some(a), Some(b), 5, None)
        );
        let same = transfer(&format!(
            r#"{{"from_account_id": "{a}", "to_account_id": "{a}", "amount": 5}}"#
        ));
        assert_eq!(same.unwrap_err().invalid_fields(), ["to_account_id"]);
        let bad = transfer(r#"{"from_account_id": "x", "amount": 1.5, "description": 3}"#);
        assert_eq!(
            bad.unwrap_err().invalid_fields(),
            ["from_account_id", "to_account_id", "amount", "description"]
        );
    }

    #[test]
    fn the_fingerprint_changes_with_any_value_but_not_with_spelling() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        let one = transfer(&format!(
            r#"{{"from_account_id": "{a}", "to_account_id": "{b}", "amount": 5}}"#
        ))
        .unwrap();
        let respelled = transfer(&format!(
            r#"{{ "amount":5, "to_account_id":" {b}", "from_account_id":"{a}", "description": "" }}"#
        ))
        .unwrap();
        assert_eq!(one.fingerprint(), respelled.fingerprint());
        let more = MovementRequest {
            amount: Amount(6),
            ..one.clone()
        };
        assert_ne!(one.fingerprint(), more.fingerprint());
        let deposit = MovementRequest {
            kind: MovementKind::Deposit,
            ..one.clone()
        };
        assert_ne!(one.fingerprint(), deposit.fingerprint());
    }
}
