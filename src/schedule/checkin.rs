//! Check-ins (SPEC §7): every `checkin_every` days from the pair's start, the mentor and
//! the mentee each get one question, "How is your mentoring going?". The first comes one
//! period after the start; none after the pair's (or the program's) end or its series'
//! last day; only active pairs. Sent at 09:00 in the recipient's zone, as review nudges
//! are: a date on a weekend moves to the Monday after, then the recipient's quiet days and
//! quiet hours apply.
//!
//! The date, not the instant, names a check-in (the delivery key's occurrence): the same
//! for both people, whatever their zones.

use jiff::ToSpan;
use jiff::civil::Date;

use super::review::working_day;
use super::{Action, ActionKind, REVIEW_NUDGE_AT, Recipient, Subject, Window, quiet, utc_date};
use crate::program::{Pair, Program, Status};

/// The check-ins of `pair` sent in `window`.
pub(super) fn checkins(
    program: &Program,
    index: u32,
    pair: &Pair,
    window: Window,
    out: &mut Vec<Action>,
) {
    if pair.status != Status::Active {
        return;
    }
    let Some(every) = pair.timing.checkin_every else {
        return;
    };
    let every = i64::from(every);
    // UTC dates with slack for zone offsets, weekends and quiet days moving a check-in.
    let days_from_start = |d: Date| i64::from((d - pair.start).get_days());
    let earliest = days_from_start(utc_date(window.from)) - 2;
    let latest = days_from_start(utc_date(window.until)) + 9;
    let k_first = earliest.div_euclid(every).max(1);
    let k_last = latest.div_euclid(every);
    let last = match (pair.end, pair.meeting.last) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let timing = &pair.timing;
    let people = [
        (Recipient::Mentor, pair.mentor, timing.mentor_quiet_hours),
        (Recipient::Mentee, pair.mentee, timing.mentee_quiet_hours),
    ];
    for k in k_first..=k_last {
        let Ok(on) = pair.start.checked_add((k * every).days()) else {
            break;
        };
        if last.is_some_and(|last| on > last) {
            break;
        }
        let day = working_day(on);
        for (to, person, quiet_hours) in people {
            let zone = &program.person(person).zone.tz;
            let Some(due) = quiet::instant(zone, day, REVIEW_NUDGE_AT) else {
                continue;
            };
            let at = quiet::quiet_send_time(due, zone, timing.quiet_days, quiet_hours, None);
            if at >= window.from && at < window.until {
                out.push(Action {
                    at,
                    kind: ActionKind::Checkin,
                    pair: Some(index),
                    to,
                    subject: Subject::Checkin { on },
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn window(program: &Program, from: Date, until: Date) -> Window {
        let zone = &program.zone.tz;
        let at = |d: Date| quiet::instant(zone, d, jiff::civil::Time::midnight()).unwrap();
        Window {
            from: at(from),
            until: at(until),
        }
    }

    /// The example's grace-alan starts Tuesday 2027-01-12; grace is in New York, alan in
    /// Berlin. Every four weeks by default: 9 February, 9 March, … at 09:00 each.
    #[test]
    fn every_four_weeks_at_nine_local_for_both() {
        let program = crate::program::example();
        let index = program
            .pairs
            .iter()
            .position(|p| p.id == "grace-alan")
            .unwrap();
        let pair = &program.pairs[index];
        assert_eq!(pair.timing.checkin_every, Some(28));
        let mut out = Vec::new();
        let w = window(&program, date(2027, 1, 1), date(2027, 3, 1));
        checkins(&program, index as u32, pair, w, &mut out);
        let seen: Vec<(Recipient, String)> = out
            .iter()
            .map(|a| {
                let person = match a.to {
                    Recipient::Mentor => pair.mentor,
                    _ => pair.mentee,
                };
                let zone = program.person(person).zone.tz.clone();
                (a.to, a.at.to_zoned_datetime(zone).datetime().to_string())
            })
            .collect();
        assert_eq!(
            seen,
            [
                (Recipient::Mentor, "2027-02-09T09:00:00".to_string()),
                (Recipient::Mentee, "2027-02-09T09:00:00".to_string()),
            ]
        );
        assert!(out.iter().all(|a| a.subject
            == Subject::Checkin {
                on: date(2027, 2, 9)
            }));
    }
}
