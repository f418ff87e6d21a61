//! `api migrate` keeping the server's own database role (`DB_APP_USER`): created on the
//! first run, its password kept in step after, row access only, never the owner.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection};

use crate::cli::{api, finish};
use crate::helpers::{TestApp, database_url};

async fn stored_password(owner: &mut PgConnection, role: &str) -> Option<String> {
    sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = $1")
        .bind(role)
        .fetch_one(owner)
        .await
        .unwrap()
}

async fn refused(conn: &mut PgConnection, statement: &'static str) -> String {
    sqlx::raw_sql(statement)
        .execute(conn)
        .await
        .expect_err(statement)
        .to_string()
}

#[sqlx::test(migrations = false)]
async fn migrate_gives_the_server_a_role_that_reads_and_writes_rows_and_nothing_more(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let url = database_url(&db);
    // Roles are cluster-wide: one per test database.
    let mut role = format!("app{}", db.get_database().unwrap().to_lowercase());
    role.truncate(48);
    let migrate = |password: &'static str| {
        let env = [
            ("DATABASE_URL", url.as_str()),
            ("DB_APP_USER", role.as_str()),
            ("DB_APP_PASSWORD", password),
        ];
        finish(api(&["migrate"], &env))
    };
    // Two at once (two Jobs after a quick upgrade) queue on the lock; one creates it.
    let (first, second) = tokio::join!(migrate("first-password"), migrate("first-password"));
    assert!(
        first.success && second.success,
        "{}\n{}",
        first.output,
        second.output
    );
    assert!(
        first.output.contains("row access to every table"),
        "{}",
        first.output
    );

    let mut owner = PgConnection::connect_with(&db).await.unwrap();
    let first_hash = stored_password(&mut owner, &role).await;
    assert!(first_hash.is_some(), "the role has a password");
    let superuser: bool = sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = $1")
        .bind(&role)
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert!(!superuser);

    // The server works as the role: sign-up, sign-in, reads.
    let as_role = db.clone().username(&role).password("first-password");
    let pool = PgPoolOptions::new()
        .connect_with(as_role.clone())
        .await
        .unwrap();
    let app = TestApp::spawn(pool.clone()).await;
    app.create_user("alice").await;
    app.sign_in_as_admin("root").await;
    let listed = app.get("/api/v1/users").await;
    assert_eq!(listed.status(), reqwest::StatusCode::OK);

    // And can do nothing an injected statement would want.
    let mut conn = PgConnection::connect_with(&as_role).await.unwrap();
    for (statement, expected) in [
        ("DROP TABLE users", "must be owner"),
        ("CREATE TABLE stolen (id int)", "permission denied"),
        ("DELETE FROM _sqlx_migrations", "permission denied"),
        ("ALTER TABLE users ADD COLUMN x int", "must be owner"),
        ("CREATE ROLE intruder", "permission denied"),
    ] {
        let error = refused(&mut conn, statement).await;
        assert!(error.contains(expected), "{statement}: {error}");
    }
    conn.close().await.unwrap();
    pool.close().await;

    // A new password (a rotated Secret) reaches the role on the next migrate.
    let rotated = migrate("second-password").await;
    assert!(rotated.success, "{}", rotated.output);
    assert_ne!(stored_password(&mut owner, &role).await, first_hash);

    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP OWNED BY {role}; DROP ROLE {role}"
    )))
    .execute(&mut owner)
    .await
    .unwrap();
}

#[sqlx::test(migrations = false)]
async fn migrate_refuses_to_hand_the_server_its_own_role_or_a_bad_name(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let url = database_url(&db);
    let owner = db.get_username().to_owned();
    let same = finish(api(
        &["migrate"],
        &[
            ("DATABASE_URL", url.as_str()),
            ("DB_APP_USER", owner.as_str()),
            ("DB_APP_PASSWORD", "x"),
        ],
    ))
    .await;
    assert!(!same.success);
    assert!(
        same.output.contains("is the role migrate connects as"),
        "{}",
        same.output
    );
    let bad = finish(api(
        &["migrate"],
        &[
            ("DATABASE_URL", url.as_str()),
            ("DB_APP_USER", "App-Role"),
            ("DB_APP_PASSWORD", "x"),
        ],
    ))
    .await;
    assert_eq!(bad.code, Some(2), "{}", bad.output);
    assert!(bad.output.contains("DB_APP_USER"), "{}", bad.output);
    let no_password = finish(api(
        &["migrate"],
        &[("DATABASE_URL", url.as_str()), ("DB_APP_USER", "api_app")],
    ))
    .await;
    assert_eq!(no_password.code, Some(2), "{}", no_password.output);
    assert!(
        no_password.output.contains("DB_APP_PASSWORD_FILE"),
        "{}",
        no_password.output
    );
}
