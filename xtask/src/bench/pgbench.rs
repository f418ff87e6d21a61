//! The database's own limit in the same run: `pgbench` at the api's concurrency running
//! the single-row select and the insert the api runs, prepared as sqlx prepares them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;

/// The api's `GET /api/v1/users/{id}` query (`UserRepo::find_as`: the caller's facts
/// and the user, in one statement) as the administrator `caller`, on a random seeded
/// user; seeded ids are `md5('bench' || n)`, so the script can name one.
pub fn select_script(users: u64, caller: &str) -> String {
    format!(
        "\\set n random(1, {users})\n\
         SELECT c.is_active, c.is_admin, c.token_version, t.id, t.email, t.username, t.full_name, \
         t.is_active, t.is_verified, t.is_admin, t.created_at, t.updated_at \
         FROM users c LEFT JOIN users t ON t.id = md5('bench' || :n)::uuid WHERE c.id = '{caller}';\n"
    )
}

/// What the api's list statements (`UserRepo::list_as`) select: the caller's facts, the
/// kept total, and a page of users.
const LIST_COLUMNS: &str = "c.is_active, c.is_admin, c.token_version, (SELECT n FROM user_count), \
     u.id, u.email, u.username, u.full_name, u.is_active, u.is_verified, u.is_admin, \
     u.created_at, u.updated_at";

/// The api's numbered list page as the administrator `caller`, on a random page among
/// the first `pages` of `size` (one row past the page, as the api reads it).
pub fn page_script(pages: u64, size: u64, caller: &str) -> String {
    format!(
        "\\set p random(1, {pages})\n\
         SELECT {LIST_COLUMNS} FROM users c LEFT JOIN LATERAL (\
         SELECT * FROM users u WHERE u.id = ANY (ARRAY(SELECT id FROM users WHERE c.is_admin \
         ORDER BY created_at DESC, id DESC LIMIT {limit} OFFSET (:p - 1) * {size}))) AS u ON true \
         WHERE c.id = '{caller}' ORDER BY u.created_at DESC, u.id DESC;\n",
        limit = size + 1
    )
}

/// The api's list page after a random seeded user of `users` (by the cursor the api
/// would have given: the user's creation time and id), as the administrator `caller`.
pub fn cursor_script(users: u64, size: u64, caller: &str) -> String {
    format!(
        "\\set n random(1, {users})\n\
         SELECT {LIST_COLUMNS} FROM users c LEFT JOIN LATERAL (\
         SELECT * FROM users WHERE c.is_admin AND (created_at, id) < \
         (timestamptz '2026-01-01' + :n * interval '1 millisecond', md5('bench' || :n)::uuid) \
         ORDER BY created_at DESC, id DESC LIMIT {limit}) AS u ON true \
         WHERE c.id = '{caller}' ORDER BY u.created_at DESC, u.id DESC;\n",
        limit = size + 1
    )
}

/// The address domain of the users [`insert_script`] adds, by which they are removed.
pub const INSERTED_DOMAIN: &str = "pg.bench.example";

/// The api's sign-up insert (`UserRepo::insert`), a new name each time.
pub fn insert_script(password_hash: &str) -> String {
    let hash = password_hash.replace('\'', "''");
    format!(
        "INSERT INTO users (email, username, full_name, password_hash, is_admin) \
         VALUES ('pg-' || gen_random_uuid() || '@{INSERTED_DOMAIN}', 'pg-' || gen_random_uuid(), NULL, '{hash}', false) \
         RETURNING id, email, username, full_name, is_active, is_verified, is_admin, created_at, updated_at;\n"
    )
}

/// What the api stores per transfer, at about its size: the outbox event and the answer
/// kept under the idempotency key.
const EVENT: &str = r#"{"event_id": "5b0f6f3e-3c1a-4f7e-9d8b-2a1c0e9f8d7c", "type": "ledger.transfer.completed", "movement_id": "0d6a2c1e-7f43-4b8e-9a51-3c2b1d0e9f87", "kind": "transfer", "amount": 1, "currency": "EUR", "currency_exponent": 2, "description": null, "from": {"account_id": "6f1c8a52-3b0e-4d5e-9f57-0c1d2e3f4a5b", "account_name": "Bench 1", "owner_id": "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b", "balance_after": 999999999999}, "to": {"account_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "account_name": "Bench 2", "owner_id": "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b", "balance_after": 1000000000001}, "created_at": "2026-11-25T10:00:00.123456Z"}"#;
const ANSWER: &str = r#"{"moved": {"id": "0d6a2c1e-7f43-4b8e-9a51-3c2b1d0e9f87", "kind": "transfer", "amount": 1, "currency": "EUR", "from_account_id": "6f1c8a52-3b0e-4d5e-9f57-0c1d2e3f4a5b", "to_account_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "description": null, "balance_after": 999999999999, "created_at": "2026-11-25T10:00:00.123456Z"}}"#;

