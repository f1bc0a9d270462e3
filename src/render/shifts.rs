//! What the clocks do to a meeting in the recipient's zone: from the two zones' rules
//! (jiff's tz database), the dates over the series (at most a year from the meeting in
//! the mail) on which the meeting is at another time, or on another day, in the
//! recipient's zone than in the mail. "For a few weeks a year it is an hour earlier or
//! later" was wrong for a Kolkata mentee (India keeps its clocks: seven months an hour
//! earlier) and for a Berlin mentor of a Sydney meeting (two hours, and another day).

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::Serialize;

/// A weekday in words.
pub(super) fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

/// The meeting's zone and the recipient's.
pub(super) struct Zones<'a> {
    pub meeting: &'a TimeZone,
    pub meeting_name: &'a str,
    pub recipient: &'a TimeZone,
}

/// A run of days (the recipient's dates) on which the meeting, in the recipient's
/// zone, is `shift` away from the meeting in the mail.
struct Run {
    from: Date,
    /// The last day; `None` when the run lasts to the end of what is looked at.
    to: Option<Date>,
    shift: SignedDuration,
}

/// What the clocks do to the meeting in the recipient's zone, for the template to say
/// ("From 28 March it is 15:00 your time instead of 16:00, as the meeting's zone
/// (Europe/Berlin) changes its clocks and yours does not").
#[derive(Debug, Clone, Serialize)]
pub struct ClockChanges {
    /// The meeting in the mail, your time: "16:00", or "Sunday 23:00" where a run falls
    /// on another day.
    pub usual: String,
    pub runs: Vec<ShiftContext>,
    /// Whose clocks change: `meeting` (the meeting's zone only), `yours` or `both`.
    pub clocks: &'static str,
    /// The meeting's zone.
    pub zone: String,
}

/// Days on which the meeting is at another time, your time.
#[derive(Debug, Clone, Serialize)]
pub struct ShiftContext {
    /// "28 March" (with the year when it is not the meeting's).
    pub from: String,
    /// The last day; none when it lasts to the end of the series (or a year).
    pub to: Option<String>,
    /// "15:00".
    pub time: String,
    /// The weekday, when it is not the meeting's usual one: "Monday".
    pub day: Option<String>,
}

/// What the clocks do to the meeting from `start` to `until` (at most a year), or
/// `None` when it keeps its time in the recipient's zone.
pub(super) fn changes(
    zones: &Zones,
    start: Timestamp,
    until: Option<Timestamp>,
) -> Option<ClockChanges> {
    let year = start
        .checked_add(SignedDuration::from_hours(24 * 365))
        .unwrap_or(start);
    let end = until.map_or(year, |u| u.min(year));
    let runs = runs(zones, start, end);
    if runs.is_empty() {
        return None;
    }
    let local = start.to_zoned_datetime(zones.recipient.clone()).datetime();
    let first_year = local.year();
    let day = |d: Date| {
        if d.year() == first_year {
            d.strftime("%-d %B").to_string()
        } else {
            d.strftime("%-d %B %Y").to_string()
        }
    };
    let mut other_day = false;
    let runs: Vec<ShiftContext> = runs
        .iter()
        .map(|run| {
            let moved = local.checked_add(run.shift).unwrap_or(local);
            let moves_day = moved.date() != local.date();
            other_day |= moves_day;
            ShiftContext {
                from: day(run.from),
                to: run.to.map(day),
                time: moved.strftime("%H:%M").to_string(),
                day: moves_day.then(|| weekday_name(moved.weekday()).to_string()),
            }
        })
        .collect();
    let usual = if other_day {
        format!(
            "{} {}",
            weekday_name(local.weekday()),
            local.strftime("%H:%M")
        )
    } else {
        local.strftime("%H:%M").to_string()
    };
    let clocks = match (
        changes_within(zones.meeting, start, end),
        changes_within(zones.recipient, start, end),
    ) {
        (true, false) => "meeting",
        (false, true) => "yours",
        _ => "both",
    };
    Some(ClockChanges {
        usual,
        runs,
        clocks,
        zone: zones.meeting_name.to_string(),
    })
}

