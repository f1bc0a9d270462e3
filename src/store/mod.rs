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
//! - [`instances`]: the daemons at work, their heartbeats and breaker state.
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

mod dialect;
mod error;
mod inbound;
mod instances;
pub mod lock;
mod metrics;
mod outbox;
mod postgres;
mod reviews;
mod series;
mod sqlite;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use jiff::Timestamp;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

pub use crate::program::Location;
use crate::program::redact;
pub use error::StoreError;
pub use inbound::{
    Bounce, Cancellation, InboundKind, InboundRecord, MeetingAgenda, PendingInbound, Reply, Rsvp,
    SentMessage, SetAside,
};
pub use instances::{HEARTBEAT, Instance, InstanceInfo, LEASE};
pub use metrics::{OutboxCount, StoreCounts};
pub use outbox::{
    Claimed, DailyBudget, Failure, Held, Mark, MessageState, NewMessage, PairActivity, Queued,
    Summary,
};

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
                let pool = postgres_pool(url, 4, postgres_options(url)?).await?;
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
        let fresh = sqlite_pools(path).await?;
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
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("while creating {}", dir.display()))?;
        }
        if !path.exists() {
            create_private(path)?;
        }
        make_private(path)?;
        let identity = file_identity(path)?;
        let pools = sqlite_pools(path).await?;
        if let Pool::Sqlite { writer, .. } = &pools {
            SQLITE_MIGRATIONS
                .run(writer)
                .await
                .context("while migrating the store")?;
        }
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
        match file_identity(path) {
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
                        .busy_timeout(std::time::Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await
                    .with_context(|| format!("while opening the store {}", path.display()))?;
                let writer = pool.clone();
                Ok(Some(Store::new(Pool::Sqlite { pool, writer }, None, false)))
            }
            Location::Postgres(url) => {
                let pool = postgres_pool(
                    url,
                    1,
                    postgres_options(url)?.options([("default_transaction_read_only", "on")]),
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

/// The pools on the SQLite file at `path` (see [`Pool`]; WAL journal, five seconds'
/// patience with a busy database).
async fn sqlite_pools(path: &Path) -> anyhow::Result<Pool> {
    // The file exists (made private first): a connection opened later must never make a
    // new, empty store where a deleted one was.
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(5))
        .create_if_missing(false);
    let opened =
        |e| anyhow::Error::new(e).context(format!("while opening the store {}", path.display()));
    // The writer's cache holds the indexes' pages a first start of 100,000 invites
    // touches (SQLite's default is 2 MB).
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone().pragma("cache_size", "-32768"))
        .await
        .map_err(opened)?;
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(opened)?;
    Ok(Pool::Sqlite { pool, writer })
}

/// Connection options from a `postgres://` URL (a password may also come from
/// `PGPASSWORD` or `~/.pgpass`, which sqlx reads).
fn postgres_options(url: &str) -> anyhow::Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(url)
        .map_err(|e| anyhow::anyhow!("the store URL {}: {e}", redact(url)))?
        .application_name("mentord"))
}

/// A pool of up to `connections` on the server `url` names (ten seconds' patience for
/// a connection). A server on this machine (loopback, or a Unix
/// socket) is spoken to without TLS unless the URL or `PGSSLMODE` sets `sslmode`: TLS
/// there guards nothing a local root could not read anyway, and it cost each
/// connection a handshake (about 50 ms of CPU on our 2-core machine, five connections
/// at a start) and every body its encryption on both sides. A server that takes only
/// TLS (`hostssl` in `pg_hba.conf`) refuses the plain connection (28000); then the
/// pool is made as libpq's default (`prefer`) would. Any other failure (the server
/// down, a wrong password) is reported as it is, not tried twice.
async fn postgres_pool(
    url: &str,
    connections: u32,
    options: PgConnectOptions,
) -> anyhow::Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(std::time::Duration::from_secs(10));
    let connected =
        |e| anyhow::Error::new(e).context(format!("while connecting to {}", redact(url)));
    if plain_on_this_machine(url, &options, std::env::var_os("PGSSLMODE").is_some()) {
        let plain = options.clone().ssl_mode(sqlx::postgres::PgSslMode::Disable);
        match pool.clone().connect_with(plain).await {
            Ok(pool) => return Ok(pool),
            // pg_hba.conf has no line for a connection without TLS: only then TLS.
            Err(sqlx::Error::Database(refused)) if refused.code().as_deref() == Some("28000") => {
                tracing::info!(error = %refused, "the store takes only TLS on this machine; connecting with TLS");
            }
            Err(error) => return Err(connected(error)),
        }
    }
    pool.connect_with(options).await.map_err(connected)
}

/// Whether the store at `url` is on this machine and nobody chose its TLS.
fn plain_on_this_machine(url: &str, options: &PgConnectOptions, sslmode_in_env: bool) -> bool {
    let chosen = sslmode_in_env
        || url.split_once('?').is_some_and(|(_, query)| {
            let query = query.to_ascii_lowercase();
            // Both spellings sqlx reads.
            query.contains("sslmode=") || query.contains("ssl-mode=")
        });
    let host = options.get_host();
    let local = host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !chosen && local
}

/// A file's device and inode: which file a path names.
fn file_identity(path: &Path) -> anyhow::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    let meta =
        std::fs::metadata(path).with_context(|| format!("while reading {}", path.display()))?;
    Ok((meta.dev(), meta.ino()))
}

/// An empty store file someone else created (a `touch`, a provisioning tool) is made
/// owner-only before mentord fills it; SQLite gives its WAL and SHM files the same mode.
/// A store already holding data keeps its mode, with a warning if others may read it.
fn make_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta =
        std::fs::metadata(path).with_context(|| format!("while reading {}", path.display()))?;
    if meta.permissions().mode() & 0o077 == 0 {
        return Ok(());
    }
    if meta.len() == 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("while making {} private", path.display()))?;
    } else {
        tracing::warn!(store = %path.display(), "the store can be read by others; it holds names and addresses: chmod 600 it");
    }
    Ok(())
}

/// Creates the database file readable by its owner only: it holds names and addresses.
fn create_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("while creating {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(url: &str, env: bool) -> bool {
        plain_on_this_machine(url, &postgres_options(url).unwrap(), env)
    }

    #[test]
    fn a_store_on_this_machine_is_reached_without_tls_unless_asked() {
        assert!(plain("postgres://postgres@127.0.0.1:5432/mentord", false));
        assert!(plain("postgres://u@localhost/mentord", false));
        assert!(plain("postgres://u@[::1]:5432/mentord", false));
        assert!(plain(
            "postgres://u@127.0.0.2/mentord?application_name=x",
            false
        ));
        assert!(plain("postgres:///mentord?host=/var/run/postgresql", false));
        // Asked for, in the URL or the environment: as asked.
        assert!(!plain(
            "postgres://u@127.0.0.1/mentord?sslmode=require",
            false
        ));
        assert!(!plain(
            "postgres://u@127.0.0.1/mentord?SSLMode=prefer",
            false
        ));
        assert!(!plain("postgres://u@127.0.0.1/mentord", true));
        // Another machine: libpq's default.
        assert!(!plain("postgres://u@db.example.org/mentord", false));
        assert!(!plain("postgres://u@10.0.0.5/mentord", false));
    }
}