/// The api's transfer (`transfers::ledger::execute`) as the administrator `caller`, of 1
/// minor unit between two random different accounts among the first `accounts` seeded:
/// the same statements in the same transaction (claim the key, lock both accounts in id
/// order, the movement with its entries, balances and event in one statement, store the
/// answer), with the values the api computes computed in SQL.
pub fn transfer_script(accounts: u64, caller: &str) -> String {
    let account = |var: &str| format!("md5('account' || :{var})::uuid");
    let (a, b) = (account("a"), account("b"));
    let key = "'pgbench-' || :client_id || '-' || :k";
    format!(
        "\\set a random(1, {accounts})\n\
         \\set d random(1, {last})\n\
         \\set b 1 + (:a + :d - 1) % {accounts}\n\
         \\set k random(1, 1000000000000000)\n\
         BEGIN;\n\
         INSERT INTO idempotency_keys (user_id, key, fingerprint, expires_at) \
         VALUES ('{caller}', {key}, sha256(({key})::bytea), clock_timestamp() + interval '1 day') \
         ON CONFLICT (user_id, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint \
         WHERE idempotency_keys.expires_at <= clock_timestamp() RETURNING true;\n\
         SELECT id, owner_id, name, currency, balance, closed_at IS NOT NULL FROM accounts \
         WHERE id = ANY (ARRAY[{a}, {b}]) AND kind = 'customer' ORDER BY id FOR NO KEY UPDATE;\n\
         WITH movement AS (INSERT INTO movements (id, kind, debit_account_id, credit_account_id, amount, \
         currency, description, initiated_by, created_at) VALUES (gen_random_uuid(), 'transfer', {a}, {b}, 1, \
         'EUR', NULL, '{caller}', clock_timestamp()) RETURNING id), \
         balances AS (UPDATE accounts SET balance = balance + CASE WHEN id = {a} THEN -1 ELSE 1 END \
         WHERE id IN ({a}, {b}) RETURNING id, balance), \
         entries AS (INSERT INTO entries (movement_id, account_id, amount, balance_after, created_at) \
         SELECT movement.id, balances.id, CASE WHEN balances.id = {a} THEN -1 ELSE 1 END, balances.balance, \
         clock_timestamp() FROM movement, balances) \
         INSERT INTO outbox (event_id, routing_key, payload, created_at) \
         VALUES (gen_random_uuid(), 'ledger.transfer.completed', '{EVENT}', clock_timestamp());\n\
         UPDATE idempotency_keys SET status = 201, response = '{ANSWER}' \
         WHERE user_id = '{caller}' AND key = {key};\n\
         END;\n",
        last = accounts - 1,
    )
}

/// Transactions per second of `script` with `clients` connections for `duration`.
pub fn run(
    pgbench: &Path,
    url: &str,
    name: &str,
    script: &str,
    clients: u32,
    duration: Duration,
    dir: &Path,
) -> anyhow::Result<f64> {
    let path = dir.join(format!("pgbench-{name}.sql"));
    std::fs::write(&path, script).with_context(|| format!("writing {}", path.display()))?;
    let stdout = super::stdout_of(
        Command::new(pgbench)
            .args(["--no-vacuum", "--protocol=prepared", "--jobs=2"])
            .arg(format!("--client={clients}"))
            .arg(format!("--time={}", duration.as_secs().max(1)))
            .arg(format!("--file={}", path.display()))
            .arg(url),
        &format!("pgbench {name}"),
        Some(&path.with_extension("out")),
    )?;
    tps(&stdout).with_context(|| format!("no tps in pgbench's output:\n{stdout}"))
}

fn tps(stdout: &str) -> Option<f64> {
    super::number_after(stdout, "tps = ")
}

