//! `kept_mail`: mail from outside the pairs, kept whole for the coordinator (SPEC §5 "No
//! dead ends"), once per Message-ID, until they mark it handled (`mentord inbox done`,
//! the page's button). Read by `mentord inbox`, `status` and the page; its sender and
//! subject are outside text, shown inert by whoever shows them.

use jiff::Timestamp;

use super::{Store, instant, on, seconds};

/// The largest mail kept whole (SPEC §5: 25 MB); a larger one is set aside.
pub const MAX_KEPT_BYTES: usize = 25 * 1024 * 1024;

/// One kept mail, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptMail {
    pub id: i64,
    pub received_at: Timestamp,
    pub sender: String,
    pub subject: String,
    pub handled_at: Option<Timestamp>,
    /// Its size in bytes.
    pub size: i64,
}

/// What marking a kept mail handled did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    Marked,
    /// It was marked before (then).
    Already(Timestamp),
    /// No kept mail has this id.
    Unknown,
}

type Row = (i64, i64, String, String, Option<i64>, i64);
/// A [`Row`] and the mail's bytes.
type WholeRow = (i64, i64, String, String, Option<i64>, i64, Vec<u8>);

fn kept(row: Row) -> KeptMail {
    let (id, received_at, sender, subject, handled_at, size) = row;
    KeptMail {
        id,
        received_at: instant(received_at),
        sender,
        subject,
        handled_at: handled_at.map(instant),
        size,
    }
}

impl Store {
    /// Keeps a mail from outside the pairs; false when one with its Message-ID is kept
    /// already. The caller keeps `raw` within [`MAX_KEPT_BYTES`].
    pub async fn keep_mail(
        &self,
        message_id: &str,
        sender: &str,
        subject: &str,
        raw: &[u8],
        now: Timestamp,
    ) -> anyhow::Result<bool> {
        // PostgreSQL refuses NUL in text; the rest is kept as it came (and shown inert),
        // and the bytes stay whole.
        let clean = |text: &str, most: usize| -> String {
            text.chars().filter(|c| *c != '\0').take(most).collect()
        };
        let inserted = on!(self, |pool| sqlx::query(
            "INSERT INTO kept_mail (message_id, received_at, sender, subject, raw) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id) DO NOTHING"
        )
        .bind(clean(message_id, 1000))
        .bind(seconds(now))
        .bind(clean(sender, 300))
        .bind(clean(subject, 300))
        .bind(raw)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(inserted == 1)
    }

    /// Kept mail, unhandled first, each part newest first (at most `limit`); only the
    /// unhandled with `unhandled_only`.
    pub async fn kept_mail(
        &self,
        unhandled_only: bool,
        limit: i64,
    ) -> anyhow::Result<Vec<KeptMail>> {
        let rows: Vec<Row> = on!(self, |pool| sqlx::query_as(
            "SELECT id, received_at, sender, subject, handled_at, CAST(LENGTH(raw) AS BIGINT) \
             FROM kept_mail WHERE handled_at IS NULL OR $1 = 0 \
             ORDER BY CASE WHEN handled_at IS NULL THEN 0 ELSE 1 END, received_at DESC, id DESC \
             LIMIT $2"
        )
        .bind(i64::from(unhandled_only))
        .bind(limit)
        .fetch_all(pool)
        .await?);
        Ok(rows.into_iter().map(kept).collect())
    }

    /// How many kept mails wait for the coordinator.
    pub async fn kept_unhandled(&self) -> anyhow::Result<i64> {
        Ok(on!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM kept_mail WHERE handled_at IS NULL"
        )
        .fetch_one(pool)
        .await?))
    }

    /// One kept mail and its bytes.
    pub async fn kept_mail_whole(&self, id: i64) -> anyhow::Result<Option<(KeptMail, Vec<u8>)>> {
        let row: Option<WholeRow> = on!(self, |pool| sqlx::query_as(
            "SELECT id, received_at, sender, subject, handled_at, \
                 CAST(LENGTH(raw) AS BIGINT), raw FROM kept_mail WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?);
        Ok(row.map(|(id, at, sender, subject, handled, size, raw)| {
            (kept((id, at, sender, subject, handled, size)), raw)
        }))
    }

    /// Marks a kept mail handled at `now` (once: a second time says when it was).
    pub async fn mark_kept_handled(&self, id: i64, now: Timestamp) -> anyhow::Result<Handled> {
        let changed = on!(self, |pool| sqlx::query(
            "UPDATE kept_mail SET handled_at = $2 WHERE id = $1 AND handled_at IS NULL"
        )
        .bind(id)
        .bind(seconds(now))
        .execute(pool)
        .await?
        .rows_affected());
        if changed == 1 {
            return Ok(Handled::Marked);
        }
        let before: Option<Option<i64>> = on!(self, |pool| sqlx::query_scalar(
            "SELECT handled_at FROM kept_mail WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?);
        Ok(match before {
            Some(Some(at)) => Handled::Already(instant(at)),
            Some(None) => Handled::Marked,
            None => Handled::Unknown,
        })
    }
}