/// The runs of days from `start` to `end` on which the meeting is at another time in
/// the recipient's zone than at `start`. The difference between the zones changes only
/// where one of them changes its clocks, so only those days are looked at.
fn runs(zones: &Zones, start: Timestamp, end: Timestamp) -> Vec<Run> {
    let difference = |t: Timestamp| {
        SignedDuration::from_secs(i64::from(
            zones.recipient.to_offset(t).seconds() - zones.meeting.to_offset(t).seconds(),
        ))
    };
    let first = start.to_zoned_datetime(zones.meeting.clone()).datetime();
    let at = first.time();
    // The instant of the meeting on `day`, at its time in its zone.
    let meeting_on = |day: Date| -> Option<Timestamp> {
        zones
            .meeting
            .to_ambiguous_zoned_datetime(DateTime::from_parts(day, at))
            .compatible()
            .ok()
            .map(|z| z.timestamp())
    };
    let end_day = end.to_zoned_datetime(zones.meeting.clone()).date();
    // The first day whose meeting comes at or after each change of either zone.
    let mut boundaries: Vec<Date> = Vec::new();
    for zone in [zones.meeting, zones.recipient] {
        for transition in zone.following(start) {
            let when = transition.timestamp();
            if when > end {
                break;
            }
            let mut day = when.to_zoned_datetime(zones.meeting.clone()).date();
            if meeting_on(day).is_some_and(|t| t < when) {
                day = day.checked_add(1.day()).unwrap_or(day);
            }
            if day > first.date() && day <= end_day {
                boundaries.push(day);
            }
        }
    }
    boundaries.sort_unstable();
    boundaries.dedup();
    let usual = difference(start);
    let mut out: Vec<Run> = Vec::new();
    let mut previous = SignedDuration::ZERO;
    for (i, from) in boundaries.iter().enumerate() {
        let Some(instant) = meeting_on(*from) else {
            continue;
        };
        let shift = difference(instant) - usual;
        // Days as the recipient's calendar has them.
        let theirs = |t: Timestamp| t.to_zoned_datetime(zones.recipient.clone()).date();
        let to = boundaries
            .get(i + 1)
            .and_then(|next| next.checked_sub(1.day()).ok())
            .and_then(meeting_on)
            .map(theirs);
        match out.last_mut() {
            Some(last) if !shift.is_zero() && shift == previous => last.to = to,
            _ if shift.is_zero() => {}
            _ => out.push(Run {
                from: theirs(instant),
                to,
                shift,
            }),
        }
        previous = shift;
    }
    out
}

/// Whether `zone` changes its offset between `start` and `end`.
fn changes_within(zone: &TimeZone, start: Timestamp, end: Timestamp) -> bool {
    zone.following(start)
        .take_while(|t| t.timestamp() <= end)
        .any(|t| {
            let before = t
                .timestamp()
                .checked_sub(SignedDuration::from_secs(1))
                .unwrap_or(t.timestamp());
            zone.to_offset(before) != t.offset()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sentence the built-in templates make of it.
    fn say(meeting: &str, recipient: &str, start: &str, until: Option<&str>) -> String {
        let m = TimeZone::get(meeting).unwrap();
        let r = TimeZone::get(recipient).unwrap();
        let zones = Zones {
            meeting: &m,
            meeting_name: meeting,
            recipient: &r,
        };
        let start: Timestamp = start.parse().unwrap();
        let Some(c) = changes(&zones, start, until.map(|u| u.parse().unwrap())) else {
            return String::new();
        };
        let runs: Vec<String> = c
            .runs
            .iter()
            .map(|r| {
                format!(
                    "{}{}: {}{}",
                    r.from,
                    r.to.as_ref().map(|t| format!("-{t}")).unwrap_or_default(),
                    r.day.as_ref().map(|d| format!("{d} ")).unwrap_or_default(),
                    r.time
                )
            })
            .collect();
        format!("{} / {} / {}", c.usual, runs.join(", "), c.clocks)
    }

    #[test]
    fn kolkata_is_an_hour_earlier_while_berlin_keeps_summer_time() {
        // Tuesdays 11:30 in Berlin: 16:00 in Kolkata in winter, 15:00 in summer.
        assert_eq!(
            say(
                "Europe/Berlin",
                "Asia/Kolkata",
                "2027-01-12T10:30:00Z",
                None
            ),
            "16:00 / 28 March-30 October: 15:00 / meeting"
        );
    }

    #[test]
    fn a_sydney_meeting_moves_a_berlin_mentor_to_monday() {
        // Mondays 09:00 in Sydney: Sunday 23:00 in Berlin in January.
        assert_eq!(
            say(
                "Australia/Sydney",
                "Europe/Berlin",
                "2027-01-10T22:00:00Z",
                Some("2027-06-30T00:00:00Z")
            ),
            "Sunday 23:00 / 29 March-3 April: Monday 00:00, 4 April: Monday 01:00 / both"
        );
    }

    #[test]
    fn zones_that_change_together_say_nothing() {
        assert_eq!(
            say(
                "Europe/Berlin",
                "Europe/Paris",
                "2027-01-12T10:30:00Z",
                None
            ),
            ""
        );
    }
}
