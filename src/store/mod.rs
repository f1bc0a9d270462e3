//! The store: what the program file cannot remember. SQLite by default
//! (`sqlite://mentord.db`, created on first use with mode 0600, WAL journal), migrations
//! embedded and applied when it opens.
//!
//! - `messages`, the outbox: a message is written with its deterministic key and its
//!   whole body *before* it is sent, marked `sending` while in flight and `sent` after.
//!   The key is the primary key, so a second copy cannot be queued; a crash between
//!   the server's acceptance and the mark leaves it `sending`, and [`Store::open`] puts
//!   it back to `pending`: at worst one resend, byte-identical, same `Message-ID`.
//! - `series`: each pair's series as last sent (for the reconcile).
//! - `reviews`: relationship reviews held.
//! - `cursor`: how far the schedule has been turned into messages.

mod series;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context as _, bail};
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::reconcile::Sent;

/// A message to put in the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub key: String,
    pub message_id: String,
    pub kind: String,
    pub pair: Option<String>,
    pub recipient: String,
    pub due_at: Timestamp,
    pub uid: Option<String>,
    pub method: Option<String>,
    pub sequence: Option<u32>,
    pub body: Vec<u8>,
}

/// A message taken from the outbox to send.
#[derive(Debug, Clone)]
pub struct Queued {
    pub key: String,
    pub message_id: String,
    pub kind: String,
    pub pair: Option<String>,
    pub recipient: String,
    pub attempts: u32,
    pub body: Vec<u8>,
}

/// Counts and recent problems for `status`.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub last_sent: Option<Timestamp>,
    /// (key, recipient, error) of permanently failed messages, newest first.
    pub failures: Vec<(String, String, String)>,
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The database file a `sqlite://` URL names, relative paths taken from `base`.
pub fn sqlite_path(url: &str, base: &Path) -> anyhow::Result<PathBuf> {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        bail!("{url:?} is not a sqlite:// URL (PostgreSQL comes with a later release)");
    };
    let path = Path::new(rest.split('?').next().unwrap_or(rest));
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    })
}

fn seconds(t: Timestamp) -> i64 {
    t.as_second()
}

