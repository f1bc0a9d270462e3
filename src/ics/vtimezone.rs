//! `VTIMEZONE` from the time-zone database, in the shape Outlook needs.
//!
//! Outlook reads a zone as one STANDARD and one DAYLIGHT block, each with a yearly RRULE
//! (`FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU`); long lists of dated transitions it gets wrong.
//! So the transitions of the years a series spans are read from the database (jiff's
//! transition API) and turned into that shape when one yearly rule per direction
//! reproduces every one of them. When it does not (a zone that changed its rules or
//! dropped DST during the series, or one with irregular transitions), each transition
//! is written as its own dated block: less pretty, still exactly right for every
//! client that follows RFC 5545. A zone without DST gets a single STANDARD block.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::{Offset, TimeZone};

use super::text::Lines;
use crate::recurrence::weekday_code;

/// One change of offset, as a VTIMEZONE describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Change {
    /// Local wall-clock time of the change, read in the offset before it.
    local: DateTime,
    from: Offset,
    to: Offset,
    dst: bool,
    name: String,
}

/// Writes the VTIMEZONE for `tzid` covering the years `from_year..=to_year`.
pub fn write(lines: &mut Lines, tzid: &str, zone: &TimeZone, from_year: i16, to_year: i16) {
    let changes = changes(zone, from_year, to_year);
    lines.raw("BEGIN", "VTIMEZONE");
    lines.raw("TZID", tzid);
    if changes.is_empty() {
        let at = year_start(from_year);
        let offset = zone.to_offset(at);
        let name = zone.to_offset_info(at).abbreviation().to_string();
        let fixed = Change {
            local: DateTime::constant(1970, 1, 1, 0, 0, 0, 0),
            from: offset,
            to: offset,
            dst: false,
            name,
        };
        block(lines, &fixed, None);
    } else {
        let daylight: Vec<&Change> = changes.iter().filter(|c| c.dst).collect();
        let standard: Vec<&Change> = changes.iter().filter(|c| !c.dst).collect();
        match (
            yearly_rule(&daylight, from_year, to_year),
            yearly_rule(&standard, from_year, to_year),
        ) {
            (Some(d), Some(s)) => {
                block(lines, &d.0, Some(&d.1));
                block(lines, &s.0, Some(&s.1));
            }
            _ => {
                for change in &changes {
                    block(lines, change, None);
                }
            }
        }
    }
    lines.raw("END", "VTIMEZONE");
}

fn year_start(year: i16) -> Timestamp {
    Date::new(year, 1, 1)
        .ok()
        .and_then(|d| {
            d.to_datetime(jiff::civil::Time::midnight())
                .to_zoned_datetime(TimeZone::UTC)
                .ok()
        })
        .map_or(Timestamp::UNIX_EPOCH, |z| z.timestamp())
}

/// Every change in the years, plus the last one before them (which says what offset
/// the first of those years starts in).
fn changes(zone: &TimeZone, from_year: i16, to_year: i16) -> Vec<Change> {
    let start = year_start(from_year);
    let end = year_start(to_year.saturating_add(1));
    let before = zone.preceding(start).next().map(|t| t.timestamp());
    let first = before.unwrap_or(start);
    let mut out = Vec::new();
    for transition in zone.following(
        first
            .checked_sub(jiff::SignedDuration::from_secs(1))
            .unwrap_or(first),
    ) {
        let at = transition.timestamp();
        if at >= end {
            break;
        }
        let from = zone.to_offset(
            at.checked_sub(jiff::SignedDuration::from_secs(1))
                .unwrap_or(at),
        );
        let to = transition.offset();
        if from == to {
            continue;
        }
        out.push(Change {
            local: from.to_datetime(at),
            from,
            to,
            dst: transition.dst().is_dst(),
            name: transition.abbreviation().to_string(),
        });
    }
    // Only a zone that changes offset inside the years needs more than one block.
    if out.iter().all(|c| c.local.year() < from_year) {
        out.clear();
    }
    out
}

