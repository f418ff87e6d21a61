use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{TestApp, bad_fields, expect_error, expect_json};

#[sqlx::test]
async fn anyone_can_read_the_offered_currencies_with_their_minor_units(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &[("CURRENCIES", "JPY,eur,KWD")]).await;
    let offered = expect_json(app.get("/api/v1/currencies").await, StatusCode::OK).await;
    assert_eq!(
        offered,
        json!({"currencies": [
            {"code": "JPY", "exponent": 0},
            {"code": "EUR", "exponent": 2},
            {"code": "KWD", "exponent": 3},
        ]})
    );
}

#[sqlx::test]
async fn an_account_opens_empty_in_an_offered_currency_and_closes(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &[("CURRENCIES", "EUR,JPY")]).await;
    app.create_user("ada").await;
    app.sign_in_as("ada").await;

    let account = app.open_account("  Savings ", "jpy").await;
    assert_eq!(account["name"], "Savings");
    assert_eq!(account["currency"], "JPY");
    assert_eq!(account["currency_exponent"], 0);
    assert_eq!(account["balance"], 0);
    assert_eq!(account["status"], "open");
    assert_eq!(account["closed_at"], json!(null));
    let id = account["id"].as_str().unwrap();

    let error = expect_error(
        app.post_json("/api/v1/accounts", &json!({"name": "", "currency": "USD"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(bad_fields(&error), ["name", "currency"]);
    assert!(
        error["fields"][1]["message"]
            .as_str()
            .unwrap()
            .contains("expected one of: EUR, JPY"),
        "{error}"
    );

    let read = expect_json(
        app.get(&format!("/api/v1/accounts/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read, account);

    let path = format!("/api/v1/accounts/{id}/close");
    let closed = expect_json(app.post_json(&path, &json!({})).await, StatusCode::OK).await;
    assert_eq!(closed["status"], "closed");
    assert!(closed["closed_at"].is_string());
    // Closing again answers with the account as it is.
    let again = expect_json(app.post_json(&path, &json!({})).await, StatusCode::OK).await;
    assert_eq!(again["closed_at"], closed["closed_at"]);

    let response = app
        .post_with_key(
            &format!("/api/v1/accounts/{id}/deposits"),
            "k1",
            &json!({"amount": 5}),
        )
        .await;
    let error = expect_error(response, StatusCode::CONFLICT, "account_closed").await;
    assert_eq!(bad_fields(&error), ["account_id"]);
}

#[sqlx::test]
async fn an_account_holding_money_does_not_close_and_its_owner_stays(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let ada = app.create_user("ada").await;
    app.sign_in_as("ada").await;
    let id = app.open_account("Main", "EUR").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.deposit(&id, 1050).await;

    let response = app
        .post_json(&format!("/api/v1/accounts/{id}/close"), &json!({}))
        .await;
    let error = expect_error(response, StatusCode::CONFLICT, "account_not_empty").await;
    assert!(
        error["message"].as_str().unwrap().contains("1050 EUR"),
        "{error}"
    );

    // The ledger keeps who held money: a user with accounts is deactivated, not deleted.
    let response = app
        .delete(&format!("/api/v1/users/{}", ada["id"].as_str().unwrap()))
        .await;
    let error = expect_error(response, StatusCode::CONFLICT, "conflict").await;
    assert!(
        error["message"].as_str().unwrap().contains("is_active"),
        "{error}"
    );
}

#[sqlx::test]
async fn someone_elses_account_is_not_there_but_administrators_reach_every_account(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let ada = app.create_user("ada").await;
    let ada_id = ada["id"].as_str().unwrap();
    app.create_user("bob").await;
    app.sign_in_as("ada").await;
    let account = app.open_account("Main", "EUR").await;
    let id = account["id"].as_str().unwrap();

    app.sign_in_as("bob").await;
    let bob_account = app.open_account("Bob's", "USD").await;
    for path in [
        format!("/api/v1/accounts/{id}"),
        format!("/api/v1/accounts/{id}/entries"),
    ] {
        expect_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    expect_error(
        app.post_json(&format!("/api/v1/accounts/{id}/close"), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let mine = expect_json(app.get("/api/v1/accounts").await, StatusCode::OK).await;
    assert_eq!(mine["accounts"], json!([bob_account]));
    expect_error(
        app.get(&format!("/api/v1/accounts?owner_id={ada_id}"))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    app.sign_in_as_admin("root").await;
    let theirs = expect_json(
        app.get(&format!("/api/v1/accounts?owner_id={ada_id}"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(theirs["accounts"], json!([account]));
    let everyone = expect_json(
        app.get("/api/v1/accounts?owner_id=any").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(everyone["accounts"], json!([account, bob_account]));
    let dollars = expect_json(
        app.get("/api/v1/accounts?owner_id=any&currency=usd").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(dollars["accounts"], json!([bob_account]));
    expect_json(
        app.get(&format!("/api/v1/accounts/{id}")).await,
        StatusCode::OK,
    )
    .await;

    let error = expect_error(
        app.get("/api/v1/accounts?owner_id=someone&size=0").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(bad_fields(&error), ["size", "owner_id"]);
    expect_error(
        app.get("/api/v1/accounts/not-an-id").await,
        StatusCode::BAD_REQUEST,
        "invalid_id",
    )
    .await;
    app.sign_out();
    expect_error(
        app.send_json(Method::POST, "/api/v1/accounts", &json!({}))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

#[sqlx::test]
async fn accounts_list_oldest_first_a_page_at_a_time(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("ada").await;
    app.sign_in_as("ada").await;
    let mut opened = Vec::new();
    for n in 0..5 {
        opened.push(app.open_account(&format!("Pot {n}"), "EUR").await["id"].clone());
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/accounts?size=2".to_owned();
    loop {
        let page = expect_json(app.get(&path).await, StatusCode::OK).await;
        let accounts = page["accounts"].as_array().unwrap();
        assert!(accounts.len() <= 2);
        seen.extend(accounts.iter().map(|a| a["id"].clone()));
        match page["next"].as_str() {
            Some(next) => path = format!("/api/v1/accounts?size=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen, opened);
}
