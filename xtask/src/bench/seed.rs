//! The benchmark's data: an administrator made by the api itself (`api create-admin`),
//! whose token reads other users, and N users written straight into the table with the
//! administrator's password hash (hashing each would take minutes). Seeded ids are
//! `md5('bench' || n)`, so pgbench and wrk can pick one at random by number.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, bail};

use crate::http_probe;
use crate::scratch_database::block_on;

pub const ADMIN: &str = "bench-admin";
/// The password of the administrator and of every seeded user.
pub const PASSWORD: &str = "bench password 1234";

/// The benchmark's administrator, as the api made it.
pub struct Admin {
    pub id: String,
    pub password_hash: String,
}

/// Makes the administrator through the api's own command.
pub fn admin(binary: &Path, env: &[(String, String)], url: &str) -> anyhow::Result<Admin> {
    let mut env = env.to_vec();
    env.extend(
        [
            ("ADMIN_USERNAME", ADMIN),
            ("ADMIN_EMAIL", "bench-admin@bench.example"),
            ("ADMIN_PASSWORD", PASSWORD),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    super::run_api(binary, "create-admin", &env)?;
    block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let (id, password_hash): (String, String) =
            sqlx::query_as("SELECT id::text, password_hash FROM users WHERE username = $1")
                .bind(ADMIN)
                .fetch_one(&mut conn)
                .await
                .context("reading the administrator's id and password hash")?;
        Ok(Admin { id, password_hash })
    })
}

/// Users `bench<n>` for `n` in `from..=to`, newest last, in batches of 100,000 (each one
/// transaction); then vacuumed and analysed.
pub fn users(url: &str, from: u64, to: u64, password_hash: &str) -> anyhow::Result<()> {
    block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let mut start = from;
        while start <= to {
            let end = to.min(start + 99_999);
            sqlx::query(
                "INSERT INTO users (id, email, username, full_name, password_hash, created_at, updated_at) \
                 SELECT md5('bench' || n)::uuid, 'bench' || n || '@bench.example', 'bench' || n, \
                        'Bench User ' || n, $1, \
                        timestamptz '2026-01-01' + n * interval '1 millisecond', \
                        timestamptz '2026-01-01' + n * interval '1 millisecond' \
                 FROM generate_series($2::bigint, $3::bigint) AS n",
            )
            .bind(password_hash)
            .bind(i64::try_from(start)?)
            .bind(i64::try_from(end)?)
            .execute(&mut conn)
            .await
            .with_context(|| format!("seeding users {start} to {end}"))?;
            start = end + 1;
        }
        vacuum(&mut conn).await
    })
}

/// How many accounts the transfer scenarios move money between.
pub const ACCOUNTS: u64 = 100;

/// [`ACCOUNTS`] EUR accounts of `owner` (`md5('account' || n)` for `n` from 1, so
/// pgbench can name them), each holding more than any run can move; their ids in order.
pub fn accounts(url: &str, owner: &str) -> anyhow::Result<Vec<String>> {
    block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query(
            "INSERT INTO accounts (id, owner_id, name, currency, balance) \
             SELECT md5('account' || n)::uuid, $1::uuid, 'Bench ' || n, 'EUR', 1000000000000 \
             FROM generate_series(1, $2::bigint) AS n",
        )
        .bind(owner)
        .bind(i64::try_from(ACCOUNTS)?)
        .execute(&mut conn)
        .await
        .context("seeding the accounts")?;
        Ok(sqlx::query_scalar(
            "SELECT md5('account' || n)::uuid::text FROM generate_series(1, $1::bigint) AS n ORDER BY n",
        )
        .bind(i64::try_from(ACCOUNTS)?)
        .fetch_all(&mut conn)
        .await?)
    })
}

/// Removes the users pgbench's insert added, then vacuums as autovacuum soon would: they
/// are the newest, so numbered pages would step over them, and without a visibility map
/// for their pages (a fresh insert has none) through the table rather than the index.
pub fn remove_inserted(url: &str) -> anyhow::Result<()> {
    block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query("DELETE FROM users WHERE email LIKE '%@' || $1")
            .bind(super::pgbench::INSERTED_DOMAIN)
            .execute(&mut conn)
            .await
            .context("removing the users pgbench inserted")?;
        vacuum(&mut conn).await
    })
}

/// What autovacuum does soon after a bulk change in production: statistics for the
/// planner, and a visibility map so listing pages read the index alone.
async fn vacuum(conn: &mut sqlx::PgConnection) -> anyhow::Result<()> {
    sqlx::raw_sql("VACUUM ANALYZE users")
        .execute(conn)
        .await
        .context("vacuuming the users table")?;
    Ok(())
}

/// An access token of the administrator.
pub fn admin_token(address: SocketAddr) -> anyhow::Result<String> {
    let body = serde_json::json!({ "username": ADMIN, "password": PASSWORD }).to_string();
    let (status, reply) =
        http_probe::request(address, "POST", "/api/v1/auth/login", &[], Some(&body))
            .context("signing in as the benchmark administrator")?;
    if status != 200 {
        bail!("signing in as the benchmark administrator answered {status}: {reply}");
    }
    let reply: serde_json::Value = serde_json::from_str(&reply)
        .with_context(|| format!("the sign-in reply is not JSON: {reply}"))?;
    reply["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("the sign-in reply has no access_token")
}

/// For tests: a migrated scratch database `name` on `DATABASE_URL`'s server with users
/// 1..=`users` seeded, and their ids.
#[cfg(test)]
pub fn test_database(
    name: &str,
    users: u64,
) -> (crate::scratch_database::ScratchDatabase, Vec<String>) {
    let server = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL names a PostgreSQL server: run the tests through `cargo xtask test`");
    let scratch = crate::scratch_database::ScratchDatabase::create(&server, name, true)
        .expect("creating and migrating the scratch database");
    self::users(scratch.url(), 1, users, "not a real hash").expect("seeding users");
    let ids = super::scenarios::seeded_ids(scratch.url(), users).expect("reading their ids");
    (scratch, ids)
}