/// The yearly rule that reproduces every change in `group` (one per year, same month,
/// weekday, week, local time and offsets), as its 1970 instance and RRULE text.
fn yearly_rule(group: &[&Change], from_year: i16, to_year: i16) -> Option<(Change, String)> {
    let in_years: Vec<&&Change> = group
        .iter()
        .filter(|c| (from_year..=to_year).contains(&c.local.year()))
        .collect();
    let first = *in_years.first()?;
    if in_years.len() != (to_year - from_year + 1) as usize {
        return None;
    }
    let same_shape = in_years.iter().all(|c| {
        c.local.month() == first.local.month()
            && c.local.time() == first.local.time()
            && c.local.weekday() == first.local.weekday()
            && c.from == first.from
            && c.to == first.to
    });
    if !same_shape {
        return None;
    }
    let weekday = first.local.weekday();
    let month = first.local.month();
    let candidates = [-1i8, (first.local.day() - 1) / 7 + 1];
    let nth = candidates.into_iter().find(|&nth| {
        in_years
            .iter()
            .all(|c| nth_weekday(c.local.year(), month, nth, weekday) == Some(c.local.date()))
    })?;
    let anchor = nth_weekday(1970, month, nth, weekday)?;
    let rule = format!(
        "FREQ=YEARLY;BYMONTH={month};BYDAY={nth}{}",
        weekday_code(weekday)
    );
    Some((
        Change {
            local: anchor.to_datetime(first.local.time()),
            ..(*first).clone()
        },
        rule,
    ))
}

fn nth_weekday(year: i16, month: i8, nth: i8, weekday: Weekday) -> Option<Date> {
    Date::new(year, month, 1)
        .ok()?
        .nth_weekday_of_month(nth, weekday)
        .ok()
}

fn block(lines: &mut Lines, change: &Change, rule: Option<&str>) {
    let kind = if change.dst { "DAYLIGHT" } else { "STANDARD" };
    lines.raw("BEGIN", kind);
    lines.raw(
        "DTSTART",
        &change.local.strftime("%Y%m%dT%H%M%S").to_string(),
    );
    lines.raw("TZOFFSETFROM", &offset_text(change.from));
    lines.raw("TZOFFSETTO", &offset_text(change.to));
    if let Some(rule) = rule {
        lines.raw("RRULE", rule);
    }
    if !change.name.is_empty() && !change.name.starts_with(['+', '-']) {
        lines.text("TZNAME", &change.name);
    }
    lines.raw("END", kind);
}

/// `+0100`, `-0330`, or `+053328` when seconds are not zero.
fn offset_text(offset: Offset) -> String {
    let seconds = offset.seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(zone: &str, from: i16, to: i16) -> String {
        let mut lines = Lines::default();
        write(&mut lines, zone, &TimeZone::get(zone).unwrap(), from, to);
        lines.finish()
    }

    #[test]
    fn berlin_is_one_daylight_and_one_standard_rule() {
        assert_eq!(
            render("Europe/Berlin", 2027, 2028),
            "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n\
             BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
             RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\n\
             BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n\
             RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZNAME:CET\r\nEND:STANDARD\r\n\
             END:VTIMEZONE\r\n"
        );
    }

    #[test]
    fn new_york_uses_nth_sundays_and_sydney_is_southern() {
        let ny = render("America/New_York", 2027, 2030);
        assert!(ny.contains("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU"), "{ny}");
        assert!(
            ny.contains("RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU"),
            "{ny}"
        );
        let sydney = render("Australia/Sydney", 2027, 2027);
        assert!(sydney.contains("BEGIN:DAYLIGHT\r\nDTSTART:19701004T020000\r\nTZOFFSETFROM:+1000\r\nTZOFFSETTO:+1100\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU"), "{sydney}");
        let adelaide = render("Australia/Adelaide", 2027, 2027);
        assert!(
            adelaide.contains("TZOFFSETFROM:+0930\r\nTZOFFSETTO:+1030"),
            "{adelaide}"
        );
    }

    #[test]
    fn zones_without_dst_have_one_standard_block() {
        let kolkata = render("Asia/Kolkata", 2027, 2028);
        assert_eq!(
            kolkata,
            "BEGIN:VTIMEZONE\r\nTZID:Asia/Kolkata\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n\
             TZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530\r\nTZNAME:IST\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        );
        assert!(render("UTC", 2027, 2027).contains("TZOFFSETTO:+0000"));
    }

    #[test]
    fn irregular_zones_get_dated_blocks() {
        // Morocco suspends DST for Ramadan: no yearly rule describes it.
        let casablanca = render("Africa/Casablanca", 2027, 2028);
        assert!(!casablanca.contains("RRULE"), "{casablanca}");
        assert!(casablanca.matches("BEGIN:").count() > 3, "{casablanca}");
    }
}
