//! The event each movement leaves in the outbox, and `api worker` publishes: everything a
//! consumer needs to tell each side's owner, without reading the ledger.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::ledger::{Plan, Posting};
use super::model::{Movement, MovementKind};
use crate::accounts::currency::Currency;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEvent {
    pub event_id: Uuid,
    /// The routing key it is published under, such as `ledger.transfer.completed`.
    #[serde(rename = "type")]
    pub event_type: String,
    pub movement_id: Uuid,
    pub kind: MovementKind,
    /// In the currency's minor unit; always positive.
    pub amount: i64,
    pub currency: String,
    pub currency_exponent: u8,
    pub description: Option<String>,
    /// The account money left; `None` for a deposit.
    pub from: Option<EventSide>,
    /// The account money arrived in; `None` for a withdrawal.
    pub to: Option<EventSide>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSide {
    pub account_id: Uuid,
    pub account_name: String,
    pub owner_id: Uuid,
    pub balance_after: i64,
}

impl From<&Posting> for EventSide {
    fn from(posting: &Posting) -> Self {
        Self {
            account_id: posting.account,
            account_name: posting.name.clone(),
            owner_id: posting.owner,
            balance_after: posting.balance_after,
        }
    }
}

/// The routing key of a movement's event on the events exchange.
pub fn routing_key(kind: MovementKind) -> &'static str {
    match kind {
        MovementKind::Deposit => "ledger.deposit.completed",
        MovementKind::Withdrawal => "ledger.withdrawal.completed",
        MovementKind::Transfer => "ledger.transfer.completed",
    }
}

impl LedgerEvent {
    pub fn of(event_id: Uuid, movement: &Movement, plan: &Plan) -> Self {
        Self {
            event_id,
            event_type: routing_key(movement.kind).to_owned(),
            movement_id: movement.id,
            kind: movement.kind,
            amount: movement.amount,
            currency: movement.currency.clone(),
            currency_exponent: Currency::from_code(&movement.currency)
                .map_or(2, Currency::exponent),
            description: movement.description.clone(),
            from: plan.debit.as_ref().map(EventSide::from),
            to: plan.credit.as_ref().map(EventSide::from),
            created_at: movement.created_at,
        }
    }
}
