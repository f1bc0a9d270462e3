//! A sent series as stored: plain JSON with the RRULE as its RFC 5545 text, so the row
//! reads well in `sqlite3` and survives changes to the Rust types.

use anyhow::{Context as _, anyhow};
use jiff::civil::DateTime;
use serde::{Deserialize, Serialize};

use crate::ics::{Person, Series};
use crate::program::Zone;
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
        attendees: [from_record(a), from_record(b)],
        summary: record.summary,
        description: record.description,
        location: record.location,
    })
}
