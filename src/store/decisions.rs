//! What people decided, by table: `cancellations` (meetings someone can't make: never
//! held, never invited again; their prompt, reminder and follow-up dropped in the same
//! transaction) and `unsubscribes` (optional kinds a person stopped).

use anyhow::Context as _;
use jiff::Timestamp;
use jiff::civil::Date;

use super::{Store, instant, on, seconds};

/// A meeting someone can't make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancellation {
    pub pair: String,
    pub date: Date,
    pub occurrence: String,
    pub person: String,
    pub at: Timestamp,
    pub late: bool,
}

impl Store {
    /// Records that `person` can't make a meeting and, in the same transaction, drops the
    /// meeting's prompt, reminder and follow-up still waiting in the outbox. False when
    /// the meeting was already cancelled.
    pub async fn record_cancellation(&self, c: &Cancellation) -> anyhow::Result<bool> {
        on!(self, |pool| {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO cancellations (pair, date, occurrence, person, cancelled_at, late) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (pair, date) DO NOTHING",
            )
            .bind(&c.pair)
            .bind(c.date.to_string())
            .bind(&c.occurrence)
            .bind(&c.person)
            .bind(seconds(c.at))
            .bind(i64::from(c.late))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            for kind in ["agenda_prompt", "mentor_reminder", "followup"] {
                let prefix = format!("{kind}/{}/{}/", c.pair, c.occurrence);
                sqlx::query(
                    "UPDATE messages SET state = 'dropped', last_error = $1 \
                     WHERE pair = $2 AND state = 'pending' AND substr(key, 1, length($3)) = $3",
                )
                .bind(format!(
                    "the meeting was cancelled: {} can't make it",
                    c.person
                ))
                .bind(&c.pair)
                .bind(&prefix)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, anyhow::Error>(inserted == 1)
        })
    }

    /// Every meeting someone can't make.
    pub async fn cancellations(&self) -> anyhow::Result<Vec<Cancellation>> {
        let rows: Vec<(String, String, String, String, i64, i64)> = on!(self, |pool| {
            sqlx::query_as(
            "SELECT pair, date, occurrence, person, cancelled_at, late FROM cancellations ORDER BY pair, date"
        )
        .fetch_all(pool)
        .await?
        });
        rows.into_iter()
            .map(|(pair, date, occurrence, person, at, late)| {
                Ok(Cancellation {
                    pair,
                    date: date
                        .parse()
                        .with_context(|| format!("cancellation date {date:?}"))?,
                    occurrence,
                    person,
                    at: instant(at),
                    late: late != 0,
                })
            })
            .collect()
    }

    /// How many meetings were cancelled: the daemon reads them again when this changes.
    pub async fn cancellation_count(&self) -> anyhow::Result<i64> {
        Ok(on!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM cancellations"
        )
        .fetch_one(pool)
        .await?))
    }

    /// Stops `kind` for `person`; false when it already was.
    pub async fn unsubscribe(
        &self,
        person: &str,
        kind: crate::vocab::MessageKind,
        now: Timestamp,
    ) -> anyhow::Result<bool> {
        let inserted = on!(self, |pool| sqlx::query(
            "INSERT INTO unsubscribes (person, kind, unsubscribed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (person, kind) DO NOTHING"
        )
        .bind(person)
        .bind(kind.name())
        .bind(seconds(now))
        .execute(pool)
        .await?
        .rows_affected());
        Ok(inserted == 1)
    }

    /// Every (person, kind) stopped.
    pub async fn unsubscribes(&self) -> anyhow::Result<Vec<(String, crate::vocab::MessageKind)>> {
        let rows: Vec<(String, String)> = on!(self, |pool| sqlx::query_as(
            "SELECT person, kind FROM unsubscribes ORDER BY person, kind"
        )
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .filter_map(|(person, kind)| Some((person, kind.parse().ok()?)))
            .collect())
    }

    pub async fn unsubscribe_count(&self) -> anyhow::Result<i64> {
        Ok(on!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM unsubscribes"
        )
        .fetch_one(pool)
        .await?))
    }
}
