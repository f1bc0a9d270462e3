//! The store: what the program file cannot remember. SQLite by default
//! (`sqlite://mentord.db`, created on first use with mode 0600, WAL journal); PostgreSQL
//! (`postgres://…`) when several daemons share one program. One interface over both,
//! each with its own embedded migrations (`migrations/sqlite`, `migrations/postgres`),
//! applied when the store opens.
//!
//! One file per table:
//! - [`outbox`]: `messages`, each written before it is sent, claimed while in flight,
//!   marked after; and `cursor`, how far the schedule has been turned into messages.
//! - [`series`]: each pair's series as last sent (for the reconcile).
//! - [`reviews`]: relationship reviews held.
//! - [`checkins`]: the answers to check-ins (private to the coordinator).
//! - [`instances`]: the daemons at work, their heartbeats and breaker state.
//! - [`mail_queue`]: mail `deliver` handed off, waiting for the daemon to take it in.
//! - [`metrics`]: no table of its own: what `/metrics` counts, from indexes.
//!
//! The loader reads `[store] url` into a [`Location`]; this file opens the store and
//! recovers it.
//!
//! Most statements are the same SQL on both backends (`$1` placeholders work in both);
//! [`on!`] runs one body against whichever pool the store has. Where the two differ,
//! each dialect writes its SQL out in full: [`sqlite`] and [`postgres`] (the claim, the
//! database's clock, a JSON array of keys), picked by [`Backend::sql`] or, for
//! the claim, in one `match` on the pool (`outbox::claim`). [`StoreError`] says whether
//! a failure may pass by itself.

mod checkins;
mod decisions;
mod dialect;
mod error;
mod feeds;
mod flags;
mod history;
mod inbound;
mod instances;
mod kept;
pub mod lock;
mod mail_queue;
mod mail_signal;
mod metrics;
mod one_write;
mod outbox;
mod postgres;
mod record;
mod reviews;
mod series;
mod sqlite;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use jiff::Timestamp;
use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

pub use crate::program::Location;
pub use checkins::{CheckinRecord, CheckinVia};
pub use decisions::Cancellation;
pub use error::StoreError;
pub use flags::Flag;
pub use history::{HISTORY_ROWS, HeardLine, PairHistory, SentLine};
pub use inbound::{
    Bounce, InboundKind, InboundRecord, MeetingAgenda, PendingInbound, Reply, Rsvp, SentMessage,
    SetAside,
};
pub use instances::{HEARTBEAT, Instance, InstanceInfo, LEASE};
pub use kept::{Handled, KeptMail, MAX_KEPT_BYTES};
pub use mail_queue::{HandedOff, MAIL_CHANNEL, QueuedMail, Waiting};
pub use mail_signal::MailSignal;
pub use metrics::{OutboxCount, StoreCounts};
pub use outbox::{
    Claimed, DailyBudget, Failure, Held, Mark, MessageState, NewMessage, PRUNE_BATCH, PairActivity,
    Queued, Retrying, Summary,
};
pub use record::{CheckinStats, PairRecord, Replied, TroubledCheckin};

