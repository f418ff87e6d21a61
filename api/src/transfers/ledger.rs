//! The double-entry ledger: each movement, in one transaction, locks the customer
//! accounts it touches (in id order, so two movements over the same accounts queue
//! instead of deadlocking), decides from what it locked ([`decide`], pure), then writes
//! the movement, one entry per side, the new balances and the event for the outbox.
//! The external account of a currency (money outside the bank) is never locked or
//! updated: deposits and withdrawals only add entries to it.

use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use super::event::LedgerEvent;
use super::idempotency::{self, Answer, Claim, IdempotencyKey};
use super::model::{Movement, MovementKind, MovementRequest};
use crate::error::{ApiError, FieldError};
use crate::state::AppState;
use crate::users::model::User;

/// Which account of a request a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The account in the path of a deposit or withdrawal.
    Account,
    /// `from_account_id` of a transfer.
    Source,
    /// `to_account_id` of a transfer.
    Destination,
}

impl Side {
    fn field(self) -> &'static str {
        match self {
            Self::Account => "account_id",
            Self::Source => "from_account_id",
            Self::Destination => "to_account_id",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Source => "source account",
            Self::Destination => "destination account",
        }
    }
}

/// Why a well-formed movement was not made. Stored with its idempotency key, so a retry
/// is refused the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Refusal {
    /// No such account, or not the caller's to take money from.
    NotFound {
        side: Side,
    },
    Closed {
        side: Side,
    },
    InsufficientFunds {
        balance: i64,
        amount: i64,
        currency: String,
    },
    CurrencyMismatch {
        from: String,
        to: String,
    },
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotFound { side } => ApiError::NotFound(side.name()),
            Refusal::Closed { side } => ApiError::Refused {
                code: "account_closed",
                field: side.field(),
                message: format!("the {} is closed", side.name()),
            },
            Refusal::InsufficientFunds {
                balance,
                amount,
                currency,
            } => ApiError::Refused {
                code: "insufficient_funds",
                field: "amount",
                message: format!(
                    "the account holds {balance} {currency} (minor units), less than the {amount} asked for"
                ),
            },
            Refusal::CurrencyMismatch { from, to } => ApiError::Validation(vec![FieldError::new(
                "to_account_id",
                format!(
                    "holds {to}, and the source account {from}: transfers stay within one currency"
                ),
            )]),
        }
    }
}

/// A customer account as the movement's transaction locked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedAccount {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub currency: String,
    pub balance: i64,
    pub closed: bool,
    /// The bank's external account in this account's currency; `None` until the first
    /// deposit or withdrawal in that currency makes it.
    pub external_id: Option<Uuid>,
}

/// What a movement will write: its currency and each customer side's balance after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub currency: String,
    /// The account money leaves; `None` for a deposit.
    pub debit: Option<Posting>,
    /// The account money arrives in; `None` for a withdrawal.
    pub credit: Option<Posting>,
}

/// One customer account's side of a movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub account: Uuid,
    pub balance_after: i64,
    pub owner: Uuid,
    pub name: String,
}

impl Posting {
    fn new(account: &LockedAccount, balance_after: i64) -> Self {
        Self {
            account: account.id,
            balance_after,
            owner: account.owner_id,
            name: account.name.clone(),
        }
    }
}

impl Plan {
    /// The balance a client is told: of the path's account, or the transfer's source.
    pub fn balance_after(&self) -> i64 {
        self.debit
            .as_ref()
            .or(self.credit.as_ref())
            .map_or(0, |posting| posting.balance_after)
    }
}

