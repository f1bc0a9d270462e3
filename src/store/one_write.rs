//! The store opened for one short write, as `mentord deliver` needs it: a process per
//! mail, hundreds a second, so nothing beyond one connection, and the migrations run
//! only when the store lacks one (a first hand-off before any daemon ran, an upgrade).
//! A SQLite file is made (owner-only) as [`Store::open`] makes it.

use std::str::FromStr as _;

use anyhow::Context as _;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

use super::{Location, POSTGRES_MIGRATIONS, Pool, SQLITE_MIGRATIONS, Store, on, sqlite};

impl Store {
    /// Opens the store at `location` with one connection, migrated.
    pub async fn open_for_one_write(location: &Location) -> anyhow::Result<Store> {
        let store = match location {
            Location::Sqlite(path) => {
                sqlite::create_with_folder(path)?;
                let options =
                    SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
                        .journal_mode(SqliteJournalMode::Wal)
                        .busy_timeout(std::time::Duration::from_secs(5))
                        .create_if_missing(false);
                let pool = sqlite::one_connection(path, options).await?;
                let writer = pool.clone();
                Store::new(Pool::Sqlite { pool, writer }, Some(path.clone()), false)
            }
            Location::Postgres(url) => {
                let pool = super::postgres::pool(url, 1, super::postgres::options(url)?).await?;
                Store::new(Pool::Postgres(pool), None, false)
            }
        };
        let migrator: &Migrator = match location {
            Location::Sqlite(_) => &SQLITE_MIGRATIONS,
            Location::Postgres(_) => &POSTGRES_MIGRATIONS,
        };
        let latest = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> = on!(store, |pool| sqlx::query_scalar(
            "SELECT MAX(version) FROM _sqlx_migrations WHERE success"
        )
        .fetch_one(pool)
        .await
        .ok()
        .flatten());
        if applied != Some(latest) {
            on!(store, |pool| migrator.run(pool).await).context("while migrating the store")?;
        }
        Ok(store)
    }
}
