//! The store: what the program file cannot remember. SQLite by default
//! (`sqlite://mentord.db`, created on first use with mode 0600, WAL journal); PostgreSQL
//! (`postgres://…`) when several daemons share one program. One interface over both,
//! each with its own embedded migrations (`migrations/sqlite`, `migrations/postgres`),
//! applied when the store opens.
//!
//! - `messages`, the outbox: a message is written with its deterministic key and its
//!   whole body *before* it is sent, claimed (`sending`, `claimed_by`) while in flight
//!   and marked `sent` after. The key is the primary key, so a second copy cannot be
//!   queued; a crash between the server's acceptance and the mark leaves it `sending`:
//!   SQLite (one daemon, held by a lock file) puts it back to `pending` when it opens,
//!   PostgreSQL hands it to another daemon once the claimer's lease ran out (see
//!   [`instances`]). At worst one resend, byte-identical, same `Message-ID`.
//! - `series`: each pair's series as last sent (for the reconcile).
//! - `reviews`: relationship reviews held.
//! - `cursor`: how far the schedule has been turned into messages.
//! - `instances`: the daemons at work, their heartbeats and breaker state.
//!
//! Most statements are the same SQL on both backends (`$1` placeholders work in both);
//! [`on!`] runs one body against whichever pool the store has. Where the two differ
//! (claims, the database's clock) both texts sit side by side.

mod instances;
mod series;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::mail::MessageKind;
use crate::reconcile::Sent;
pub use instances::{HEARTBEAT, Instance, InstanceInfo, LEASE};

/// A message to put in the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// A [`crate::mail::DeliveryKey`], as written.
    pub key: String,
    pub message_id: String,
    pub kind: MessageKind,
    pub pair: Option<String>,
    pub recipient: String,
    pub due_at: Timestamp,
    pub uid: Option<String>,
    pub method: Option<String>,
    pub sequence: Option<u32>,
    pub body: Vec<u8>,
    /// Recorded but never sent, and why (a prompt whose meeting started while mentord
    /// was down).
    pub dropped: Option<String>,
}

/// A message taken from the outbox to send.
#[derive(Debug, Clone)]
pub struct Queued {
    pub key: String,
    pub message_id: String,
    pub kind: MessageKind,
    pub pair: Option<String>,
    pub recipient: String,
    pub attempts: u32,
    pub body: Vec<u8>,
    /// For calendar messages: the series' UID, the iTIP method and the SEQUENCE.
    pub uid: Option<String>,
    pub method: Option<String>,
    pub sequence: Option<u32>,
}

/// Counts and recent problems for `status`.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub last_sent: Option<Timestamp>,
    /// Permanently failed messages, newest first.
    pub failures: Vec<Failure>,
}

/// A pair's mail in two figures, for `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairActivity {
    pub last_sent: Option<Timestamp>,
    pub failed: u64,
}

/// A message that failed for good.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct Failure {
    pub key: String,
    pub recipient: String,
    pub error: String,
}

/// Where the store lives, from `[store] url`.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Location {
    /// Reads a store URL; a relative SQLite path is taken from `base` (the program
    /// file's folder).
    pub fn parse(url: &str, base: &Path) -> anyhow::Result<Location> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_string()));
        }
        let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        else {
            bail!("{url:?} is not a store URL: use sqlite://FILE or postgres://USER@HOST/DB");
        };
        let path = Path::new(rest.split('?').next().unwrap_or(rest));
        Ok(Location::Sqlite(if path.is_absolute() {
            path.to_path_buf()
        } else {
            base.join(path)
        }))
    }

    /// For logs and errors: a PostgreSQL password never shows.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => redact(url),
        }
    }
}

