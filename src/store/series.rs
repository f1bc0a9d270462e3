//! A sent series as stored: plain JSON with the RRULE as its RFC 5545 text, so the row
//! reads well in `sqlite3` and survives changes to the Rust types.

use anyhow::{Context as _, anyhow};
use jiff::civil::DateTime;
use serde::{Deserialize, Serialize};

use std::collections::HashMap;

use jiff::Timestamp;

use super::on;
use crate::ics::{Person, Series};
use crate::program::Zone;
use crate::reconcile::Sent;
use crate::recurrence::parse_rrule;

#[derive(Debug, Serialize, Deserialize)]
struct PersonRecord {
    name: String,
    email: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct SeriesRecord {
    uid: String,
    zone: String,
    start: String,
    end: String,
    rrule: String,
    exdates: Vec<String>,
    organizer: PersonRecord,
    /// Absent in series stored before personal `ORGANIZER` addresses existed.
    #[serde(default)]
    personal_organizer: bool,
    attendees: [PersonRecord; 2],
    summary: String,
    description: String,
    location: Option<String>,
}

fn person(p: &Person) -> PersonRecord {
    PersonRecord {
        name: p.name.clone(),
        email: p.email.clone(),
    }
}

fn from_record(p: PersonRecord) -> Person {
    Person {
        name: p.name,
        email: p.email,
    }
}

pub fn to_json(series: &Series) -> String {
    let record = SeriesRecord {
        uid: series.uid.clone(),
        zone: series.zone.name.to_string(),
        start: series.start.to_string(),
        end: series.end.to_string(),
        rrule: series.rule.to_string(),
        exdates: series.exdates.iter().map(DateTime::to_string).collect(),
        organizer: person(&series.organizer),
        personal_organizer: series.personal_organizer,
        attendees: [person(&series.attendees[0]), person(&series.attendees[1])],
        summary: series.summary.clone(),
        description: series.description.clone(),
        location: series.location.clone(),
    };
    serde_json::to_string(&record).unwrap_or_default()
}

pub fn from_json(text: &str) -> anyhow::Result<Series> {
    let record: SeriesRecord =
        serde_json::from_str(text).context("while reading a stored series")?;
    let tz = jiff::tz::TimeZone::get(&record.zone)
        .with_context(|| format!("stored zone {:?}", record.zone))?;
    let rule = parse_rrule(&record.rrule)
        .map_err(|(_, e)| anyhow!("stored RRULE {:?}: {}", record.rrule, e.message))?;
    let [a, b] = record.attendees;
    Ok(Series {
        uid: record.uid,
        zone: Zone {
            name: record.zone.into(),
            tz,
        },
        start: record.start.parse()?,
        end: record.end.parse()?,
        rule,
        exdates: record
            .exdates
            .iter()
            .map(|d| d.parse())
            .collect::<Result<_, _>>()?,
        organizer: from_record(record.organizer),
        personal_organizer: record.personal_organizer,
        attendees: [from_record(a), from_record(b)],
        summary: record.summary,
        description: record.description,
        location: record.location,
    })
}

/// Counts a change of the series table, in the transaction that records it.
pub(super) const COUNT_CHANGE: &str =
    "UPDATE series_changes SET changes = changes + 1 WHERE id = 1";

/// Records series as sent, many rows to a statement: `SAVE_SERIES`, the values, then
/// `SAVE_SERIES_CONFLICT`. A pair may be in one statement once only.
pub(super) const SAVE_SERIES: &str =
    "INSERT INTO series (pair, uid, sequence, active, series, updated_at) ";
pub(super) const SAVE_SERIES_CONFLICT: &str = " ON CONFLICT (pair) DO UPDATE SET \
     uid = excluded.uid, sequence = excluded.sequence, active = excluded.active, \
     series = excluded.series, updated_at = excluded.updated_at";

impl super::Store {
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
                    series: from_json(&text)?,
                    sequence: sequence as u32,
                    active: active != 0,
                },
            );
        }
        Ok(out)
    }

    /// The series of `pairs` (every pair's with `None`) as last sent, still active (not
    /// cancelled as a whole), with when each was last sent: what a calendar feed of
    /// those pairs shows. A person's few pairs are one indexed lookup.
    pub async fn active_series_of(
        &self,
        pairs: Option<&[&str]>,
    ) -> anyhow::Result<Vec<(String, Sent, Timestamp)>> {
        if pairs.is_some_and(<[&str]>::is_empty) {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, i64, String, i64)> = on!(self, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT pair, sequence, series, updated_at FROM series WHERE active <> 0",
            );
            if let Some(pairs) = pairs {
                query.push(" AND pair IN (");
                let mut list = query.separated(", ");
                for pair in pairs {
                    list.push_bind(*pair);
                }
                query.push(")");
            }
            query.push(" ORDER BY pair");
            query.build_query_as().fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(pair, sequence, text, updated_at)| {
                let sent = Sent {
                    series: from_json(&text)?,
                    sequence: sequence as u32,
                    active: true,
                };
                Ok((pair, sent, super::instant(updated_at)))
            })
            .collect()
    }

    /// How many times series were recorded as sent: it changes with every change of
    /// any series, so what a calendar feed computed for one count stays right until the
    /// count changes. One row, one read.
    pub async fn series_changes(&self) -> anyhow::Result<i64> {
        let changes: Option<i64> = on!(self, |pool| {
            sqlx::query_scalar("SELECT changes FROM series_changes WHERE id = 1")
                .fetch_optional(pool)
                .await?
        });
        Ok(changes.unwrap_or(0))
    }

    pub async fn save_series(&self, pair: &str, sent: &Sent, now: Timestamp) -> anyhow::Result<()> {
        self.enqueue_all(&[], &[(pair.to_string(), sent.clone())], now)
            .await?;
        Ok(())
    }
}
