//! Quiet hours: no prompt or reminder lands at night in the recipient's zone; quiet
//! days: no prompt, reminder or nudge lands on them (a weekend, say).
//!
//! A message due on one of the recipient's `quiet_days` moves to the last working day
//! before, at the same time of day; quiet hours then apply to that time.
//!
//! The quiet period `21:00-07:00` holds messages due after 21:00 and before 07:00
//! (a message due at exactly 21:00 or 07:00 goes out then). A held message is sent when
//! the quiet period ends, unless that is after its `deadline` (the meeting it prepares):
//! then it is sent when the quiet period began, the evening before rather than too late.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use crate::program::values::{QuietDays, QuietHours};

/// When a prompt, reminder or nudge due at `due` may be sent to someone in `zone` with
/// these quiet days and hours: off the quiet days first, then out of the quiet hours; if
/// the hours' end would fall on a quiet day (a reminder due Friday at 23:00), it goes
/// when the quiet hours begin instead, on the working day.
pub fn quiet_send_time(
    due: Timestamp,
    zone: &TimeZone,
    days: QuietDays,
    hours: Option<QuietHours>,
    deadline: Option<Timestamp>,
) -> Timestamp {
    let due = off_quiet_days(due, zone, days);
    let at = send_time(due, zone, hours, deadline);
    let landed = zone.to_datetime(at).date();
    if days.is_empty() || !days.contains(landed.weekday()) {
        return at;
    }
    let Some(midnight) = instant(zone, landed, Time::midnight()) else {
        return at;
    };
    let deadline = deadline.map_or(midnight, |d| d.min(midnight));
    send_time(due, zone, hours, Some(deadline))
}

/// `due` moved off the recipient's quiet days: to the last working day before it, at the
/// same local time (unchanged when `due` falls on a working day).
pub fn off_quiet_days(due: Timestamp, zone: &TimeZone, days: QuietDays) -> Timestamp {
    if days.is_empty() {
        return due;
    }
    let local = zone.to_datetime(due);
    let mut date = local.date();
    // Six days back at most: the loader refuses a week of only quiet days.
    for _ in 0..6 {
        if !days.contains(date.weekday()) {
            break;
        }
        let Ok(before) = date.yesterday() else {
            return due;
        };
        date = before;
    }
    if date == local.date() {
        return due;
    }
    instant(zone, date, local.time()).unwrap_or(due)
}

/// When a message due at `due` may be sent to someone in `zone`.
pub fn send_time(
    due: Timestamp,
    zone: &TimeZone,
    quiet: Option<QuietHours>,
    deadline: Option<Timestamp>,
) -> Timestamp {
    let Some(quiet) = quiet else {
        return due;
    };
    let local = zone.to_datetime(due);
    let (date, time) = (local.date(), local.time());
    let wraps = quiet.begin > quiet.end;
    let inside = if wraps {
        time > quiet.begin || time < quiet.end
    } else {
        time > quiet.begin && time < quiet.end
    };
    if !inside {
        return due;
    }
    // The quiet period holding `due` began on `begin_date` and ends on `end_date`.
    let (begin_date, end_date) = if !wraps {
        (date, date)
    } else if time > quiet.begin {
        (date, date.tomorrow().unwrap_or(date))
    } else {
        (date.yesterday().unwrap_or(date), date)
    };
    let end = instant(zone, end_date, quiet.end).unwrap_or(due);
    match deadline {
        Some(deadline) if end >= deadline => instant(zone, begin_date, quiet.begin)
            .unwrap_or(due)
            .min(due),
        _ => end.max(due),
    }
}

/// A local wall-clock time as an instant; a time skipped by a DST change moves forward
/// by the gap, as RFC 5545 reads it.
pub fn instant(zone: &TimeZone, date: Date, time: Time) -> Option<Timestamp> {
    zone.to_ambiguous_timestamp(date.to_datetime(time))
        .compatible()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::values::parse_quiet_hours;

    fn at(zone: &TimeZone, text: &str) -> Timestamp {
        let dt: jiff::civil::DateTime = text.parse().unwrap();
        zone.to_ambiguous_timestamp(dt).compatible().unwrap()
    }

    fn local(zone: &TimeZone, t: Timestamp) -> String {
        zone.to_datetime(t).to_string()
    }

    #[test]
    fn held_until_morning_or_sent_the_evening_before() {
        let zone = TimeZone::get("Europe/Berlin").unwrap();
        let night = Some(parse_quiet_hours("21:00-07:00").unwrap());
        let meeting = at(&zone, "2027-01-12T10:00");
        let early_meeting = at(&zone, "2027-01-12T06:30");
        let cases = [
            ("2027-01-11T23:30", meeting, "2027-01-12T07:00:00"),
            ("2027-01-12T03:00", meeting, "2027-01-12T07:00:00"),
            ("2027-01-11T21:00", meeting, "2027-01-11T21:00:00"),
            ("2027-01-11T12:00", meeting, "2027-01-11T12:00:00"),
            ("2027-01-12T07:00", meeting, "2027-01-12T07:00:00"),
            // 07:00 is after a 06:30 meeting: sent at 21:00 the evening before.
            ("2027-01-12T04:30", early_meeting, "2027-01-11T21:00:00"),
        ];
        for (due, deadline, want) in cases {
            let sent = send_time(at(&zone, due), &zone, night, Some(deadline));
            assert_eq!(local(&zone, sent), want, "due {due}");
        }
    }

    #[test]
    fn a_weekend_prompt_moves_to_friday() {
        use jiff::civil::Weekday;
        let zone = TimeZone::get("America/New_York").unwrap();
        let weekend = QuietDays::default()
            .with(Weekday::Saturday)
            .with(Weekday::Sunday);
        let cases = [
            // Sunday 10:00 and Saturday 08:30 go on Friday at the same time of day.
            ("2027-03-14T10:00", "2027-03-12T10:00:00"),
            ("2027-03-13T08:30", "2027-03-12T08:30:00"),
            // A working day stays.
            ("2027-03-15T10:00", "2027-03-15T10:00:00"),
        ];
        for (due, want) in cases {
            let moved = off_quiet_days(at(&zone, due), &zone, weekend);
            assert_eq!(local(&zone, moved), want, "due {due}");
        }
        let due = at(&zone, "2027-03-14T10:00");
        assert_eq!(off_quiet_days(due, &zone, QuietDays::default()), due);
    }

    #[test]
    fn daytime_quiet_hours_and_off() {
        let zone = TimeZone::get("Asia/Kolkata").unwrap();
        let lunch = Some(parse_quiet_hours("12:00-13:30").unwrap());
        let due = at(&zone, "2027-03-01T12:15");
        assert_eq!(
            local(&zone, send_time(due, &zone, lunch, None)),
            "2027-03-01T13:30:00"
        );
        assert_eq!(send_time(due, &zone, None, None), due);
    }
}