/// A path is a SQLite file.
impl From<&Path> for Location {
    fn from(path: &Path) -> Location {
        Location::Sqlite(path.to_path_buf())
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Location {
        Location::Sqlite(path.clone())
    }
}

impl From<&Location> for Location {
    fn from(location: &Location) -> Location {
        location.clone()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact(url: &str) -> String {
    // A password can also sit in the query (`?password=`): drop the whole query then.
    let url = if url.contains("password") {
        url.split('?').next().unwrap_or_default()
    } else {
        url
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which SQL dialect a body runs in, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn pick(self, (sqlite, postgres): (&'static str, &'static str)) -> &'static str {
        match self {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }
}

/// Runs `body` with `pool` bound to the store's pool (and `backend` to its dialect):
/// the body is compiled once per backend, the SQL written once.
macro_rules! on {
    ($store:expr, |$pool:ident, $backend:ident| $body:expr) => {
        match &$store.pool {
            Pool::Sqlite($pool) => {
                let $backend = Backend::Sqlite;
                $body
            }
            Pool::Postgres($pool) => {
                let $backend = Backend::Postgres;
                $body
            }
        }
    };
    ($store:expr, |$pool:ident| $body:expr) => {
        on!($store, |$pool, _backend| $body)
    };
}
use on;

/// One statement in both dialects, `NOW` standing for the database's clock in unix
/// seconds (leases are judged on one clock for all daemons):
/// `dialects!("UPDATE t SET at = ", NOW)` is `(sqlite text, postgres text)`.
macro_rules! dialects {
    ($($part:tt),+ $(,)?) => {
        (
            concat!($(dialects!(@sqlite $part)),+),
            concat!($(dialects!(@postgres $part)),+),
        )
    };
    (@sqlite NOW) => {
        "CAST(strftime('%s', 'now') AS INTEGER)"
    };
    (@postgres NOW) => {
        "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)"
    };
    (@$dialect:ident $text:literal) => { $text };
}
use dialects;

#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    /// In memory (a simulation): a sent message's body is dropped, not kept.
    in_memory: bool,
    /// This daemon, once registered (see [`Store::register`]).
    instance: Option<Arc<instances::Registered>>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

fn seconds(t: Timestamp) -> i64 {
    t.as_second()
}

fn instant(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH)
}

const INSERT_MESSAGE: &str = "INSERT INTO messages (key, message_id, kind, pair, recipient, due_at, state, \
     attempts, next_attempt_at, last_error, uid, method, sequence, body, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $6, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (key) DO NOTHING";

const SAVE_SERIES: &str = "INSERT INTO series (pair, uid, sequence, active, series, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (pair) DO UPDATE SET uid = excluded.uid, sequence = excluded.sequence, \
     active = excluded.active, series = excluded.series, updated_at = excluded.updated_at";

/// SQLite has one daemon: what is pending and due.
const CLAIM_SQLITE: &str = "UPDATE messages SET state = 'sending', attempts = attempts + 1, \
     claimed_by = $3, claimed_at = $1 \
     WHERE key IN (SELECT key FROM messages WHERE state = 'pending' AND next_attempt_at <= $1 \
                   ORDER BY next_attempt_at, rowid LIMIT $2) \
     RETURNING key, message_id, kind, pair, recipient, attempts, body, uid, method, sequence, \
       next_attempt_at, rowid AS queued";

/// PostgreSQL: what is pending and due, or claimed by a daemon whose lease ran out;
/// rows another daemon is claiming right now are skipped, not waited for.
const CLAIM_POSTGRES: &str = dialects!(
    "UPDATE messages SET state = 'sending', attempts = attempts + 1, \
     claimed_by = $3, claimed_at = $1 \
     WHERE key IN (SELECT m.key FROM messages m \
        WHERE (m.state = 'pending' AND m.next_attempt_at <= $1) \
           OR (m.state = 'sending' AND NOT EXISTS (SELECT 1 FROM instances i \
                 WHERE i.id = m.claimed_by AND i.heartbeat_at >= ",
    NOW,
    " - $4)) \
        ORDER BY m.next_attempt_at, m.queued LIMIT $2 FOR UPDATE SKIP LOCKED) \
     RETURNING key, message_id, kind, pair, recipient, attempts, body, uid, method, sequence, \
       next_attempt_at, queued"
)
.1;

/// Marks change only a claim this daemon still holds (`IS` matches SQLite's unregistered
/// NULL claimer too).
const MARK_SENT: (&str, &str) = (
    "UPDATE messages SET state = 'sent', sent_at = $1, last_error = NULL \
     WHERE key = $2 AND state = 'sending' AND claimed_by IS $3",
    "UPDATE messages SET state = 'sent', sent_at = $1, last_error = NULL \
     WHERE key = $2 AND state = 'sending' AND claimed_by = $3",
);
const MARK_RETRY: (&str, &str) = (
    "UPDATE messages SET state = 'pending', last_error = $1, next_attempt_at = $2, \
     claimed_by = NULL WHERE key = $3 AND state = 'sending' AND claimed_by IS $4",
    "UPDATE messages SET state = 'pending', last_error = $1, next_attempt_at = $2, \
     claimed_by = NULL WHERE key = $3 AND state = 'sending' AND claimed_by = $4",
);
const MARK_FAILED: (&str, &str) = (
    "UPDATE messages SET state = 'failed', last_error = $1 \
     WHERE key = $2 AND state = 'sending' AND claimed_by IS $3",
    "UPDATE messages SET state = 'failed', last_error = $1 \
     WHERE key = $2 AND state = 'sending' AND claimed_by = $3",
);

impl Store {
    /// Opens (creating if needed) the store and applies its migrations. A daemon then
    /// takes back what a crash left behind with [`Store::recover_abandoned`].
    pub async fn open(location: impl Into<Location>) -> anyhow::Result<Store> {
        match &location.into() {
            Location::Sqlite(path) => Store::open_sqlite(path).await,
            Location::Postgres(url) => {
                let pool = PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(std::time::Duration::from_secs(10))
                    .connect_with(postgres_options(url)?)
                    .await
                    .with_context(|| format!("while connecting to {}", redact(url)))?;
                POSTGRES_MIGRATIONS
                    .run(&pool)
                    .await
                    .context("while migrating the store")?;
                Ok(Store {
                    pool: Pool::Postgres(pool),
                    in_memory: false,
                    instance: None,
                })
            }
        }
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
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(5))
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .with_context(|| format!("while opening the store {}", path.display()))?;
        SQLITE_MIGRATIONS
            .run(&pool)
            .await
            .context("while migrating the store")?;
        Ok(Store {
            pool: Pool::Sqlite(pool),
            in_memory: false,
            instance: None,
        })
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
        Ok(Store {
            pool: Pool::Sqlite(pool),
            in_memory: true,
            instance: None,
        })
    }

    /// At a SQLite daemon's start: messages a crash left `sending` go back to `pending`
    /// (the store's one daemon held them; at worst one is sent again, same Message-ID).
    /// On PostgreSQL other daemons may be sending: their claims pass on by lease instead.
    pub async fn recover_abandoned(&self) -> anyhow::Result<u64> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => sqlx::query(
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
                Ok(Some(Store {
                    pool: Pool::Sqlite(pool),
                    in_memory: false,
                    instance: None,
                }))
            }
            Location::Postgres(url) => {
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(std::time::Duration::from_secs(10))
                    .connect_with(
                        postgres_options(url)?.options([("default_transaction_read_only", "on")]),
                    )
                    .await
                    .with_context(|| format!("while connecting to {}", redact(url)))?;
                let migrated: Option<String> =
                    sqlx::query_scalar("SELECT CAST(to_regclass('messages') AS TEXT)")
                        .fetch_one(&pool)
                        .await?;
                Ok(migrated.map(|_| Store {
                    pool: Pool::Postgres(pool),
                    in_memory: false,
                    instance: None,
                }))
            }
        }
    }

