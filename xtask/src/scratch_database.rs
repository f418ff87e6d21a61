//! A database of its own next to the one `DATABASE_URL` (or the throwaway server) names,
//! for a task that must not share state: the compile-time SQL check, the benchmark.
//! Dropped again when the value goes away.

use anyhow::Context;

pub struct ScratchDatabase {
    server_url: String,
    name: String,
    url: String,
    removed: bool,
}

impl ScratchDatabase {
    /// Creates database `name` (letters, digits, underscores: ours, never input) on the
    /// server `server_url` connects to, replacing any left by an earlier run; with
    /// `migrate`, applies the api's migrations to it.
    pub fn create(server_url: &str, name: &str, migrate: bool) -> anyhow::Result<Self> {
        let url = with_database(server_url, name)?;
        block_on(async {
            use sqlx::Connection;
            let mut admin = sqlx::PgConnection::connect(server_url)
                .await
                .context("connecting to the database server")?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .with_context(|| format!("creating the scratch database {name}"))?;
            if migrate {
                let migrations = crate::project::root().join("api/migrations");
                let mut conn = sqlx::PgConnection::connect(&url)
                    .await
                    .with_context(|| format!("connecting to {name}"))?;
                sqlx::migrate::Migrator::new(migrations.as_path())
                    .await
                    .with_context(|| format!("reading {}", migrations.display()))?
                    .run(&mut conn)
                    .await
                    .context("applying the api's migrations")?;
            }
            Ok(())
        })?;
        Ok(Self {
            server_url: server_url.to_owned(),
            name: name.to_owned(),
            url,
            removed: false,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database now, saying why if that fails (dropping the value only tries).
    pub fn remove(mut self) -> anyhow::Result<()> {
        self.removed = true;
        drop_database(&self.server_url, &self.name)
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if !self.removed {
            let _ = drop_database(&self.server_url, &self.name);
        }
    }
}

fn drop_database(server_url: &str, name: &str) -> anyhow::Result<()> {
    block_on(async {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(server_url).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
        Ok(())
    })
    .with_context(|| format!("dropping the scratch database {name}"))
}

/// Runs database work from the synchronous tasks.
pub fn block_on<T>(
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime")?
        .block_on(work)
}

/// `url` with its database (the path) replaced by `name`.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let rest = base
        .strip_prefix("postgres://")
        .or_else(|| base.strip_prefix("postgresql://"))
        .context("DATABASE_URL is not a postgres:// URL")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let mut out = format!("postgres://{authority}/{name}");
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_scratch_database_replaces_only_the_name() {
        assert_eq!(
            with_database("postgres://u:p@h:5433/postgres?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h:5433/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgresql://h", "x").unwrap(),
            "postgres://h/x"
        );
        assert!(with_database("mysql://h/db", "x").is_err());
    }
}
