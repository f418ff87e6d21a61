//! The pool's connections ask PostgreSQL for generic plans (`db::lazy_pool`): each
//! statement is planned once per connection instead of on every execution, which halved
//! PostgreSQL's work for a list page whose size is a parameter. That is right only while
//! every statement's generic plan is a good one, so this plans every statement the api
//! prepares (sqlx's offline cache, `api/.sqlx`, which the compile-time check keeps equal
//! to the code) the generic way over 10,000 users (with their accounts, ledger,
//! notifications, outbox and idempotency keys) and requires each to read those tables
//! through an index.

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// `(query, number of parameters)` of every statement in the offline cache.
fn prepared_statements() -> Vec<(String, usize)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/.sqlx");
    let mut statements: Vec<(String, usize)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let cached: serde_json::Value = serde_json::from_str(&text).unwrap();
            let parameters = cached["describe"]["parameters"]["Left"]
                .as_array()
                .map_or(0, Vec::len);
            (cached["query"].as_str().unwrap().to_owned(), parameters)
        })
        .collect();
    statements.sort();
    statements
}

#[sqlx::test]
async fn every_statement_with_parameters_reads_through_an_index_when_planned_generically(
    pool: PgPool,
) {
    sqlx::raw_sql(
        "INSERT INTO users (email, username, full_name, password_hash, is_admin) \
         SELECT 'plan' || n || '@example.com', 'plan' || n, 'Plan ' || n, 'x', n % 100 = 0 \
         FROM generate_series(1, 10000) AS n; \
         INSERT INTO accounts (owner_id, name, currency, balance) \
         SELECT id, 'Main', 'EUR', 100 FROM users; \
         INSERT INTO accounts (kind, name, currency) VALUES ('external', 'outside the bank', 'EUR'); \
         INSERT INTO movements (kind, debit_account_id, credit_account_id, amount, currency, initiated_by) \
         SELECT 'deposit', (SELECT id FROM accounts WHERE kind = 'external'), a.id, 100, 'EUR', a.owner_id \
         FROM accounts a WHERE a.kind = 'customer'; \
         INSERT INTO entries (movement_id, account_id, amount, balance_after) \
         SELECT m.id, m.credit_account_id, m.amount, 100 FROM movements m \
         UNION ALL SELECT m.id, m.debit_account_id, -m.amount, NULL FROM movements m; \
         INSERT INTO outbox (routing_key, payload, published_at) \
         SELECT 'ledger.deposit.completed', '{}', CASE WHEN n % 10 = 0 THEN NULL ELSE now() END \
         FROM generate_series(1, 10000) AS n; \
         INSERT INTO notifications (user_id, event_id, kind, message, data, read_at) \
         SELECT id, gen_random_uuid(), 'deposit', 'Deposited', '{}', NULL FROM users; \
         INSERT INTO idempotency_keys (user_id, key, fingerprint, expires_at) \
         SELECT id, 'key', '\\x00', now() + interval '1 day' FROM users; \
         ANALYZE",
    )
    .execute(&pool)
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::raw_sql("SET plan_cache_mode = force_generic_plan")
        .execute(&mut *conn)
        .await
        .unwrap();
    let statements = prepared_statements();
    assert!(statements.len() >= 10, "the offline cache: {statements:?}");
    let mut checked = 0;
    for (n, (query, parameters)) in statements.iter().enumerate() {
        // Without parameters a statement has one plan however it is cached.
        if *parameters == 0 {
            continue;
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("PREPARE s{n} AS {query}")))
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|err| panic!("preparing {query}: {err}"));
        // A generic plan does not look at the values, so NULLs stand in for them (and
        // EXPLAIN without ANALYZE runs nothing, writes included).
        let nulls = vec!["NULL"; *parameters].join(", ");
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "EXPLAIN EXECUTE s{n}({nulls})"
        )))
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_else(|err| panic!("planning {query}: {err}"));
        let plan = plan.join("\n");
        for table in [
            "users",
            "accounts",
            "movements",
            "entries",
            "notifications",
            "outbox",
            "idempotency_keys",
        ] {
            assert!(
                !plan.contains(&format!("Seq Scan on {table}")),
                "the generic plan of\n{query}\nscans all of {table}:\n{plan}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "{checked} statements checked");
}

#[sqlx::test]
async fn the_pools_connections_ask_for_generic_plans(_: PgPoolOptions, db: PgConnectOptions) {
    let url = crate::helpers::database_url(&db);
    let config = crate::helpers::test_config(&[("DATABASE_URL", &url)]);
    let pool = api::db::lazy_pool(&config.database);
    let mode: String = sqlx::query_scalar("SELECT current_setting('plan_cache_mode')")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "force_generic_plan");
}
