//! Quiet hours: no prompt or reminder lands at night in the recipient's zone.
//!
//! The quiet period `21:00-07:00` holds messages due after 21:00 and before 07:00
//! (a message due at exactly 21:00 or 07:00 goes out then). A held message is sent when
//! the quiet period ends, unless that is after its `deadline` (the meeting it prepares):
//! then it is sent when the quiet period began, the evening before rather than too late.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use crate::program::values::QuietHours;

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
