//! SQLite's own SQL, where it differs from PostgreSQL's, written out as plain SQL: the
//! claim (one daemon per store, so no locks to skip) in [`claim`], the rest in [`SQL`].
//! The store picks this module or [`super::postgres`] by its pool (see
//! `Backend::sql` and `outbox::claim`).
//!
//! The database's clock is `CAST(strftime('%s', 'now') AS INTEGER)`; a claimer is
//! compared with `IS`, which also matches the NULL claimer of a store in memory.
//!
//! Also how a store file is opened: its pools, kept owner-only, known by its inode.

pub(super) mod claim;

use std::path::Path;
use std::str::FromStr as _;

use anyhow::Context as _;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use super::dialect::Dialect;

pub(super) const SQL: Dialect = Dialect {
    insert_messages: "
INSERT INTO messages (key, message_id, kind, pair, recipient, due_at, state, attempts,
    next_attempt_at, last_error, uid, method, sequence, created_at, reply_token) ",
    mark_sent: "
UPDATE messages SET state = 'sent', sent_at = $1, last_error = NULL
WHERE key IN (SELECT value FROM json_each($2)) AND state = 'sending' AND claimed_by IS $3
RETURNING key",
    mark_retry: "
UPDATE messages SET state = 'pending', last_error = $1, next_attempt_at = $2, claimed_by = NULL
WHERE key = $3 AND state = 'sending' AND claimed_by IS $4",
    mark_dropped: "
UPDATE messages SET state = 'dropped', last_error = $1
WHERE key = $2 AND state = 'sending' AND claimed_by IS $3",
    mark_failed: "
UPDATE messages SET state = 'failed', last_error = $1
WHERE key = $2 AND state = 'sending' AND claimed_by IS $3",
    insert_instance: "
INSERT INTO instances (id, host, pid, mail, started_at, heartbeat_at)
VALUES ($1, $2, $3, $4, CAST(strftime('%s', 'now') AS INTEGER),
    CAST(strftime('%s', 'now') AS INTEGER))
ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
    heartbeat: "
UPDATE instances SET heartbeat_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE id = $1",
    // One daemon: `recover_abandoned` gives back every claim at its start.
    forget_instances: "
DELETE FROM instances WHERE heartbeat_at < CAST(strftime('%s', 'now') AS INTEGER) - $1",
    now: "SELECT CAST(strftime('%s', 'now') AS INTEGER)",
    daemons: "
SELECT
    CAST(COALESCE(SUM(CASE WHEN heartbeat_at >= CAST(strftime('%s', 'now') AS INTEGER) - $1
        THEN 1 ELSE 0 END), 0) AS BIGINT),
    CAST(COUNT(*) AS BIGINT),
    CAST(COALESCE(SUM(CASE WHEN heartbeat_at >= CAST(strftime('%s', 'now') AS INTEGER) - $1
        AND paused_until > $2 THEN 1 ELSE 0 END), 0) AS BIGINT)
FROM instances",
    try_lease: "
INSERT INTO leases (name, holder, expires_at)
VALUES ($1, $2, CAST(strftime('%s', 'now') AS INTEGER) + $3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE leases.holder = excluded.holder
   OR leases.expires_at < CAST(strftime('%s', 'now') AS INTEGER)",
    pair_record: "
SELECT pair,
  COUNT(DISTINCT CASE WHEN kind = 'agenda' AND occurrence >= $1 AND occurrence < $2 THEN occurrence END),
  COUNT(DISTINCT CASE WHEN kind = 'action_items' AND occurrence >= $1 AND occurrence < $2 THEN occurrence END),
  COUNT(DISTINCT CASE WHEN kind = 'agenda' AND occurrence >= $3 AND occurrence < $4 THEN occurrence END),
  COUNT(DISTINCT CASE WHEN kind = 'action_items' AND occurrence >= $3 AND occurrence < $4 THEN occurrence END),
  MAX(CASE WHEN kind <> 'set_aside' THEN received_at END)
FROM inbound INDEXED BY inbound_pair_record
WHERE pair IS NOT NULL
GROUP BY pair",
    checkin_stats: "
SELECT pair, COUNT(*), SUM(score),
  SUM(CASE WHEN answered_at < $3 THEN 1 ELSE 0 END),
  SUM(CASE WHEN answered_at < $3 THEN score ELSE 0 END)
FROM checkins INDEXED BY checkins_by_pair
WHERE score IS NOT NULL AND answered_at >= $1 AND answered_at < $2
GROUP BY pair",
};

/// Rows the SQLite worker thread may hand over before the reader takes them (sqlx's
/// default is 50): each hand-over wakes the reader, and at 50 a row a report of 50,000
/// pairs spent more time waking threads than reading (about 8 µs a row, measured).
pub(super) const ROW_BUFFER: usize = 4096;

/// The pools on the SQLite file at `path`, for reading and for writing (see `Pool` in
/// `store/mod.rs`; WAL journal, five seconds' patience with a busy database).
pub(super) async fn pools(path: &Path) -> anyhow::Result<(SqlitePool, SqlitePool)> {
    // The file exists (made private first): a connection opened later must never make a
    // new, empty store where a deleted one was.
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(5))
        .create_if_missing(false)
        .row_buffer_size(ROW_BUFFER);
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
    Ok((pool, writer))
}

/// A file's device and inode: which file a path names.
pub(super) fn file_identity(path: &Path) -> anyhow::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    let meta =
        std::fs::metadata(path).with_context(|| format!("while reading {}", path.display()))?;
    Ok((meta.dev(), meta.ino()))
}

/// An empty store file someone else created (a `touch`, a provisioning tool) is made
/// owner-only before mentord fills it; SQLite gives its WAL and SHM files the same mode.
/// A store already holding data keeps its mode, with a warning if others may read it.
pub(super) fn make_private(path: &Path) -> anyhow::Result<()> {
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

/// A pool of one connection to the file at `path` with `options`.
pub(super) async fn one_connection(
    path: &Path,
    options: SqliteConnectOptions,
) -> anyhow::Result<SqlitePool> {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .with_context(|| format!("while opening the store {}", path.display()))
}

/// Makes the store's folder and its file (owner-only) when they do not exist yet.
pub(super) fn create_with_folder(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("while creating {}", dir.display()))?;
    }
    if !path.exists() {
        create_private(path)?;
    }
    Ok(())
}

/// Creates the database file readable by its owner only: it holds names and addresses.
pub(super) fn create_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("while creating {}", path.display()))?;
    Ok(())
}