fn instant(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl Store {
    /// Opens (creating if needed) the SQLite store at `path`, applies migrations, and
    /// returns messages left `sending` by a crash to `pending`.
    pub async fn open(path: &Path) -> anyhow::Result<Store> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("while creating {}", dir.display()))?;
        }
        let created = !path.exists();
        if created {
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
        MIGRATIONS
            .run(&pool)
            .await
            .context("while migrating the store")?;
        sqlx::query("UPDATE messages SET state = 'pending' WHERE state = 'sending'")
            .execute(&pool)
            .await?;
        Ok(Store { pool })
    }

    /// Opens an existing store to read it, changing nothing (for `plan` and `status`,
    /// which may run beside the daemon); `None` when there is no store yet.
    pub async fn open_read_only(path: &Path) -> anyhow::Result<Option<Store>> {
        if !path.exists() {
            return Ok(None);
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .read_only(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .with_context(|| format!("while opening the store {}", path.display()))?;
        Ok(Some(Store { pool }))
    }

    /// Queues a message unless one with its key exists; true when it was queued.
    pub async fn enqueue(&self, m: &NewMessage, now: Timestamp) -> anyhow::Result<bool> {
        let result = sqlx::query(
            "INSERT INTO messages (key, message_id, kind, pair, recipient, due_at, state, attempts, \
             next_attempt_at, uid, method, sequence, body, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
        )
        .bind(&m.key)
        .bind(&m.message_id)
        .bind(&m.kind)
        .bind(&m.pair)
        .bind(&m.recipient)
        .bind(seconds(m.due_at))
        .bind(seconds(m.due_at))
        .bind(&m.uid)
        .bind(&m.method)
        .bind(m.sequence.map(i64::from))
        .bind(&m.body)
        .bind(seconds(now))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Claims up to `limit` messages due by `now` (state `pending` → `sending`), oldest first.
    pub async fn claim_due(&self, now: Timestamp, limit: u32) -> anyhow::Result<Vec<Queued>> {
        let rows = sqlx::query(
            "UPDATE messages SET state = 'sending', attempts = attempts + 1 \
             WHERE key IN (SELECT key FROM messages WHERE state = 'pending' AND next_attempt_at <= ? \
                           ORDER BY next_attempt_at, key LIMIT ?) \
             RETURNING key, message_id, kind, pair, recipient, attempts, body, next_attempt_at",
        )
        .bind(seconds(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<(i64, Queued)> = rows
            .into_iter()
            .map(|row| {
                (
                    row.get::<i64, _>("next_attempt_at"),
                    Queued {
                        key: row.get("key"),
                        message_id: row.get("message_id"),
                        kind: row.get("kind"),
                        pair: row.get("pair"),
                        recipient: row.get("recipient"),
                        attempts: row.get::<i64, _>("attempts") as u32,
                        body: row.get("body"),
                    },
                )
            })
            .collect();
        out.sort_by(|a, b| (a.0, &a.1.key).cmp(&(b.0, &b.1.key)));
        Ok(out.into_iter().map(|(_, q)| q).collect())
    }

    pub async fn mark_sent(&self, key: &str, at: Timestamp) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE messages SET state = 'sent', sent_at = ?, last_error = NULL WHERE key = ?",
        )
        .bind(seconds(at))
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A temporary failure: try again at `next`.
    pub async fn mark_retry(&self, key: &str, error: &str, next: Timestamp) -> anyhow::Result<()> {
        sqlx::query("UPDATE messages SET state = 'pending', last_error = ?, next_attempt_at = ? WHERE key = ?")
            .bind(error)
            .bind(seconds(next))
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A permanent failure, shown in `status` and the digest.
    pub async fn mark_failed(&self, key: &str, error: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE messages SET state = 'failed', last_error = ? WHERE key = ?")
            .bind(error)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A message whose moment passed while mentord was down (a prompt for a meeting that
    /// has started): kept for the record, never sent.
    pub async fn mark_dropped(&self, key: &str, why: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE messages SET state = 'dropped', last_error = ? WHERE key = ?")
            .bind(why)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// When the earliest pending message may be tried.
    pub async fn next_attempt(&self) -> anyhow::Result<Option<Timestamp>> {
        let value: Option<i64> =
            sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM messages WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        Ok(value.map(instant))
    }

    pub async fn message_state(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT state FROM messages WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Each pair's series as last sent.
    pub async fn sent_series(&self) -> anyhow::Result<HashMap<String, Sent>> {
        let rows = sqlx::query("SELECT pair, sequence, active, series FROM series")
            .fetch_all(&self.pool)
            .await?;
        let mut out = HashMap::new();
        for row in rows {
            let pair: String = row.get("pair");
            let text: String = row.get("series");
            out.insert(
                pair,
                Sent {
                    series: series::from_json(&text)?,
                    sequence: row.get::<i64, _>("sequence") as u32,
                    active: row.get::<i64, _>("active") != 0,
                },
            );
        }
        Ok(out)
    }

    pub async fn save_series(&self, pair: &str, sent: &Sent, now: Timestamp) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO series (pair, uid, sequence, active, series, updated_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (pair) DO UPDATE SET uid = excluded.uid, sequence = excluded.sequence, \
             active = excluded.active, series = excluded.series, updated_at = excluded.updated_at",
        )
        .bind(pair)
        .bind(&sent.series.uid)
        .bind(i64::from(sent.sequence))
        .bind(i64::from(sent.active))
        .bind(series::to_json(&sent.series))
        .bind(seconds(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn record_review(
        &self,
        pair: &str,
        held_on: Date,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO reviews (pair, held_on, recorded_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
            .bind(pair)
            .bind(held_on.to_string())
            .bind(seconds(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The last review held by each pair.
    pub async fn last_reviews(&self) -> anyhow::Result<HashMap<String, Date>> {
        let rows = sqlx::query("SELECT pair, MAX(held_on) AS held_on FROM reviews GROUP BY pair")
            .fetch_all(&self.pool)
            .await?;
        let mut out = HashMap::new();
        for row in rows {
            let held: String = row.get("held_on");
            out.insert(row.get("pair"), held.parse()?);
        }
        Ok(out)
    }

    pub async fn scheduled_until(&self) -> anyhow::Result<Option<Timestamp>> {
        let value: Option<i64> =
            sqlx::query_scalar("SELECT scheduled_until FROM cursor WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(value.map(instant))
    }

    pub async fn set_scheduled_until(&self, until: Timestamp) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO cursor (id, scheduled_until) VALUES (1, ?) \
             ON CONFLICT (id) DO UPDATE SET scheduled_until = excluded.scheduled_until",
        )
        .bind(seconds(until))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn summary(&self) -> anyhow::Result<Summary> {
        let count = |state: &'static str| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM messages WHERE state = ?")
                .bind(state)
        };
        let pending = count("pending").fetch_one(&self.pool).await? as u64;
        let sent = count("sent").fetch_one(&self.pool).await? as u64;
        let failed = count("failed").fetch_one(&self.pool).await? as u64;
        let last_sent: Option<i64> = sqlx::query_scalar("SELECT MAX(sent_at) FROM messages")
            .fetch_one(&self.pool)
            .await?;
        let failures = self.failures().await?;
        Ok(Summary {
            pending,
            sent,
            failed,
            last_sent: last_sent.map(instant),
            failures,
        })
    }

    /// (key, recipient, error) of the 20 newest permanently failed messages.
    pub async fn failures(&self) -> anyhow::Result<Vec<(String, String, String)>> {
        Ok(sqlx::query(
            "SELECT key, recipient, COALESCE(last_error, '') AS error FROM messages \
             WHERE state = 'failed' ORDER BY created_at DESC LIMIT 20",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| (row.get("key"), row.get("recipient"), row.get("error")))
        .collect())
    }

    /// Per pair: (last sent, failed count).
    pub async fn pair_activity(&self) -> anyhow::Result<HashMap<String, (Option<Timestamp>, u64)>> {
        let rows = sqlx::query(
            "SELECT pair, MAX(sent_at) AS last_sent, SUM(state = 'failed') AS failed \
             FROM messages WHERE pair IS NOT NULL GROUP BY pair",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let last: Option<i64> = row.get("last_sent");
                let failed: Option<i64> = row.get("failed");
                (
                    row.get("pair"),
                    (last.map(instant), failed.unwrap_or(0) as u64),
                )
            })
            .collect())
    }
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
