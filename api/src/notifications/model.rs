//! What a ledger event tells each user it concerns.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::transfers::event::LedgerEvent;
use crate::transfers::model::MovementKind;

/// A notification as its user reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, salvo::oapi::ToSchema)]
#[salvo(schema(example = json!({"id": 17, "kind": "transfer_received", "message": "Received 25.00 EUR in Savings: Rent. Balance: 75.00 EUR.", "data": {"movement_id": "0d6a2c1e-7f43-4b8e-9a51-3c2b1d0e9f87", "account_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "amount": 2500, "currency": "EUR", "currency_exponent": 2, "balance_after": 7500}, "created_at": "2026-11-25T10:00:01Z", "read_at": null})))]
pub struct Notification {
    pub id: i64,
    /// `deposit`, `withdrawal`, `transfer_sent`, `transfer_received` or `transfer_moved`
    /// (between two accounts of the same user).
    pub kind: String,
    pub message: String,
    /// The movement, the account, the amount (signed, in minor units: negative when
    /// money left the account), the currency and the balance after.
    #[salvo(schema(value_type = Object))]
    pub data: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
}

/// A notification to write for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub user_id: Uuid,
    pub kind: &'static str,
    pub message: String,
    pub data: serde_json::Value,
}

/// `amount` minor units as the currency writes them: `format_amount(-1050, 2, "EUR")` is
/// `-10.50 EUR`.
pub fn format_amount(amount: i64, exponent: u8, currency: &str) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let magnitude = amount.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{magnitude} {currency}");
    }
    let scale = 10_u64.pow(u32::from(exponent));
    format!(
        "{sign}{}.{:0width$} {currency}",
        magnitude / scale,
        magnitude % scale,
        width = usize::from(exponent)
    )
}

/// The notifications an event makes: one per user it concerns (a transfer between two
/// users tells both; one between a user's own accounts, that user once).
pub fn notifications_of(event: &LedgerEvent) -> Vec<NewNotification> {
    let money = |amount: i64| format_amount(amount, event.currency_exponent, &event.currency);
    let note = event
        .description
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    let data = |account: Uuid, amount: i64, balance_after: i64| {
        serde_json::json!({
            "movement_id": event.movement_id,
            "account_id": account,
            "amount": amount,
            "currency": event.currency,
            "currency_exponent": event.currency_exponent,
            "balance_after": balance_after,
        })
    };
    let amount = event.amount;
    match (event.kind, &event.from, &event.to) {
        (MovementKind::Deposit, _, Some(to)) => vec![NewNotification {
            user_id: to.owner_id,
            kind: "deposit",
            message: format!(
                "Deposited {} in {}{note}. Balance: {}.",
                money(amount),
                to.account_name,
                money(to.balance_after)
            ),
            data: data(to.account_id, amount, to.balance_after),
        }],
        (MovementKind::Withdrawal, Some(from), _) => vec![NewNotification {
            user_id: from.owner_id,
            kind: "withdrawal",
            message: format!(
                "Withdrew {} from {}{note}. Balance: {}.",
                money(amount),
                from.account_name,
                money(from.balance_after)
            ),
            data: data(from.account_id, -amount, from.balance_after),
        }],
        (MovementKind::Transfer, Some(from), Some(to)) if from.owner_id == to.owner_id => {
            vec![NewNotification {
                user_id: from.owner_id,
                kind: "transfer_moved",
                message: format!(
                    "Moved {} from {} to {}{note}. Balances: {} and {}.",
                    money(amount),
                    from.account_name,
                    to.account_name,
                    money(from.balance_after),
                    money(to.balance_after)
                ),
                data: data(from.account_id, -amount, from.balance_after),
            }]
        }
        (MovementKind::Transfer, Some(from), Some(to)) => vec![
            NewNotification {
                user_id: from.owner_id,
                kind: "transfer_sent",
                message: format!(
                    "Sent {} from {}{note}. Balance: {}.",
                    money(amount),
                    from.account_name,
                    money(from.balance_after)
                ),
                data: data(from.account_id, -amount, from.balance_after),
            },
            NewNotification {
                user_id: to.owner_id,
                kind: "transfer_received",
                message: format!(
                    "Received {} in {}{note}. Balance: {}.",
                    money(amount),
                    to.account_name,
                    money(to.balance_after)
                ),
                data: data(to.account_id, amount, to.balance_after),
            },
        ],
        // An event missing the side its kind needs concerns nobody; the consumer
        // dead-letters it.
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfers::event::EventSide;

    #[test]
    fn amounts_are_written_in_the_currencys_units() {
        assert_eq!(format_amount(1050, 2, "EUR"), "10.50 EUR");
        assert_eq!(format_amount(-5, 2, "EUR"), "-0.05 EUR");
        assert_eq!(format_amount(1234, 0, "JPY"), "1234 JPY");
        assert_eq!(format_amount(1, 3, "KWD"), "0.001 KWD");
        assert_eq!(
            format_amount(i64::MIN, 2, "EUR"),
            "-92233720368547758.08 EUR"
        );
    }

    fn side(owner: Uuid, name: &str, balance_after: i64) -> EventSide {
        EventSide {
            account_id: Uuid::new_v4(),
            account_name: name.into(),
            owner_id: owner,
            balance_after,
        }
    }

    fn transfer(from: EventSide, to: EventSide) -> LedgerEvent {
        LedgerEvent {
            event_id: Uuid::new_v4(),
            event_type: "ledger.transfer.completed".into(),
            movement_id: Uuid::new_v4(),
            kind: MovementKind::Transfer,
            amount: 2500,
            currency: "EUR".into(),
            currency_exponent: 2,
            description: Some("Rent".into()),
            from: Some(from),
            to: Some(to),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_transfer_tells_the_sender_and_the_recipient() {
        let (ada, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let made = notifications_of(&transfer(
            side(ada, "Main", 7500),
            side(bob, "Savings", 2500),
        ));
        let told: Vec<(Uuid, &str, &str, i64)> = made
            .iter()
            .map(|n| {
                (
                    n.user_id,
                    n.kind,
                    n.message.as_str(),
                    n.data["amount"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            told,
            [
                (
                    ada,
                    "transfer_sent",
                    "Sent 25.00 EUR from Main: Rent. Balance: 75.00 EUR.",
                    -2500
                ),
                (
                    bob,
                    "transfer_received",
                    "Received 25.00 EUR in Savings: Rent. Balance: 25.00 EUR.",
                    2500
                ),
            ]
        );
        let own = notifications_of(&transfer(side(ada, "Main", 0), side(ada, "Savings", 2500)));
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].kind, "transfer_moved");
    }

    #[test]
    fn an_event_without_the_sides_its_kind_needs_tells_nobody() {
        let mut event = transfer(
            side(Uuid::new_v4(), "Main", 0),
            side(Uuid::new_v4(), "B", 1),
        );
        event.to = None;
        assert!(notifications_of(&event).is_empty());
    }
}
