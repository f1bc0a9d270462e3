//! How a daemon learns that `mentord deliver` handed off mail ([`super::mail_queue`])
//! without asking the store over and over: on PostgreSQL it `LISTEN`s on
//! [`super::MAIL_CHANNEL`], which each hand-off notifies in its transaction; on SQLite
//! it reads `PRAGMA data_version` on a connection of its own every 250 ms, a check of
//! the WAL index in shared memory that changes only when another connection commits
//! (no query of the queue while nothing is written). Either way it also wakes now and
//! then ([`MailSignal::next`]'s `fallback`), for claims that ran out.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::Connection as _;
use sqlx::postgres::PgListener;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use super::{Location, MAIL_CHANNEL};

/// How often SQLite's `data_version` is read.
const SQLITE_POLL: Duration = Duration::from_millis(250);

/// A wake-up for mail handed off.
#[derive(Debug)]
pub enum MailSignal {
    Listen(Box<PgListener>),
    Version {
        connection: Box<SqliteConnection>,
        last: i64,
    },
    /// Neither could be had: a look every second.
    Poll,
}

impl MailSignal {
    /// The signal for the store at `location`; polling if it cannot be set up.
    pub async fn open(location: &Location) -> MailSignal {
        match MailSignal::try_open(location).await {
            Ok(signal) => signal,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "mail handed off is looked for every second");
                MailSignal::Poll
            }
        }
    }

    async fn try_open(location: &Location) -> anyhow::Result<MailSignal> {
        Ok(match location {
            Location::Postgres(url) => {
                let pool = super::postgres::pool(url, 1, super::postgres::options(url)?).await?;
                let mut listener = PgListener::connect_with(&pool).await?;
                listener.listen(MAIL_CHANNEL).await?;
                MailSignal::Listen(Box::new(listener))
            }
            Location::Sqlite(path) => {
                let options =
                    SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
                        .read_only(true)
                        .busy_timeout(Duration::from_secs(5));
                let mut connection = SqliteConnection::connect_with(&options).await?;
                let last = data_version(&mut connection).await?;
                MailSignal::Version {
                    connection: Box::new(connection),
                    last,
                }
            }
        })
    }

    /// Returns when mail may have been handed off, or after `fallback` at the latest.
    pub async fn next(&mut self, fallback: Duration) {
        let deadline = tokio::time::Instant::now() + fallback;
        match self {
            MailSignal::Listen(listener) => {
                let received = tokio::time::timeout(fallback, listener.recv()).await;
                // One look at the queue answers every notification so far.
                while listener.next_buffered().is_some() {}
                if let Ok(Err(e)) = received {
                    tracing::debug!(error = %e, "the store's notifications were interrupted");
                    tokio::time::sleep_until(
                        deadline.min(tokio::time::Instant::now() + Duration::from_secs(1)),
                    )
                    .await;
                }
            }
            MailSignal::Version { connection, last } => loop {
                tokio::time::sleep(SQLITE_POLL).await;
                match data_version(connection).await {
                    Ok(now) if now != *last => {
                        *last = now;
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(error = %format!("{e:#}"), "could not read the store's data_version");
                        return;
                    }
                }
                if tokio::time::Instant::now() >= deadline {
                    return;
                }
            },
            MailSignal::Poll => {
                tokio::time::sleep(fallback.min(Duration::from_secs(1))).await;
            }
        }
    }
}

async fn data_version(connection: &mut SqliteConnection) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(connection)
        .await?)
}