    /// True for a store several daemons may share.
    pub fn is_shared(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    /// Messages claimed per round: fewer where another daemon could take them.
    pub fn claim_batch(&self) -> u32 {
        match self.pool {
            Pool::Sqlite(_) => 64,
            Pool::Postgres(_) => 16,
        }
    }

    /// In one transaction: queues `messages` (those whose key is new; the answer says
    /// which) and then records `series` as sent. A crash leaves both or neither.
    pub async fn enqueue_all(
        &self,
        messages: &[NewMessage],
        series: &[(String, Sent)],
        now: Timestamp,
    ) -> anyhow::Result<Vec<bool>> {
        on!(self, |pool| {
            let mut tx = pool.begin().await?;
            let mut queued = Vec::with_capacity(messages.len());
            for m in messages {
                let state = if m.dropped.is_some() {
                    "dropped"
                } else {
                    "pending"
                };
                let result = sqlx::query(INSERT_MESSAGE)
                    .bind(&m.key)
                    .bind(&m.message_id)
                    .bind(m.kind.name())
                    .bind(&m.pair)
                    .bind(&m.recipient)
                    .bind(seconds(m.due_at))
                    .bind(state)
                    .bind(&m.dropped)
                    .bind(&m.uid)
                    .bind(&m.method)
                    .bind(m.sequence.map(i64::from))
                    .bind(&m.body)
                    .bind(seconds(now))
                    .execute(&mut *tx)
                    .await?;
                queued.push(result.rows_affected() == 1);
            }
            for (pair, sent) in series {
                sqlx::query(SAVE_SERIES)
                    .bind(pair)
                    .bind(&sent.series.uid)
                    .bind(i64::from(sent.sequence))
                    .bind(i64::from(sent.active))
                    .bind(series::to_json(&sent.series))
                    .bind(seconds(now))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(queued)
        })
    }

    /// Claims up to `limit` messages due by `now` (state `pending` → `sending`, held by
    /// this daemon), oldest first. On PostgreSQL also takes over the claims of daemons
    /// whose lease ran out.
    pub async fn claim_due(&self, now: Timestamp, limit: u32) -> anyhow::Result<Vec<Queued>> {
        let me = self.instance_id();
        if me.is_none() && self.is_shared() {
            bail!("a daemon must register before it claims messages from a shared store");
        }
        let mut out: Vec<((i64, i64), Queued)> = on!(self, |pool, backend| {
            sqlx::query(backend.pick((CLAIM_SQLITE, CLAIM_POSTGRES)))
                .bind(seconds(now))
                .bind(i64::from(limit))
                .bind(me)
                .bind(LEASE.as_secs() as i64)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|row| {
                    anyhow::Ok((
                        (
                            row.get::<i64, _>("next_attempt_at"),
                            row.get::<i64, _>("queued"),
                        ),
                        Queued {
                            key: row.get("key"),
                            message_id: row.get("message_id"),
                            kind: row.get::<String, _>("kind").parse()?,
                            pair: row.get("pair"),
                            recipient: row.get("recipient"),
                            attempts: row.get::<i64, _>("attempts") as u32,
                            body: row.get("body"),
                            uid: row.get("uid"),
                            method: row.get("method"),
                            sequence: row.get::<Option<i64>, _>("sequence").map(|s| s as u32),
                        },
                    ))
                })
                .collect::<anyhow::Result<_>>()?
        });
        // Due first, then in the order queued.
        out.sort_by_key(|(order, _)| *order);
        Ok(out.into_iter().map(|(_, q)| q).collect())
    }

    /// Sent: `claimed_by` stays, naming the daemon that sent it. False when this daemon
    /// no longer held the claim (it was silent past its lease and another took it over).
    pub async fn mark_sent(&self, key: &str, at: Timestamp) -> anyhow::Result<bool> {
        let me = self.instance_id();
        let marked = on!(self, |pool, backend| sqlx::query(backend.pick(MARK_SENT))
            .bind(seconds(at))
            .bind(key)
            .bind(me)
            .execute(pool)
            .await?
            .rows_affected());
        if self.in_memory && marked == 1 {
            // A simulation keeps the key (nothing goes twice), not half a gigabyte of mail.
            on!(self, |pool| sqlx::query(
                "UPDATE messages SET body = x'' WHERE key = $1"
            )
            .bind(key)
            .execute(pool)
            .await?
            .rows_affected());
        }
        Ok(marked == 1)
    }

    /// A temporary failure (or a claim given back): try again at `next`. False when
    /// the claim was no longer this daemon's.
    pub async fn mark_retry(
        &self,
        key: &str,
        error: &str,
        next: Timestamp,
    ) -> anyhow::Result<bool> {
        let me = self.instance_id();
        let marked = on!(self, |pool, backend| sqlx::query(backend.pick(MARK_RETRY))
            .bind(error)
            .bind(seconds(next))
            .bind(key)
            .bind(me)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(marked == 1)
    }

    /// A permanent failure, shown in `status` and the digest. False when the claim was
    /// no longer this daemon's.
    pub async fn mark_failed(&self, key: &str, error: &str) -> anyhow::Result<bool> {
        let me = self.instance_id();
        let marked = on!(self, |pool, backend| sqlx::query(backend.pick(MARK_FAILED))
            .bind(error)
            .bind(key)
            .bind(me)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(marked == 1)
    }

    /// When the earliest pending message may be tried.
    pub async fn next_attempt(&self) -> anyhow::Result<Option<Timestamp>> {
        let value: Option<i64> = on!(self, |pool| sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM messages WHERE state = 'pending'"
        )
        .fetch_one(pool)
        .await?);
        Ok(value.map(instant))
    }

    /// Each pair's series as last sent.
    pub async fn sent_series(&self) -> anyhow::Result<HashMap<String, Sent>> {
        let rows: Vec<(String, i64, i64, String)> = on!(self, |pool| sqlx::query_as(
            "SELECT pair, sequence, active, series FROM series"
        )
        .fetch_all(pool)
        .await?);
        let mut out = HashMap::with_capacity(rows.len());
        for (pair, sequence, active, text) in rows {
            out.insert(
                pair,
                Sent {
                    series: series::from_json(&text)?,
                    sequence: sequence as u32,
                    active: active != 0,
                },
            );
        }
        Ok(out)
    }

    pub async fn save_series(&self, pair: &str, sent: &Sent, now: Timestamp) -> anyhow::Result<()> {
        self.enqueue_all(&[], &[(pair.to_string(), sent.clone())], now)
            .await?;
        Ok(())
    }

    pub async fn record_review(
        &self,
        pair: &str,
        held_on: Date,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        on!(self, |pool| {
            sqlx::query(
            "INSERT INTO reviews (pair, held_on, recorded_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        )
        .bind(pair)
        .bind(held_on.to_string())
        .bind(seconds(now))
        .execute(pool)
        .await?.rows_affected()
        });
        Ok(())
    }

    /// The last review held by each pair.
    pub async fn last_reviews(&self) -> anyhow::Result<HashMap<String, Date>> {
        let rows: Vec<(String, String)> = on!(self, |pool| sqlx::query_as(
            "SELECT pair, MAX(held_on) AS held_on FROM reviews GROUP BY pair"
        )
        .fetch_all(pool)
        .await?);
        rows.into_iter()
            .map(|(pair, held)| Ok((pair, held.parse()?)))
            .collect()
    }

    pub async fn scheduled_until(&self) -> anyhow::Result<Option<Timestamp>> {
        let value: Option<i64> = on!(self, |pool| sqlx::query_scalar(
            "SELECT scheduled_until FROM cursor WHERE id = 1"
        )
        .fetch_optional(pool)
        .await?);
        Ok(value.map(instant))
    }

    pub async fn set_scheduled_until(&self, until: Timestamp) -> anyhow::Result<()> {
        on!(self, |pool| sqlx::query(
            "INSERT INTO cursor (id, scheduled_until) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET scheduled_until = excluded.scheduled_until",
        )
        .bind(seconds(until))
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    pub async fn summary(&self) -> anyhow::Result<Summary> {
        let (pending, sent, failed, last_sent): (i64, i64, i64, Option<i64>) =
            on!(self, |pool| sqlx::query_as(
                "SELECT \
                   COALESCE(SUM(CASE WHEN state IN ('pending', 'sending') THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0), \
                   MAX(sent_at) \
                 FROM messages"
            )
            .fetch_one(pool)
            .await?);
        Ok(Summary {
            pending: pending as u64,
            sent: sent as u64,
            failed: failed as u64,
            last_sent: last_sent.map(instant),
            failures: self.failures().await?,
        })
    }

    /// The 20 newest permanently failed messages.
    pub async fn failures(&self) -> anyhow::Result<Vec<Failure>> {
        Ok(on!(self, |pool| sqlx::query_as(
            "SELECT key, recipient, COALESCE(last_error, '') AS error FROM messages \
             WHERE state = 'failed' ORDER BY created_at DESC, key LIMIT 20",
        )
        .fetch_all(pool)
        .await?))
    }

    /// Per pair: when mail last went out, and how many failed for good.
    pub async fn pair_activity(&self) -> anyhow::Result<HashMap<String, PairActivity>> {
        let rows: Vec<(String, Option<i64>, i64)> = on!(self, |pool| sqlx::query_as(
            "SELECT pair, MAX(sent_at) AS last_sent, \
             COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS failed \
             FROM messages WHERE pair IS NOT NULL GROUP BY pair",
        )
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(pair, last, failed)| {
                let activity = PairActivity {
                    last_sent: last.map(instant),
                    failed: failed as u64,
                };
                (pair, activity)
            })
            .collect())
    }
}

/// Connection options from a `postgres://` URL (a password may also come from
/// `PGPASSWORD` or `~/.pgpass`, which sqlx reads).
fn postgres_options(url: &str) -> anyhow::Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(url)
        .map_err(|e| anyhow::anyhow!("the store URL {}: {e}", redact(url)))?
        .application_name("mentord"))
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

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://mentord:s3cret@db.example.org:5432/mentoring"),
            "postgres://mentord:***@db.example.org:5432/mentoring"
        );
        assert_eq!(
            redact("postgres://db.example.org/mentoring?user=m&password=s3cret"),
            "postgres://db.example.org/mentoring?user=m&password=s3cret"
                .split('?')
                .next()
                .unwrap_or_default()
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1:5432/test"),
            "postgres://postgres@127.0.0.1:5432/test"
        );
    }
}
