//! The server's own database role (`DB_APP_USER`), kept by `api migrate`: a login role
//! that reads and writes rows and nothing more. The server then never connects as the
//! owner of the schema, let alone as a superuser (the in-chart PostgreSQL makes its
//! `POSTGRES_USER` one), so an injected statement cannot drop tables, create functions or
//! read other databases.
//!
//! Role names and passwords cannot be bound parameters in DDL: PostgreSQL's `format`
//! (`%I` identifier, `%L` literal) quotes them, and the statements run as it wrote them.
//! Like any `ALTER ROLE ... PASSWORD`, they reach the server log only with
//! `log_statement` set to `ddl` or `all` (the default is `none`).

use sqlx::{PgConnection, PgPool};

use crate::config::AppRole;

#[derive(Debug, thiserror::Error)]
pub enum AppRoleError {
    #[error("DB_APP_USER {0:?} is the role migrate connects as: give the server a role of its own")]
    SameAsOwner(String),
    #[error(
        "DB_APP_USER {0:?} is a superuser, which is what the role is there to avoid: name another role"
    )]
    Superuser(String),
    #[error(
        "cannot create or grant the role DB_APP_USER {role:?}: {source}; give the role migrate connects as CREATEROLE, or create {role:?} yourself and grant it row access"
    )]
    Database {
        role: String,
        #[source]
        source: sqlx::Error,
    },
}

/// Whether the role was there before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleOutcome {
    Created,
    Updated,
}

/// Creates the role (or sets its password and attributes again), and grants it row access
/// to every table and sequence in the schema, read-only on the migrations ledger. Run after
/// every migration, so tables a migration adds are granted too. Two runs at once queue on
/// an advisory lock (roles are cluster-wide, `CREATE ROLE` is not idempotent).
pub async fn ensure(pool: &PgPool, role: &AppRole) -> Result<RoleOutcome, AppRoleError> {
    let database = |source| AppRoleError::Database {
        role: role.name.clone(),
        source,
    };
    let mut tx = pool.begin().await.map_err(database)?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('api: application role'))")
        .execute(&mut *tx)
        .await
        .map_err(database)?;
    let current: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut *tx)
        .await
        .map_err(database)?;
    if current == role.name {
        return Err(AppRoleError::SameAsOwner(role.name.clone()));
    }
    let superuser: Option<bool> =
        sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = $1")
            .bind(&role.name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(database)?;
    if superuser == Some(true) {
        return Err(AppRoleError::Superuser(role.name.clone()));
    }
    let exists = superuser.is_some();
    let define = if exists {
        "ALTER ROLE %1$I WITH"
    } else {
        "CREATE ROLE %1$I"
    };
    let attributes =
        " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %4$L";
    for statement in [
        &format!("{define}{attributes}"),
        "GRANT CONNECT ON DATABASE %2$I TO %1$I",
        "GRANT USAGE ON SCHEMA %3$I TO %1$I",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %3$I TO %1$I",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %3$I TO %1$I",
        "REVOKE INSERT, UPDATE, DELETE ON %3$I._sqlx_migrations FROM %1$I",
    ] {
        run_formatted(&mut tx, statement, role)
            .await
            .map_err(database)?;
    }
    tx.commit().await.map_err(database)?;
    Ok(if exists {
        RoleOutcome::Updated
    } else {
        RoleOutcome::Created
    })
}

/// Runs `template` as PostgreSQL's `format` fills it: `%1$I` the role, `%2$I` the
/// database, `%3$I` the schema, `%4$L` the role's password.
async fn run_formatted(
    conn: &mut PgConnection,
    template: &str,
    role: &AppRole,
) -> Result<(), sqlx::Error> {
    let statement: String = sqlx::query_scalar(
        "SELECT format($1, $2::text, current_database(), current_schema(), $3::text)",
    )
    .bind(template)
    .bind(&role.name)
    .bind(&role.password)
    .fetch_one(&mut *conn)
    .await?;
    // Quoted by PostgreSQL itself, above.
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(&mut *conn)
        .await?;
    Ok(())
}
