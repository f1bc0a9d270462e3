//! The command line's date and time arguments; the clock itself is [`crate::clock`].

use anyhow::{Context, bail};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

pub use crate::clock::now;

/// `YYYY-MM-DD` as the start of that day in `zone`.
pub fn parse_date_start(text: &str, zone: &TimeZone) -> anyhow::Result<Timestamp> {
    let date: Date = text
        .parse()
        .with_context(|| format!("\"{text}\" is not a date; write YYYY-MM-DD"))?;
    start_of(date, zone)
}

pub fn start_of(date: Date, zone: &TimeZone) -> anyhow::Result<Timestamp> {
    Ok(zone
        .to_ambiguous_timestamp(date.to_datetime(Time::midnight()))
        .compatible()?)
}

/// `YYYY-MM-DDTHH:MM[:SS]` in `zone`, a date (its start), or RFC 3339 with an offset.
pub fn parse_instant(text: &str, zone: &TimeZone) -> anyhow::Result<Timestamp> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    if let Ok(dt) = text.parse::<DateTime>() {
        return Ok(zone.to_ambiguous_timestamp(dt).compatible()?);
    }
    if text.len() == 10 {
        return parse_date_start(text, zone);
    }
    bail!("\"{text}\" is not a time; write YYYY-MM-DDTHH:MM, a date, or RFC 3339 with an offset")
}
