use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{TestApp, bad_fields, expect_error, expect_json};

/// Signs up `name`, signs in as them, opens an account in `currency`; its id.
async fn customer_with_account(app: &TestApp, name: &str, currency: &str) -> String {
    app.create_user(name).await;
    app.sign_in_as(name).await;
    app.open_account("Main", currency).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[sqlx::test]
async fn money_moves_in_balanced_entries_and_each_movement_leaves_an_event(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let bob_account = customer_with_account(&app, "bob", "EUR").await;
    let bob_token = app.sign_in_as("bob").await;
    let ada_account = customer_with_account(&app, "ada", "EUR").await;

    let deposit = app.deposit(&ada_account, 10_000).await;
    assert_eq!(deposit["kind"], "deposit");
    assert_eq!(deposit["amount"], 10_000);
    assert_eq!(deposit["currency"], "EUR");
    assert_eq!(deposit["from_account_id"], json!(null));
    assert_eq!(deposit["to_account_id"], json!(ada_account));
    assert_eq!(deposit["balance_after"], 10_000);

    let withdrawal = expect_json(
        app.post_with_key(
            &format!("/api/v1/accounts/{ada_account}/withdrawals"),
            "w-1",
            &json!({"amount": 2_500, "description": "Cash"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(withdrawal["to_account_id"], json!(null));
    assert_eq!(withdrawal["balance_after"], 7_500);

    let transfer = expect_json(
        app.post_with_key(
            "/api/v1/transfers",
            "t-1",
            &json!({"from_account_id": ada_account, "to_account_id": bob_account, "amount": 3_000, "description": "Rent"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(transfer["kind"], "transfer");
    assert_eq!(transfer["balance_after"], 4_500);
    assert_eq!(app.balance(&ada_account).await, 4_500);

    let statement = expect_json(
        app.get(&format!("/api/v1/accounts/{ada_account}/entries"))
            .await,
        StatusCode::OK,
    )
    .await;
    let lines: Vec<(Value, Value, Value, Value)> = statement["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].clone(),
                e["amount"].clone(),
                e["balance_after"].clone(),
                e["counterparty_account_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (
                json!("transfer"),
                json!(-3_000),
                json!(4_500),
                json!(bob_account)
            ),
            (
                json!("withdrawal"),
                json!(-2_500),
                json!(7_500),
                json!(null)
            ),
            (json!("deposit"), json!(10_000), json!(10_000), json!(null)),
        ]
    );
    assert_eq!(statement["entries"][0]["description"], "Rent");
    assert_eq!(statement["entries"][0]["movement_id"], transfer["id"]);
    assert_eq!(statement["next"], json!(null));

    app.use_token(bob_token);
    assert_eq!(app.balance(&bob_account).await, 3_000);
    let theirs = expect_json(
        app.get(&format!("/api/v1/accounts/{bob_account}/entries"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(theirs["entries"][0]["amount"], 3_000);
    assert_eq!(
        theirs["entries"][0]["counterparty_account_id"],
        json!(ada_account)
    );

    let events: Vec<(String, Value)> =
        sqlx::query_as("SELECT routing_key, payload FROM outbox ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let keys: Vec<&str> = events.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "ledger.deposit.completed",
            "ledger.withdrawal.completed",
            "ledger.transfer.completed"
        ]
    );
    let event = &events[2].1;
    assert_eq!(event["movement_id"], transfer["id"]);
    assert_eq!(event["from"]["account_id"], json!(ada_account));
    assert_eq!(event["to"]["account_id"], json!(bob_account));
    assert_eq!(event["to"]["balance_after"], 3_000);
    assert_eq!(event["currency_exponent"], 2);
}

#[sqlx::test]
async fn a_retried_key_answers_again_and_moves_nothing_more(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let account = customer_with_account(&app, "ada", "EUR").await;
    let path = format!("/api/v1/accounts/{account}/deposits");

    let first = app
        .post_with_key(&path, "pay-1", &json!({"amount": 700}))
        .await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = expect_json(first, StatusCode::CREATED).await;
    // The same body, spelled differently, is the same request.
    let again = app
        .post_with_key(&path, "pay-1", &json!({"description": " ", "amount": 700}))
        .await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(expect_json(again, StatusCode::CREATED).await, first);
    assert_eq!(app.balance(&account).await, 700);

    let error = expect_error(
        app.post_with_key(&path, "pay-1", &json!({"amount": 701}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    assert!(error["message"].as_str().unwrap().contains("fresh key"));

    expect_error(
        app.post_json(&path, &json!({"amount": 1})).await,
        StatusCode::BAD_REQUEST,
        "idempotency_key_required",
    )
    .await;

    // A refusal is stored too: money arriving later does not change the retry's answer.
    let withdraw = format!("/api/v1/accounts/{account}/withdrawals");
    expect_error(
        app.post_with_key(&withdraw, "out-1", &json!({"amount": 1_000}))
            .await,
        StatusCode::CONFLICT,
        "insufficient_funds",
    )
    .await;
    app.deposit(&account, 1_000).await;
    let retried = app
        .post_with_key(&withdraw, "out-1", &json!({"amount": 1_000}))
        .await;
    assert_eq!(retried.headers()["idempotent-replayed"], "true");
    expect_error(retried, StatusCode::CONFLICT, "insufficient_funds").await;
    assert_eq!(app.balance(&account).await, 1_700);

    // Another user's identical key is theirs alone.
    let bob_account = customer_with_account(&app, "bob", "EUR").await;
    let theirs = app
        .post_with_key(
            &format!("/api/v1/accounts/{bob_account}/deposits"),
            "pay-1",
            &json!({"amount": 5}),
        )
        .await;
    assert!(theirs.headers().get("idempotent-replayed").is_none());
    expect_json(theirs, StatusCode::CREATED).await;

    // An expired key names a new request.
    sqlx::query(
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'pay-1'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.sign_in_as("ada").await;
    let renewed = expect_json(
        app.post_with_key(&path, "pay-1", &json!({"amount": 701}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_ne!(renewed["id"], first["id"]);
    assert_eq!(app.balance(&account).await, 2_401);
}

#[sqlx::test]
async fn concurrent_requests_with_one_key_move_money_once(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let account = customer_with_account(&app, "ada", "EUR").await;
    let path = format!("/api/v1/accounts/{account}/deposits");
    let body = json!({"amount": 100});
    let responses =
        futures::future::join_all((0..12).map(|_| app.post_with_key(&path, "same", &body))).await;
    let mut ids = Vec::new();
    for response in responses {
        ids.push(expect_json(response, StatusCode::CREATED).await["id"].clone());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(app.balance(&account).await, 100);
}

#[sqlx::test]
async fn movements_the_rules_refuse_say_why(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let bob_dollars = customer_with_account(&app, "bob", "USD").await;
    let bob_euros = app.open_account("Euros", "EUR").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.deposit(&bob_euros, 50).await;
    let ada_account = customer_with_account(&app, "ada", "EUR").await;
    app.deposit(&ada_account, 100).await;
    let transfer = |from: &str, to: &str, amount: Value| json!({"from_account_id": from, "to_account_id": to, "amount": amount});

    let nowhere = uuid::Uuid::new_v4().to_string();
    // (key, from, to, amount, status, code, what the error names)
    let refused = [
        (
            "a",
            &ada_account,
            &bob_euros,
            json!(101),
            StatusCode::CONFLICT,
            "insufficient_funds",
            "\"field\":\"amount\"",
        ),
        (
            "b",
            &ada_account,
            &bob_dollars,
            json!(1),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "\"field\":\"to_account_id\"",
        ),
        // Bob's money is not Ada's to move, whatever she knows of its id.
        (
            "c",
            &bob_euros,
            &ada_account,
            json!(1),
            StatusCode::NOT_FOUND,
            "not_found",
            "source account",
        ),
        (
            "d",
            &ada_account,
            &nowhere,
            json!(1),
            StatusCode::NOT_FOUND,
            "not_found",
            "destination account",
        ),
        (
            "e",
            &ada_account,
            &bob_euros,
            json!(10.5),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "minor unit",
        ),
    ];
    for (key, from, to, amount, status, code, names) in refused {
        let response = app
            .post_with_key("/api/v1/transfers", key, &transfer(from, to, amount))
            .await;
        let error = expect_error(response, status, code).await;
        assert!(error.to_string().contains(names), "{key}: {error}");
    }
    expect_error(
        app.post_with_key(
            &format!("/api/v1/accounts/{bob_euros}/withdrawals"),
            "f",
            &json!({"amount": 1}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let error = expect_error(
        app.get(&format!("/api/v1/accounts/{ada_account}/entries?after=x"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(bad_fields(&error), ["after"]);
    assert_eq!(app.balance(&ada_account).await, 100);
}

#[sqlx::test]
async fn a_statement_continues_page_by_page(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let account = customer_with_account(&app, "ada", "GBP").await;
    for amount in 1..=5 {
        app.deposit(&account, amount).await;
    }
    let mut amounts = Vec::new();
    let mut path = format!("/api/v1/accounts/{account}/entries?size=2");
    loop {
        let page = expect_json(app.get(&path).await, StatusCode::OK).await;
        amounts.extend(
            page["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["amount"].as_i64().unwrap()),
        );
        match page["next"].as_str() {
            Some(next) => path = format!("/api/v1/accounts/{account}/entries?size=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(amounts, [5, 4, 3, 2, 1]);
}