#[derive(Debug, Clone)]
enum Pool {
    /// `pool` for reading (and rare writes), `writer` (one connection) for the
    /// daemon's queueing, claims and marks. SQLite allows one writer at a time: the
    /// writer's one connection makes them take turns in this process (first come,
    /// first served) instead of sleeping and polling for the lock in SQLite's busy
    /// handler (1, 2, 5, 10… ms at a time), and keeps its page cache, which a
    /// connection drops whenever another one has written.
    Sqlite {
        pool: SqlitePool,
        writer: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs `body` with `pool` bound to the store's pool (and `backend` to its dialect):
/// the body is compiled once per backend, the SQL written once.
macro_rules! on {
    // `$sqlite` names the pool of `Pool::Sqlite` to bind: `pool` or `writer`.
    (@on $sqlite:ident, $store:expr, |$pool:ident, $backend:ident| $body:expr) => {
        match &$store.pool() {
            $crate::store::Pool::Sqlite { $sqlite: $pool, .. } => {
                let $backend = $crate::store::Backend::Sqlite;
                $body
            }
            $crate::store::Pool::Postgres($pool) => {
                let $backend = $crate::store::Backend::Postgres;
                $body
            }
        }
    };
    ($store:expr, |$pool:ident, $backend:ident| $body:expr) => {
        $crate::store::on!(@on pool, $store, |$pool, $backend| $body)
    };
    ($store:expr, |$pool:ident| $body:expr) => {
        $crate::store::on!(@on pool, $store, |$pool, _backend| $body)
    };
}
/// [`on!`] with SQLite's writer bound (see [`Pool`]): for the daemon's queueing,
/// claims and marks.
macro_rules! on_writer {
    ($store:expr, |$pool:ident, $backend:ident| $body:expr) => {
        $crate::store::on!(@on writer, $store, |$pool, $backend| $body)
    };
    ($store:expr, |$pool:ident| $body:expr) => {
        $crate::store::on!(@on writer, $store, |$pool, _backend| $body)
    };
}
use on;
use on_writer;

#[derive(Debug, Clone)]
pub struct Store {
    /// Shared by every clone (the daemon's, its heartbeat's), and replaced as a whole
    /// when a SQLite store is opened again after a failed write.
    pool: Arc<RwLock<Pool>>,
    /// A SQLite file's path, to open it again, and the file it was (device, inode).
    sqlite_path: Option<PathBuf>,
    sqlite_identity: Option<(u64, u64)>,
    /// In memory (a simulation): a sent message's body is dropped, not kept.
    in_memory: bool,
    /// Messages marked sent in memory, to forget old ones now and then.
    sent_marks: Arc<std::sync::atomic::AtomicU64>,
    /// This daemon, once registered (see [`Store::register`]).
    instance: Option<Arc<instances::Registered>>,
    /// Bodies this process queued and has not claimed yet (see [`outbox::Recent`]).
    recent: Arc<std::sync::Mutex<outbox::Recent>>,
    /// [`Store::next_lease_expiry`] found a claim whose lease has run out: the next
    /// claim looks for abandoned claims even if no daemon's row says so (a claim of a
    /// daemon whose row is gone).
    lease_out: Arc<std::sync::atomic::AtomicBool>,
}

/// Which SQL dialect the store speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The dialect's text of the statements that differ.
    fn sql(self) -> &'static dialect::Dialect {
        match self {
            Backend::Sqlite => &sqlite::SQL,
            Backend::Postgres => &postgres::SQL,
        }
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

fn seconds(t: Timestamp) -> i64 {
    t.as_second()
}

fn instant(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl Store {
    /// Opens (creating if needed) the store and applies its migrations. A daemon then
    /// takes back what a crash left behind with [`Store::recover_abandoned`].
    pub async fn open(location: impl Into<Location>) -> anyhow::Result<Store> {
        match &location.into() {
            Location::Sqlite(path) => Store::open_sqlite(path).await,
            Location::Postgres(url) => {
                let pool = postgres::pool(url, 4, postgres::options(url)?).await?;
                POSTGRES_MIGRATIONS
                    .run(&pool)
                    .await
                    .context("while migrating the store")?;
                Ok(Store::new(Pool::Postgres(pool), None, false))
            }
        }
    }

    fn new(pool: Pool, sqlite_path: Option<PathBuf>, in_memory: bool) -> Store {
        Store {
            pool: Arc::new(RwLock::new(pool)),
            sqlite_path,
            sqlite_identity: None,
            in_memory,
            sent_marks: Arc::default(),
            instance: None,
            recent: Arc::default(),
            lease_out: Arc::default(),
        }
    }

    /// The pool of the moment (a cheap handle).
    fn pool(&self) -> Pool {
        match self.pool.read() {
            Ok(pool) => pool.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// After a failed tick: a SQLite store is opened again. A write that failed (disk
    /// full, file made read-only) can leave a connection holding an old snapshot, and
    /// every later write then fails with "database is locked" although the cause has
    /// gone; new connections start clean. PostgreSQL's pool reconnects by itself.
    pub async fn reopen(&self) -> anyhow::Result<()> {
        let Some(path) = &self.sqlite_path else {
            return Ok(());
        };
        // Never a new, empty store in place of a deleted one.
        self.verify()?;
        let (pool, writer) = sqlite::pools(path).await?;
        let fresh = Pool::Sqlite { pool, writer };
        let old = match self.pool.write() {
            Ok(mut pool) => std::mem::replace(&mut *pool, fresh),
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), fresh),
        };
        if let Pool::Sqlite { pool, writer } = old {
            writer.close().await;
            pool.close().await;
        }
        Ok(())
    }

    async fn open_sqlite(path: &Path) -> anyhow::Result<Store> {
        sqlite::create_with_folder(path)?;
        sqlite::make_private(path)?;
        let identity = sqlite::file_identity(path)?;
        let (pool, writer) = sqlite::pools(path).await?;
        SQLITE_MIGRATIONS
            .run(&writer)
            .await
            .context("while migrating the store")?;
        let pools = Pool::Sqlite { pool, writer };
        let mut store = Store::new(pools, Some(path.to_path_buf()), false);
        store.sqlite_identity = Some(identity);
        Ok(store)
    }

    /// A SQLite store's file must still be the one opened: deleted or replaced under a
    /// running daemon, a new empty store would send every invite again at SEQUENCE 0
    /// after the updates already sent. The daemon stops sending and says why.
    pub fn verify(&self) -> anyhow::Result<()> {
        let (Some(path), Some(opened)) = (&self.sqlite_path, self.sqlite_identity) else {
            return Ok(());
        };
        match sqlite::file_identity(path) {
            Ok(now) if now == opened => Ok(()),
            Ok(_) => Err(StoreError::Replaced(path.clone()).into()),
            Err(_) => Err(StoreError::Deleted(path.clone()).into()),
        }
    }

    /// A store that lives in memory and ends with the process: the same tables and SQL
    /// as on disk (SQLite), for `simulate`. One connection, kept open for its life.
    pub async fn open_memory() -> anyhow::Result<Store> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .context("while opening a store in memory")?;
        SQLITE_MIGRATIONS
            .run(&pool)
            .await
            .context("while migrating the store")?;
        let writer = pool.clone();
        Ok(Store::new(Pool::Sqlite { pool, writer }, None, true))
    }

    /// At a SQLite daemon's start: messages a crash left `sending` go back to `pending`
    /// (the store's one daemon held them; at worst one is sent again, same Message-ID).
    /// On PostgreSQL other daemons may be sending: their claims pass on by lease instead.
    pub async fn recover_abandoned(&self) -> anyhow::Result<u64> {
        Ok(match &self.pool() {
            Pool::Sqlite { writer: pool, .. } => sqlx::query(
                "UPDATE messages SET state = 'pending', claimed_by = NULL WHERE state = 'sending'",
            )
            .execute(pool)
            .await?
            .rows_affected(),
            Pool::Postgres(_) => 0,
        })
    }

    /// Opens an existing store to read it, changing nothing (for `plan` and `status`,
    /// which may run beside the daemons); `None` when there is no store yet.
    pub async fn open_read_only(location: impl Into<Location>) -> anyhow::Result<Option<Store>> {
        match &location.into() {
            Location::Sqlite(path) => {
                if !path.exists() {
                    return Ok(None);
                }
                let options =
                    SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
                        .read_only(true)
                        .busy_timeout(std::time::Duration::from_secs(5))
                        .row_buffer_size(sqlite::ROW_BUFFER);
                let pool = sqlite::one_connection(path, options).await?;
                let writer = pool.clone();
                Ok(Some(Store::new(Pool::Sqlite { pool, writer }, None, false)))
            }
            Location::Postgres(url) => {
                let pool = postgres::pool(
                    url,
                    1,
                    postgres::options(url)?.options([("default_transaction_read_only", "on")]),
                )
                .await?;
                let migrated: Option<String> =
                    sqlx::query_scalar("SELECT CAST(to_regclass('messages') AS TEXT)")
                        .fetch_one(&pool)
                        .await?;
                Ok(migrated.map(|_| Store::new(Pool::Postgres(pool), None, false)))
            }
        }
    }

    /// True for a store in memory (a simulation).
    pub fn is_in_memory(&self) -> bool {
        self.in_memory
    }

    /// True for a store several daemons may share.
    pub fn is_shared(&self) -> bool {
        matches!(self.pool(), Pool::Postgres(_))
    }

    /// Messages claimed per round.
    pub fn claim_batch(&self) -> u32 {
        match self.pool() {
            // In memory nothing else claims, and a round trip is the cost.
            Pool::Sqlite { .. } if self.in_memory => 1024,
            _ => 64,
        }
    }
}
