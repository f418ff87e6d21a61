use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{TestApp, bad_fields, expect_error, expect_json, new_user};

#[sqlx::test]
async fn create_returns_the_user_and_stores_only_an_argon2id_hash(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app.post_json("/api/v1/users", &new_user("ada")).await;
    let location_free_body = expect_json(response, StatusCode::CREATED).await;
    let user = location_free_body.as_object().unwrap();
    let mut keys: Vec<&str> = user.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "email",
            "full_name",
            "id",
            "is_active",
            "is_admin",
            "is_verified",
            "updated_at",
            "username"
        ]
    );
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["username"], "ada");
    assert_eq!(user["full_name"], "ada Example");
    assert_eq!(user["is_active"], true);
    assert_eq!(user["is_verified"], false);
    assert!(!location_free_body.to_string().contains("correct horse"));

    let id = uuid::Uuid::parse_str(user["id"].as_str().unwrap()).unwrap();
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse"));
}

#[sqlx::test]
async fn email_and_username_are_unique_regardless_of_case(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.create_user("grace").await;

    let mut same_email = new_user("other");
    same_email["email"] = json!("GRACE@Example.com");
    let error = expect_error(
        app.post_json("/api/v1/users", &same_email).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_eq!(bad_fields(&error), ["email"]);

    let mut same_username = new_user("other");
    same_username["username"] = json!("Grace");
    let error = expect_error(
        app.post_json("/api/v1/users", &same_username).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_eq!(bad_fields(&error), ["username"]);
}

#[sqlx::test]
async fn fifty_racing_sign_ups_with_one_email_make_exactly_one_user(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let requests = (0..50).map(|i| {
        let client = app.client.clone();
        let url = app.url("/api/v1/users");
        let body = json!({
            "email": "race@example.com",
            "username": format!("racer{i}"),
            "password": "correct horse battery staple",
        });
        tokio::spawn(async move { client.post(url).json(&body).send().await.unwrap().status() })
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(requests)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 49), "{statuses:?}");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[sqlx::test]
async fn every_invalid_field_is_listed(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let body = json!({
        "email": "not-an-email",
        "username": "a b",
        "full_name": "x".repeat(256),
        "password": "short",
        "is_admin": true,
    });
    let error = expect_error(
        app.post_json("/api/v1/users", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let mut fields = bad_fields(&error);
    fields.sort();
    assert_eq!(
        fields,
        ["email", "full_name", "is_admin", "password", "username"]
    );

    let error = expect_error(
        app.post_json("/api/v1/users", &json!({"email": 5})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(bad_fields(&error), ["email", "username", "password"]);
    assert!(
        error["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("string"),
        "{error}"
    );
}

#[sqlx::test]
async fn a_user_can_be_read_by_id(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let created = app.create_user("linus").await;
    let id = created["id"].as_str().unwrap();
    expect_error(
        app.get(&format!("/api/v1/users/{id}")).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    app.sign_in_as("linus").await;
    let fetched = expect_json(
        app.get(&format!("/api/v1/users/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(fetched, created);

    app.sign_in_as_admin("root").await;
    let missing = uuid::Uuid::new_v4();
    expect_error(
        app.get(&format!("/api/v1/users/{missing}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(
        app.get("/api/v1/users/not-a-uuid").await,
        StatusCode::BAD_REQUEST,
        "invalid_id",
    )
    .await;
}

#[sqlx::test]
async fn listing_pages_newest_first_in_a_stable_order(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    // The administrator is the oldest user, so the last one listed.
    app.sign_in_as_admin("root").await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(app.create_user(&format!("user{i}")).await["id"].clone());
    }
    created.reverse();

    let mut seen = Vec::new();
    for page in 1..=3 {
        let body = expect_json(
            app.get(&format!("/api/v1/users?page={page}&size=2")).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(body["total"], 6);
        assert_eq!(body["page"], page);
        assert_eq!(body["size"], 2);
        seen.extend(
            body["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].clone()),
        );
    }
    assert_eq!(
        seen[..5],
        created[..],
        "pages cover every user once, newest first"
    );
    assert_eq!(seen.len(), 6);

    let default_page = expect_json(app.get("/api/v1/users").await, StatusCode::OK).await;
    assert_eq!(
        (default_page["page"].clone(), default_page["size"].clone()),
        (json!(1), json!(10))
    );
    let past_the_end = expect_json(app.get("/api/v1/users?page=9").await, StatusCode::OK).await;
    assert_eq!(past_the_end["users"], json!([]));
}

#[sqlx::test]
async fn a_listing_continues_from_each_pages_next_cursor_even_past_a_deleted_user(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.sign_in_as_admin("root").await;
    for i in 0..5 {
        app.create_user(&format!("walker{i}")).await;
    }
    let ids = |body: &serde_json::Value| -> Vec<serde_json::Value> {
        body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].clone())
            .collect()
    };
    let by_number = expect_json(app.get("/api/v1/users?size=6").await, StatusCode::OK).await;
    assert!(
        by_number.get("next").is_none(),
        "a page that is not full has no next: {by_number}"
    );

    let mut page = expect_json(app.get("/api/v1/users?size=2").await, StatusCode::OK).await;
    let mut walked = ids(&page);
    let mut numbers = vec![page["page"].clone()];
    // The cursor's user leaving the listing does not lose the place.
    let cursor_user = walked[1].as_str().unwrap().to_owned();
    assert_eq!(
        app.delete(&format!("/api/v1/users/{cursor_user}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    while let Some(next) = page["next"].as_str() {
        page = expect_json(
            app.get(&format!("/api/v1/users?size=2&after={next}")).await,
            StatusCode::OK,
        )
        .await;
        walked.extend(ids(&page));
        numbers.push(page["page"].clone());
        assert_eq!(page["total"], 5, "{page}");
    }
    let expected: Vec<_> = ids(&by_number)
        .into_iter()
        .filter(|id| id.as_str() != Some(cursor_user.as_str()))
        .collect();
    walked.retain(|id| id.as_str() != Some(cursor_user.as_str()));
    assert_eq!(
        walked, expected,
        "the walk covers every user once, newest first"
    );
    assert_eq!(
        numbers,
        [json!(1), json!(2), json!(3)],
        "the last page has no next"
    );
}

#[sqlx::test]
async fn page_numbers_stop_at_the_first_ten_thousand_users_and_say_how_to_go_on(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.sign_in_as_admin("quentin").await;
    assert_eq!(
        app.get("/api/v1/users?page=100&size=100").await.status(),
        StatusCode::OK
    );
    let error = expect_error(
        app.get("/api/v1/users?page=1001&size=10").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(bad_fields(&error), ["page"]);
    assert!(error.to_string().contains("after="), "{error}");
    let error = expect_error(
        app.get("/api/v1/users?after=not-a-cursor").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(bad_fields(&error), ["after"]);
}

#[sqlx::test]
async fn bad_query_parameters_are_listed_together(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.sign_in_as_admin("quentin").await;
    let error = expect_error(
        app.get("/api/v1/users?page=0&size=1000").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(bad_fields(&error), ["page", "size"]);
    let error = expect_error(
        app.get("/api/v1/users?size=ten").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(bad_fields(&error), ["size"]);
}

#[sqlx::test]
async fn patch_changes_only_what_it_names_and_moves_updated_at(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let created = app.create_user("margaret").await;
    app.sign_in_as("margaret").await;
    let path = format!("/api/v1/users/{}", created["id"].as_str().unwrap());

    let renamed = expect_json(
        app.send_json(
            Method::PATCH,
            &path,
            &json!({"full_name": "  Margaret Hamilton "}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(renamed["full_name"], "Margaret Hamilton");
    assert_eq!(renamed["is_active"], true);
    assert_eq!(renamed["created_at"], created["created_at"]);
    assert!(timestamp(&renamed["updated_at"]) > timestamp(&created["updated_at"]));

    let deactivated = expect_json(
        app.send_json(Method::PATCH, &path, &json!({"is_active": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(deactivated["is_active"], false);
    assert_eq!(deactivated["full_name"], "Margaret Hamilton");
    // An inactive user's token stops working; an administrator carries on.
    expect_error(
        app.get(&path).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    app.sign_in_as_admin("root").await;

    let cleared = expect_json(
        app.send_json(Method::PATCH, &path, &json!({"full_name": null}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["full_name"], Value::Null);

    let error = expect_error(
        app.send_json(Method::PATCH, &path, &json!({"email": "x@y.zz"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(bad_fields(&error), ["email", "body"]);
    let stored = expect_json(app.get(&path).await, StatusCode::OK).await;
    assert_eq!(stored["email"], "margaret@example.com");
}

#[sqlx::test]
async fn put_replaces_the_updatable_fields(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let created = app.create_user("barbara").await;
    app.sign_in_as("barbara").await;
    let path = format!("/api/v1/users/{}", created["id"].as_str().unwrap());

    let error = expect_error(
        app.send_json(Method::PUT, &path, &json!({"full_name": "B"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(bad_fields(&error), ["is_active"]);

    let replaced = expect_json(
        app.send_json(
            Method::PUT,
            &path,
            &json!({"full_name": null, "is_active": false}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (replaced["full_name"].clone(), replaced["is_active"].clone()),
        (Value::Null, json!(false))
    );
    assert!(timestamp(&replaced["updated_at"]) > timestamp(&created["updated_at"]));
}

#[sqlx::test]
async fn updating_a_missing_user_is_not_found(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.sign_in_as_admin("root").await;
    let path = format!("/api/v1/users/{}", uuid::Uuid::new_v4());
    expect_error(
        app.send_json(Method::PATCH, &path, &json!({"is_active": true}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_error(
        app.send_json(
            Method::PUT,
            &path,
            &json!({"full_name": null, "is_active": true}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[sqlx::test]
async fn delete_removes_the_user_once(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let created = app.create_user("dennis").await;
    app.sign_in_as_admin("root").await;
    let path = format!("/api/v1/users/{}", created["id"].as_str().unwrap());

    let response = app.delete(&path).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.text().await.unwrap().is_empty());
    expect_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found").await;
    let again = app.delete(&path).await;
    expect_error(again, StatusCode::NOT_FOUND, "not_found").await;
    expect_error(
        app.delete("/api/v1/users/42").await,
        StatusCode::BAD_REQUEST,
        "invalid_id",
    )
    .await;
}

fn timestamp(value: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        value.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

#[sqlx::test]
async fn an_email_spelled_composed_or_decomposed_is_one_address(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let mut first = new_user("zoe");
    first["email"] = json!("zo\u{e9}@example.com");
    let created = expect_json(
        app.post_json("/api/v1/users", &first).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["email"], "zo\u{e9}@example.com");
    let mut second = new_user("zoe2");
    second["email"] = json!("zoe\u{301}@example.com");
    expect_error(
        app.post_json("/api/v1/users", &second).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
}

#[sqlx::test]
async fn a_decomposed_spelling_signs_in_to_an_address_stored_composed(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let mut user = new_user("yves");
    user["email"] = json!("yv\u{e8}s@example.com");
    app.post_json("/api/v1/users", &user).await;
    let signed_in = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "yve\u{300}s@example.com", "password": crate::helpers::PASSWORD}),
        )
        .await;
    assert_eq!(signed_in.status(), StatusCode::OK);
}

/// The migration that brings stored emails to NFC: one per address, never a conflict.
#[sqlx::test]
async fn stored_emails_are_brought_to_nfc_without_conflicts(pool: PgPool) {
    let rows = [
        ("user1", "z\u{e9}lie@example.com", "z\u{e9}lie@example.com"),
        // Its NFC form is taken by u1: left as it is.
        (
            "user2",
            "ze\u{301}lie@example.com",
            "ze\u{301}lie@example.com",
        ),
        ("user3", "noe\u{308}l@example.com", "no\u{eb}l@example.com"),
        // Two spellings of one address, neither in NFC: the older one is rewritten.
        (
            "user4",
            "ae\u{323}\u{301}@example.com",
            "a\u{1eb9}\u{301}@example.com",
        ),
        (
            "user5",
            "ae\u{301}\u{323}@example.com",
            "ae\u{301}\u{323}@example.com",
        ),
    ];
    for (name, email, _) in rows {
        sqlx::query("INSERT INTO users (email, username, password_hash) VALUES ($1, $2, 'x')")
            .bind(email)
            .bind(name)
            .execute(&pool)
            .await
            .unwrap();
    }
    let migration = include_str!("../../migrations/20261124000002_normalize_emails.sql");
    let mut tx = pool.begin().await.unwrap();
    sqlx::raw_sql(migration).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    for (name, _, expected) in rows {
        let email: String = sqlx::query_scalar("SELECT email FROM users WHERE username = $1")
            .bind(name)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(email, expected, "{name}");
    }
}

#[sqlx::test]
async fn the_last_administrator_cannot_be_removed_or_deactivated(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.sign_in_as_admin("root").await;
    let me = expect_json(app.get("/api/v1/users/me").await, StatusCode::OK).await;
    let path = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
    let error = expect_error(
        app.send_json(reqwest::Method::PATCH, &path, &json!({"is_active": false}))
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("last active administrator"),
        "{error}"
    );
    expect_error(app.delete(&path).await, StatusCode::CONFLICT, "conflict").await;
    // With a second administrator, the first may go.
    let other = api::config::AdminBootstrap {
        username: "deputy".into(),
        email: "deputy@example.com".into(),
        password: crate::helpers::PASSWORD.into(),
    };
    api::auth::admin::create_admin(&app.pool, &other)
        .await
        .unwrap();
    assert_eq!(app.delete(&path).await.status(), StatusCode::NO_CONTENT);
}

/// The listing's total is kept by the database as users come and go (racing sign-ups and
/// deletes included), not counted over the whole table per page.
#[sqlx::test]
async fn the_listed_total_follows_sign_ups_and_deletes(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    app.sign_in_as_admin("root").await;
    let sign_ups = (0..20).map(|i| {
        let app = &app;
        async move { app.create_user(&format!("racer{i}")).await }
    });
    let created = futures::future::join_all(sign_ups).await;
    for user in &created[..5] {
        let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
        assert_eq!(app.delete(&path).await.status(), StatusCode::NO_CONTENT);
    }
    let page = expect_json(app.get("/api/v1/users?size=1").await, StatusCode::OK).await;
    let counted: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(counted, 16);
    assert_eq!(page["total"], counted, "{page}");
    // Many rows in one statement, either way (counted once per statement).
    sqlx::query(
        "INSERT INTO users (email, username, password_hash) \
         SELECT 'bulk' || n || '@example.com', 'bulk' || n, 'x' FROM generate_series(1, 1000) n",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "DELETE FROM users WHERE username LIKE 'bulk%' AND right(username, 1) IN ('1', '2', '3')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM users WHERE false")
        .execute(&pool)
        .await
        .unwrap();
    let page = expect_json(app.get("/api/v1/users?size=1").await, StatusCode::OK).await;
    assert_eq!(page["total"], 16 + 1000 - 300, "{page}");
    sqlx::query("TRUNCATE users CASCADE")
        .execute(&pool)
        .await
        .unwrap();
    let kept: i64 = sqlx::query_scalar("SELECT n FROM user_count")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 0, "a truncation resets the count");
}