/// Decides a movement over the accounts its transaction locked. Only the owner of the
/// account money leaves (or is deposited into), or an administrator, may move it; anyone
/// may be paid.
pub fn decide(
    request: &MovementRequest,
    caller: &User,
    locked: &[LockedAccount],
) -> Result<Plan, Refusal> {
    let find = |id: Option<Uuid>| id.and_then(|id| locked.iter().find(|a| a.id == id));
    let (from_side, to_side) = match request.kind {
        MovementKind::Transfer => (Side::Source, Side::Destination),
        _ => (Side::Account, Side::Account),
    };
    let may_use = |account: &LockedAccount| account.owner_id == caller.id || caller.is_admin;
    let from = match request.from {
        Some(_) => Some(
            find(request.from)
                .filter(|a| may_use(a))
                .ok_or(Refusal::NotFound { side: from_side })?,
        ),
        None => None,
    };
    let to = match request.to {
        Some(_) => {
            let to = find(request.to).ok_or(Refusal::NotFound { side: to_side })?;
            // A deposit is made by the account's owner (or an administrator).
            if request.kind == MovementKind::Deposit && !may_use(to) {
                return Err(Refusal::NotFound { side: to_side });
            }
            Some(to)
        }
        None => None,
    };
    for (account, side) in [(from, from_side), (to, to_side)] {
        if account.is_some_and(|a| a.closed) {
            return Err(Refusal::Closed { side });
        }
    }
    if let (Some(from), Some(to)) = (from, to)
        && from.currency != to.currency
    {
        return Err(Refusal::CurrencyMismatch {
            from: from.currency.clone(),
            to: to.currency.clone(),
        });
    }
    let amount = request.amount.get();
    let debit = match from {
        Some(from) if from.balance < amount => {
            return Err(Refusal::InsufficientFunds {
                balance: from.balance,
                amount,
                currency: from.currency.clone(),
            });
        }
        Some(from) => Some(Posting::new(from, from.balance - amount)),
        None => None,
    };
    let credit = to.map(|to| Posting::new(to, to.balance + amount));
    let currency = from.or(to).map(|a| a.currency.clone()).unwrap_or_default();
    Ok(Plan {
        currency,
        debit,
        credit,
    })
}

