//! Account domain types, parsed once from requests.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::currency::{Currencies, Currency};
use crate::error::ApiError;
use crate::http::json_body::{JsonObject, incomplete, plain_text, string};

/// An account as its owner sees it. `balance` counts the currency's minor unit
/// (`currency_exponent` decimals: 1050 EUR minor units are 10.50 EUR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, salvo::oapi::ToSchema)]
#[salvo(schema(example = json!({"id": "6f1c8a52-3b0e-4d5e-9f57-0c1d2e3f4a5b", "owner_id": "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b", "name": "Savings", "currency": "EUR", "currency_exponent": 2, "balance": 1050, "status": "open", "created_at": "2026-11-25T10:00:00Z", "closed_at": null})))]
pub struct Account {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Decimals of the currency's minor unit (2 for EUR, 0 for JPY).
    pub currency_exponent: u8,
    /// In the currency's minor unit (an integer, never negative).
    pub balance: i64,
    pub status: AccountStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Open,
    Closed,
}

impl Account {
    /// From stored columns; `currency` is any code the database holds (a currency taken
    /// off `CURRENCIES` later still shows, with ISO's exponent).
    pub fn from_columns(
        id: Uuid,
        owner_id: Uuid,
        name: String,
        currency: String,
        balance: i64,
        created_at: OffsetDateTime,
        closed_at: Option<OffsetDateTime>,
    ) -> Self {
        let currency_exponent = Currency::from_code(&currency).map_or(2, Currency::exponent);
        Self {
            id,
            owner_id,
            name,
            currency,
            currency_exponent,
            balance,
            status: if closed_at.is_some() {
                AccountStatus::Closed
            } else {
                AccountStatus::Open
            },
            created_at,
            closed_at,
        }
    }
}

/// 1 to 100 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountName(String);

impl AccountName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = plain_text(raw, 100)?.ok_or("must not be blank")?;
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid request to open an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub name: AccountName,
    pub currency: Currency,
}

impl NewAccount {
    pub fn parse(mut body: JsonObject, offered: &Currencies) -> Result<Self, ApiError> {
        let name = body.required("name", string(AccountName::parse));
        let currency = body.required("currency", string(|code| offered.find(code)));
        body.finish()?;
        match (name, currency) {
            (Some(name), Some(currency)) => Ok(Self { name, currency }),
            _ => Err(incomplete("new account")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<NewAccount, ApiError> {
        NewAccount::parse(
            JsonObject::parse(json.as_bytes(), &["name", "currency"]).unwrap(),
            &Currencies::parse("EUR,JPY").unwrap(),
        )
    }

    #[test]
    fn an_account_needs_a_name_and_an_offered_currency() {
        let account = parse(r#"{"name": " Savings ", "currency": "jpy"}"#).unwrap();
        assert_eq!(account.name.as_str(), "Savings");
        assert_eq!(account.currency.code(), "JPY");
        assert_eq!(
            parse(r#"{"name": "", "currency": "USD"}"#)
                .unwrap_err()
                .invalid_fields(),
            ["name", "currency"]
        );
        assert_eq!(
            parse(r#"{"name": "a\u0007"}"#)
                .unwrap_err()
                .invalid_fields(),
            ["name", "currency"]
        );
        assert_eq!(
            parse(r#"{"name": "x", "currency": 978}"#)
                .unwrap_err()
                .invalid_fields(),
            ["currency"]
        );
    }

    #[test]
    fn the_exponent_follows_the_stored_currency() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let account = Account::from_columns(
            Uuid::nil(),
            Uuid::nil(),
            "a".into(),
            "KWD".into(),
            5,
            now,
            Some(now),
        );
        assert_eq!(account.currency_exponent, 3);
        assert_eq!(account.status, AccountStatus::Closed);
    }
}