/// `pgbench` from PATH or next to the PostgreSQL server binaries.
pub fn find() -> Option<PathBuf> {
    crate::project::on_path("pgbench").or_else(|| {
        std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin/pgbench"))
            .filter(|path| path.is_file())
            .max()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rate_pgbench_reports() {
        let stdout = "number of failed transactions: 0 (0.000%)\nlatency average = 1.283 ms\n\
                      initial connection time = 40.117 ms\ntps = 49871.225431 (without initial connection time)\n";
        assert_eq!(tps(stdout), Some(49871.225431));
        assert_eq!(tps("latency average = 1.283 ms"), None);
    }

    /// Each script is valid SQL for pgbench's prepared protocol on the api's real schema
    /// (pgbench stops at the first failing statement), and the users the insert adds are
    /// removed again, the seeded ones kept.
    #[test]
    fn the_scripts_run_on_the_apis_schema() {
        let pgbench = find().expect("pgbench comes with PostgreSQL's server binaries");
        let (scratch, ids) = super::super::seed::test_database("xtask_test_bench_pgbench", 50);
        let caller = &ids[0];
        super::super::seed::accounts(scratch.url(), caller).unwrap();
        let dir = std::env::temp_dir().join(format!("xtask-pgbench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, script) in [
            ("select", select_script(50, caller)),
            ("page", page_script(5, 10, caller)),
            ("cursor", cursor_script(50, 10, caller)),
            ("insert", insert_script("not a real hash")),
            (
                "transfer",
                transfer_script(super::super::seed::ACCOUNTS, caller),
            ),
        ] {
            let tps = run(
                &pgbench,
                scratch.url(),
                name,
                &script,
                2,
                Duration::from_secs(1),
                &dir,
            )
            .unwrap_or_else(|err| panic!("{name}: {err:#}"));
            assert!(tps > 10.0, "{name}: {tps} tx/s");
        }
        std::fs::remove_dir_all(&dir).unwrap();
        // The transfers moved money as the api does: balanced, none created or lost.
        let (movements, total, unbalanced): (i64, i64, i64) = crate::scratch_database::block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(scratch.url()).await?;
            Ok(sqlx::query_as(
                "SELECT (SELECT count(*) FROM movements), (SELECT sum(balance)::bigint FROM accounts), \
                 (SELECT count(*) FROM movements m WHERE (SELECT sum(amount) FROM entries e WHERE e.movement_id = m.id) <> 0)",
            )
            .fetch_one(&mut conn)
            .await?)
        })
        .unwrap();
        assert!(movements > 10, "{movements} transfers");
        assert_eq!(
            total,
            super::super::seed::ACCOUNTS as i64 * 1_000_000_000_000
        );
        assert_eq!(unbalanced, 0);
        super::super::seed::remove_inserted(scratch.url()).unwrap();
        let left: Vec<String> = crate::scratch_database::block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(scratch.url()).await?;
            Ok(
                sqlx::query_scalar("SELECT id::text FROM users ORDER BY created_at")
                    .fetch_all(&mut conn)
                    .await?,
            )
        })
        .unwrap();
        assert_eq!(left, ids, "the seeded users, and only they");
    }

    #[test]
    fn the_scripts_run_the_apis_own_statements() {
        let select = select_script(10_000, "0b7c1d52-8c1f-4c3e-9d5e-2f4a6b8c0d1e");
        assert!(select.starts_with("\\set n random(1, 10000)\n"), "{select}");
        assert!(
            select.contains("LEFT JOIN users t ON t.id = md5('bench' || :n)::uuid WHERE c.id = '0b7c1d52-8c1f-4c3e-9d5e-2f4a6b8c0d1e'"),
            "{select}"
        );
        let page = page_script(1000, 10, "0b7c1d52-8c1f-4c3e-9d5e-2f4a6b8c0d1e");
        assert!(page.starts_with("\\set p random(1, 1000)\n"), "{page}");
        assert!(page.contains("LIMIT 11 OFFSET (:p - 1) * 10"), "{page}");
        assert!(page.contains("(SELECT n FROM user_count)"), "{page}");
        let cursor = cursor_script(10_000, 10, "0b7c1d52-8c1f-4c3e-9d5e-2f4a6b8c0d1e");
        assert!(cursor.starts_with("\\set n random(1, 10000)\n"), "{cursor}");
        assert!(
            cursor.contains("md5('bench' || :n)::uuid) ORDER BY created_at DESC, id DESC LIMIT 11"),
            "{cursor}"
        );
        assert!(
            insert_script("$argon2id$'x").contains("'$argon2id$''x'"),
            "quotes doubled"
        );
        let transfer = transfer_script(100, "0b7c1d52-8c1f-4c3e-9d5e-2f4a6b8c0d1e");
        assert!(
            transfer.contains("\\set b 1 + (:a + :d - 1) % 100\n"),
            "{transfer}"
        );
        assert!(
            transfer.contains("ORDER BY id FOR NO KEY UPDATE"),
            "locks as the api does: {transfer}"
        );
    }
}