/// The external account of `currency`: `known` when the lock statement found it, else
/// made now, on the first deposit or withdrawal in that currency. Two statements, not
/// one: the insert waits for a concurrent first movement's own insert to commit, and the
/// select after it (a new snapshot, under READ COMMITTED) then sees that row.
async fn external_account(
    conn: &mut PgConnection,
    currency: &str,
    known: Option<Uuid>,
) -> Result<Uuid, sqlx::Error> {
    if let Some(id) = known {
        return Ok(id);
    }
    sqlx::query!(
        "INSERT INTO accounts (kind, name, currency) VALUES ('external', 'outside the bank', $1)
         ON CONFLICT (currency) WHERE kind = 'external' DO NOTHING",
        currency
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar!(
        "SELECT id FROM accounts WHERE kind = 'external' AND currency = $1",
        currency
    )
    .fetch_one(conn)
    .await
}

/// The answer to a movement request, and whether it is a stored one given again.
pub struct Outcome {
    pub answer: Answer,
    pub replayed: bool,
}

/// Makes the movement `request` for `caller` under `key`, or answers as the key's first
/// request was answered.
pub async fn execute(
    state: &AppState,
    caller: &User,
    request: &MovementRequest,
    key: &IdempotencyKey,
) -> Result<Outcome, ApiError> {
    let mut conn = crate::db::Connections::of_state(state).acquire().await?;
    let fingerprint = request.fingerprint();
    let mut tx = conn.begin().await?;
    if let Claim::Used {
        fingerprint: used,
        answer,
    } = idempotency::claim(
        &mut tx,
        caller.id,
        key,
        &fingerprint,
        state.idempotency_key_ttl,
    )
    .await?
    {
        tx.rollback().await?;
        return Ok(Outcome {
            answer: idempotency::replay(&used, answer, &fingerprint)?,
            replayed: true,
        });
    }
    let ids: Vec<Uuid> = request.from.into_iter().chain(request.to).collect();
    let locked = sqlx::query_as!(
        LockedAccount,
        r#"SELECT id, owner_id AS "owner_id!", name, currency, balance,
                  closed_at IS NOT NULL AS "closed!",
                  (SELECT e.id FROM accounts e
                   WHERE e.kind = 'external' AND e.currency = accounts.currency) AS "external_id?"
           FROM accounts WHERE id = ANY($1) AND kind = 'customer'
           ORDER BY id FOR NO KEY UPDATE"#,
        &ids
    )
    .fetch_all(&mut *tx)
    .await?;
    let answer = match decide(request, caller, &locked) {
        Ok(plan) => {
            // A deposit or withdrawal moves money from or to outside the bank.
            let external = match request.kind {
                MovementKind::Transfer => None,
                _ => {
                    let known = locked.first().and_then(|account| account.external_id);
                    Some(external_account(&mut tx, &plan.currency, known).await?)
                }
            };
            let movement = write(&mut tx, request, caller, &plan, external).await?;
            Answer::Moved(movement)
        }
        Err(refusal) => Answer::Refused(refusal),
    };
    idempotency::store(&mut tx, caller.id, key, &answer).await?;
    tx.commit().await?;
    Ok(Outcome {
        answer,
        replayed: false,
    })
}

/// Writes a decided movement: the movement, its two entries, the new balances and its
/// event, in one statement.
async fn write(
    conn: &mut PgConnection,
    request: &MovementRequest,
    caller: &User,
    plan: &Plan,
    external: Option<Uuid>,
) -> Result<Movement, ApiError> {
    let side = |side: &Option<Posting>| {
        side.as_ref()
            .map(|posting| (posting.account, Some(posting.balance_after)))
            .or(external.map(|id| (id, None)))
            .ok_or_else(|| anyhow::anyhow!("a {} has no external account", request.kind.as_str()))
    };
    let (debit_id, debit_balance) = side(&plan.debit)?;
    let (credit_id, credit_balance) = side(&plan.credit)?;
    // Microseconds, as PostgreSQL keeps them, so the answer equals what is stored.
    let now = OffsetDateTime::now_utc();
    let created_at = now
        .replace_nanosecond(now.nanosecond() / 1000 * 1000)
        .unwrap_or(now);
    let movement = Movement {
        id: Uuid::new_v4(),
        kind: request.kind,
        amount: request.amount.get(),
        currency: plan.currency.clone(),
        from_account_id: plan.debit.as_ref().map(|posting| posting.account),
        to_account_id: plan.credit.as_ref().map(|posting| posting.account),
        description: request.description.as_ref().map(|d| d.as_str().to_owned()),
        balance_after: plan.balance_after(),
        created_at,
    };
    let event = LedgerEvent::of(Uuid::new_v4(), &movement, plan);
    let payload = serde_json::to_value(&event)
        .map_err(|err| anyhow::Error::new(err).context("writing a ledger event"))?;
    let (customer_ids, balances): (Vec<Uuid>, Vec<i64>) = [&plan.debit, &plan.credit]
        .into_iter()
        .flatten()
        .map(|posting| (posting.account, posting.balance_after))
        .unzip();
    sqlx::query!(
        r#"WITH movement AS (
               INSERT INTO movements (id, kind, debit_account_id, credit_account_id, amount,
                                      currency, description, initiated_by, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ), balances AS (
               UPDATE accounts SET balance = b.balance
               FROM unnest($10::uuid[], $11::bigint[]) AS b (id, balance)
               WHERE accounts.id = b.id
           ), entries AS (
               INSERT INTO entries (movement_id, account_id, amount, balance_after, created_at)
               VALUES ($1, $3, -$5::bigint, $12, $9), ($1, $4, $5, $13, $9)
           )
           INSERT INTO outbox (event_id, routing_key, payload, created_at)
           VALUES ($14, $15, $16, $9)"#,
        movement.id,
        request.kind.as_str(),
        debit_id,
        credit_id,
        movement.amount,
        movement.currency,
        movement.description,
        caller.id,
        created_at,
        &customer_ids,
        &balances,
        debit_balance,
        credit_balance,
        event.event_id,
        event.event_type,
        payload,
    )
    .execute(conn)
    .await?;
    tracing::info!(
        movement_id = %movement.id,
        kind = request.kind.as_str(),
        actor = %caller.id,
        amount = movement.amount,
        currency = movement.currency,
        "money moved"
    );
    Ok(movement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::json_body::JsonObject;

    fn user(is_admin: bool) -> User {
        User {
            id: Uuid::new_v4(),
            email: "a@example.com".into(),
            username: "ada".into(),
            full_name: None,
            is_active: true,
            is_verified: false,
            is_admin,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn account(owner: &User, currency: &str, balance: i64) -> LockedAccount {
        LockedAccount {
            id: Uuid::new_v4(),
            owner_id: owner.id,
            name: "Main".into(),
            currency: currency.into(),
            balance,
            closed: false,
            external_id: None,
        }
    }

    fn transfer(from: &LockedAccount, to: &LockedAccount, amount: i64) -> MovementRequest {
        let body = format!(
            r#"{{"from_account_id": "{}", "to_account_id": "{}", "amount": {amount}}}"#,
            from.id, to.id
        );
        MovementRequest::parse_transfer(
            JsonObject::parse(
                body.as_bytes(),
                &["from_account_id", "to_account_id", "amount"],
            )
            .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn a_transfer_debits_the_source_and_credits_the_destination() {
        let (ada, bob) = (user(false), user(false));
        let (from, to) = (account(&ada, "EUR", 100), account(&bob, "EUR", 5));
        let plan = decide(&transfer(&from, &to, 60), &ada, &[from.clone(), to.clone()]).unwrap();
        assert_eq!(plan.debit, Some(Posting::new(&from, 40)));
        assert_eq!(
            plan.credit
                .as_ref()
                .map(|p| (p.account, p.balance_after, p.owner)),
            Some((to.id, 65, bob.id))
        );
        assert_eq!(plan.balance_after(), 40);
        assert_eq!(plan.currency, "EUR");
    }

    #[test]
    fn refusals_name_the_side_and_the_reason() {
        let (ada, bob, admin) = (user(false), user(false), user(true));
        let (from, to) = (account(&ada, "EUR", 100), account(&bob, "EUR", 0));
        let both = [from.clone(), to.clone()];
        assert_eq!(
            decide(&transfer(&from, &to, 101), &ada, &both),
            Err(Refusal::InsufficientFunds {
                balance: 100,
                amount: 101,
                currency: "EUR".into()
            })
        );
        // Someone else's money is not there for the caller; an administrator's it is.
        assert_eq!(
            decide(&transfer(&from, &to, 1), &bob, &both),
            Err(Refusal::NotFound { side: Side::Source })
        );
        assert!(decide(&transfer(&from, &to, 1), &admin, &both).is_ok());
        assert_eq!(
            decide(&transfer(&from, &to, 1), &ada, std::slice::from_ref(&from)),
            Err(Refusal::NotFound {
                side: Side::Destination
            })
        );
        let closed = LockedAccount {
            closed: true,
            ..to.clone()
        };
        assert_eq!(
            decide(&transfer(&from, &to, 1), &ada, &[from.clone(), closed]),
            Err(Refusal::Closed {
                side: Side::Destination
            })
        );
        let dollars = LockedAccount {
            currency: "USD".into(),
            ..to.clone()
        };
        assert_eq!(
            decide(&transfer(&from, &to, 1), &ada, &[from.clone(), dollars]),
            Err(Refusal::CurrencyMismatch {
                from: "EUR".into(),
                to: "USD".into()
            })
        );
    }

    #[test]
    fn deposits_and_withdrawals_touch_one_customer_account() {
        let ada = user(false);
        let mine = account(&ada, "JPY", 10);
        let body = |amount: i64| {
            JsonObject::parse(format!(r#"{{"amount": {amount}}}"#).as_bytes(), &["amount"]).unwrap()
        };
        let deposit =
            MovementRequest::parse_on_account(MovementKind::Deposit, mine.id, body(5)).unwrap();
        let plan = decide(&deposit, &ada, std::slice::from_ref(&mine)).unwrap();
        assert_eq!(
            (plan.debit, plan.credit),
            (None, Some(Posting::new(&mine, 15)))
        );
        let withdrawal =
            MovementRequest::parse_on_account(MovementKind::Withdrawal, mine.id, body(11)).unwrap();
        assert!(matches!(
            decide(&withdrawal, &ada, std::slice::from_ref(&mine)),
            Err(Refusal::InsufficientFunds { .. })
        ));
        // Nobody deposits into someone else's account.
        assert_eq!(
            decide(&deposit, &user(false), &[mine]),
            Err(Refusal::NotFound {
                side: Side::Account
            })
        );
    }
}
