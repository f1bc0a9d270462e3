//! What went wrong in the store, as its callers branch on it: [`StoreError`] says
//! whether trying again later can help ([`StoreError::is_transient`]). Store methods
//! return `anyhow::Result` with the database's error inside; [`StoreError::is_transient_error`]
//! finds it there, so callers ask one question whichever method failed.

use std::path::PathBuf;

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database's own error (its text as the driver gives it).
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A SQLite store's file was replaced while mentord ran.
    #[error(
        "the store {} was replaced while mentord ran; nothing is sent from it. \
         Put the original back, or restart mentord to adopt the new file",
        .0.display()
    )]
    Replaced(PathBuf),
    /// A SQLite store's file was deleted while mentord ran.
    #[error(
        "the store {} was deleted while mentord ran; nothing is sent. Restore it \
         from a backup and restart; a new empty store would send every invite again",
        .0.display()
    )]
    Deleted(PathBuf),
}

impl StoreError {
    /// Whether the same work may succeed later without anyone changing anything: the
    /// server down or restarting, the connection lost, no connection free in time,
    /// another writer holding SQLite's lock, PostgreSQL giving up a transaction that
    /// met another (serialization failure, deadlock). The rest (a refused statement, a
    /// constraint, a file replaced or deleted) stays until someone acts.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(error) => transient(error),
            StoreError::Replaced(_) | StoreError::Deleted(_) => false,
        }
    }

    /// [`StoreError::is_transient`] for whatever a store method returned: the first
    /// store or database error in its chain decides; an error without one (a program
    /// file, a body that would not parse) is not the store's and not transient.
    pub fn is_transient_error(error: &anyhow::Error) -> bool {
        error.chain().find_map(|cause| {
            if let Some(store) = cause.downcast_ref::<StoreError>() {
                Some(store.is_transient())
            } else {
                cause.downcast_ref::<sqlx::Error>().map(transient)
            }
        }) == Some(true)
    }
}

/// SQLite's primary result codes that mean "not now": `SQLITE_BUSY`, `SQLITE_LOCKED`
/// (the extended codes carry them in their low byte).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

/// PostgreSQL's SQLSTATEs that mean "not now": serialization failure, deadlock, the
/// server shutting down, crashing or starting, too many connections. Class `08`
/// (connection exceptions) is matched as a class.
const POSTGRES_TRANSIENT: [&str; 6] = ["40001", "40P01", "57P01", "57P02", "57P03", "53300"];

fn transient(error: &sqlx::Error) -> bool {
    match error {
        // The socket: refused, reset, timed out, the server gone mid-answer.
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            match code.parse::<i64>() {
                // SQLite: a number, the extended result code.
                Ok(sqlite) => matches!(sqlite & 0xff, SQLITE_BUSY | SQLITE_LOCKED),
                // PostgreSQL: a SQLSTATE.
                Err(_) => code.starts_with("08") || POSTGRES_TRANSIENT.contains(&code.as_ref()),
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    use super::StoreError;

    fn transient(error: sqlx::Error) -> bool {
        StoreError::from(error).is_transient()
    }

    /// Errors the driver makes without a server: a pool with no connection free in
    /// time, a closed pool, a refused connection are worth waiting for; a row that is
    /// not there or a bad configuration are not.
    #[test]
    fn waiting_helps_with_connections_not_with_statements() {
        assert!(transient(sqlx::Error::PoolTimedOut));
        assert!(transient(sqlx::Error::PoolClosed));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(transient(sqlx::Error::Io(refused)));
        assert!(!transient(sqlx::Error::RowNotFound));
        assert!(!transient(sqlx::Error::Protocol("garbled".into())));
        assert!(!StoreError::Deleted("mentord.db".into()).is_transient());
        // Inside an anyhow chain, under context, as store methods return them.
        let wrapped = anyhow::Error::new(sqlx::Error::PoolTimedOut).context("while claiming");
        assert!(StoreError::is_transient_error(&wrapped));
        let replaced = anyhow::Error::new(StoreError::Replaced("mentord.db".into()));
        assert!(!StoreError::is_transient_error(&replaced));
        assert!(!StoreError::is_transient_error(&anyhow::anyhow!(
            "the program file is invalid"
        )));
    }

    /// A PostgreSQL server that is not there (nothing listens on the port): opening the
    /// store fails, and the answer, under the store's own context, is "try later".
    #[tokio::test]
    async fn a_server_that_refuses_the_connection_is_transient() {
        let url = "postgres://mentord@127.0.0.1:1/mentord".to_string();
        let refused = crate::store::Store::open(crate::store::Location::Postgres(url))
            .await
            .unwrap_err();
        assert!(StoreError::is_transient_error(&refused), "{refused:#}");
    }

    /// Real SQLite errors: a write while another connection holds the write lock
    /// (`SQLITE_BUSY`, no patience configured) is transient; a constraint is not.
    #[tokio::test]
    async fn sqlite_busy_is_transient_and_a_constraint_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::from_str(&format!(
            "sqlite://{}",
            dir.path().join("busy.db").display()
        ))
        .unwrap()
        .create_if_missing(true)
        .busy_timeout(std::time::Duration::ZERO);
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .execute(&pool)
            .await
            .unwrap();
        let mut holder = pool.begin().await.unwrap();
        sqlx::query("INSERT INTO t (id) VALUES (1)")
            .execute(&mut *holder)
            .await
            .unwrap();
        let busy = sqlx::query("INSERT INTO t (id) VALUES (2)")
            .execute(&pool)
            .await
            .unwrap_err();
        assert!(transient(busy), "a second writer meets SQLITE_BUSY");
        holder.commit().await.unwrap();
        let duplicate = sqlx::query("INSERT INTO t (id) VALUES (1)")
            .execute(&pool)
            .await
            .unwrap_err();
        assert!(
            !transient(duplicate),
            "a constraint stays until someone acts"
        );
    }
}
