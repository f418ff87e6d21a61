//! Thousands of random concurrent movements over a few dozen accounts, with retried
//! idempotency keys mixed in; then the ledger's invariants, checked in the database.

use std::collections::HashMap;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::TestApp;

const USERS: usize = 6;
const ACCOUNTS_PER_USER: usize = 5;
const MOVEMENTS: usize = 3_000;
const CONCURRENCY: usize = 32;

/// xorshift64*: a seeded sequence, so a failure can be run again as it happened.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone)]
struct Request {
    token: String,
    path: String,
    key: String,
    body: Value,
    kind: &'static str,
}

struct Answer {
    request: Request,
    status: StatusCode,
    body: Value,
}

#[sqlx::test]
async fn random_concurrent_movements_keep_the_ledger_balanced(pool: PgPool) {
    let seed = std::env::var("LEDGER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(std::process::id()) | 1);
    eprintln!("ledger invariants: LEDGER_SEED={seed}");
    let mut random = Random(seed);
    let app = TestApp::spawn_with(pool, &[("DB_POOL_SIZE", "16")]).await;

    // A few dozen accounts, a few in another currency so some transfers are refused.
    let mut tokens = Vec::new();
    let mut accounts: Vec<(usize, String)> = Vec::new();
    for user in 0..USERS {
        let name = format!("customer{user}");
        app.create_user(&name).await;
        tokens.push(app.sign_in_as(&name).await);
        for n in 0..ACCOUNTS_PER_USER {
            let currency = if n == 0 && user % 2 == 0 {
                "USD"
            } else {
                "EUR"
            };
            let account = app.open_account(&format!("Pot {n}"), currency).await;
            accounts.push((user, account["id"].as_str().unwrap().to_owned()));
        }
    }

    let mut requests: Vec<Request> = Vec::new();
    for n in 0..MOVEMENTS {
        // One request in eight retries an earlier one: same user, key and body.
        if n > 10 && random.below(8) == 0 {
            let earlier = requests[random.below(requests.len())].clone();
            requests.push(earlier);
            continue;
        }
        let (owner, account) = accounts[random.below(accounts.len())].clone();
        let amount = 1 + random.below(5_000) as i64;
        let key = format!("movement-{n}");
        let (kind, path, body) = match random.below(4) {
            0 => (
                "deposit",
                format!("/api/v1/accounts/{account}/deposits"),
                json!({"amount": amount * 2}),
            ),
            1 => (
                "withdrawal",
                format!("/api/v1/accounts/{account}/withdrawals"),
                json!({"amount": amount}),
            ),
            _ => {
                let (_, to) = &accounts[random.below(accounts.len())];
                if *to == account {
                    continue;
                }
                (
                    "transfer",
                    "/api/v1/transfers".to_owned(),
                    json!({"from_account_id": account, "to_account_id": to, "amount": amount}),
                )
            }
        };
        requests.push(Request {
            token: tokens[owner].clone(),
            path,
            key,
            body,
            kind,
        });
    }

    let answers: Vec<Answer> = futures::stream::iter(requests)
        .map(|request| {
            let client = app.client.clone();
            let url = app.url(&request.path);
            async move {
                let response = client
                    .post(url)
                    .bearer_auth(&request.token)
                    .header("idempotency-key", &request.key)
                    .json(&request.body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let body = response.json().await.unwrap();
                Answer {
                    request,
                    status,
                    body,
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    // Every answer is a movement or a refusal the rules explain; a key answers alike
    // every time it is sent.
    let mut by_key: HashMap<String, (StatusCode, Value)> = HashMap::new();
    let (mut deposited, mut withdrawn) = (0_i64, 0_i64);
    for answer in &answers {
        let outcome = match answer.status {
            StatusCode::CREATED => answer.body["id"].clone(),
            StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
                answer.body["error"]["code"].clone()
            }
            other => panic!(
                "{} {}: {other} {}",
                answer.request.kind, answer.request.body, answer.body
            ),
        };
        if answer.status == StatusCode::CONFLICT {
            assert_eq!(outcome, "insufficient_funds", "{}", answer.body);
        }
        match by_key.get(&answer.request.key) {
            Some((status, first)) => {
                assert_eq!(
                    (status, first),
                    (&answer.status, &outcome),
                    "key {}",
                    answer.request.key
                )
            }
            None => {
                by_key.insert(answer.request.key.clone(), (answer.status, outcome));
                if answer.status == StatusCode::CREATED {
                    let amount = answer.body["amount"].as_i64().unwrap();
                    match answer.request.kind {
                        "deposit" => deposited += amount,
                        "withdrawal" => withdrawn += amount,
                        _ => {}
                    }
                }
            }
        }
    }
    let moved = by_key
        .values()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let refused = by_key.len() - moved;
    eprintln!(
        "ledger invariants: {} requests, {} keys: {moved} movements, {refused} refused",
        answers.len(),
        by_key.len()
    );
    assert!(
        moved > MOVEMENTS / 2 && refused > 0,
        "{moved} moved, {refused} refused"
    );

    let db = &app.pool;
    let scalar = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(db)
            .await
            .unwrap()
    };
    // Money in the system is what was deposited minus what was withdrawn, and the bank's
    // external accounts hold its opposite.
    assert_eq!(
        scalar("SELECT coalesce(sum(balance), 0)::bigint FROM accounts WHERE kind = 'customer'")
            .await,
        deposited - withdrawn
    );
    assert_eq!(
        scalar(
            "SELECT coalesce(sum(e.amount), 0)::bigint FROM entries e
             JOIN accounts a ON a.id = e.account_id WHERE a.kind = 'external'"
        )
        .await,
        withdrawn - deposited
    );
    assert_eq!(
        scalar("SELECT count(*) FROM accounts WHERE balance < 0").await,
        0
    );
    // No key moved money twice: one movement per key that answered 201.
    assert_eq!(scalar("SELECT count(*) FROM movements").await, moved as i64);
    // Every movement has two entries that balance, one on each of its accounts.
    assert_eq!(
        scalar(
            "SELECT count(*) FROM movements m WHERE
               (SELECT count(*) FROM entries e WHERE e.movement_id = m.id) <> 2
               OR (SELECT sum(amount) FROM entries e WHERE e.movement_id = m.id) <> 0
               OR NOT EXISTS (SELECT 1 FROM entries e WHERE e.movement_id = m.id
                                AND e.account_id = m.debit_account_id AND e.amount = -m.amount)
               OR NOT EXISTS (SELECT 1 FROM entries e WHERE e.movement_id = m.id
                                AND e.account_id = m.credit_account_id AND e.amount = m.amount)"
        )
        .await,
        0
    );
    // Each customer balance is the sum of its entries, and its newest entry says so.
    assert_eq!(
        scalar(
            "SELECT count(*) FROM accounts a WHERE a.kind = 'customer' AND (
               a.balance <> (SELECT coalesce(sum(amount), 0) FROM entries e WHERE e.account_id = a.id)
               OR a.balance <> coalesce((SELECT balance_after FROM entries e WHERE e.account_id = a.id
                                         ORDER BY id DESC LIMIT 1), 0))"
        )
        .await,
        0
    );
    // Every movement left exactly one event.
    assert_eq!(scalar("SELECT count(*) FROM outbox").await, moved as i64);
    // Each transfer the clients were told of is in the ledger with its entries.
    for answer in answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED && a.request.kind == "transfer")
    {
        let id = uuid::Uuid::parse_str(answer.body["id"].as_str().unwrap()).unwrap();
        let entries: i64 =
            sqlx::query_scalar("SELECT count(*) FROM entries WHERE movement_id = $1")
                .bind(id)
                .fetch_one(db)
                .await
                .unwrap();
        assert_eq!(entries, 2, "transfer {id}");
    }
}
