//! Relationship reviews: when they fall due, the nudges and the escalation, and where a
//! pair stands on a given day. One source for the schedule, the digest and `status`.

use jiff::ToSpan;
use jiff::civil::Date;

use super::{
    Action, ActionKind, History, REVIEW_NUDGE_AT, Recipient, Subject, Window, quiet, utc_date,
};
use crate::program::{Pair, Program, Status};

/// Where a pair stands with its relationship review on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStanding {
    /// The next review falls due on this date.
    Upcoming(Date),
    /// Due on this date and nudged; not yet escalated.
    Nudged(Date),
    /// Due on this date, two graces have passed: escalated to the coordinator.
    Overdue(Date),
}

/// The review standing of `pair` on `today`, with the same due dates the schedule
/// nudges on (every `review_every` days from the last review held, or the pair's start;
/// none after the series' last day). `None` when reviews are off or none is left.
pub fn review_standing(
    pair: &Pair,
    last_review: Option<Date>,
    today: Date,
) -> Option<ReviewStanding> {
    let every = i64::from(pair.timing.review_every?);
    let anchor = last_review.unwrap_or(pair.start);
    let grace = i64::from(pair.timing.review_grace);
    let elapsed = i64::from((today - anchor).get_days());
    let due_after = |k: i64| anchor.checked_add((k * every).days()).ok();
    let within = |due: Date| pair.meeting.last.is_none_or(|last| due <= last);
    // Before the pair starts, the first review is still one period after its start.
    let passed = elapsed.div_euclid(every).max(0);
    if passed >= 1
        && let Some(due) = due_after(passed).filter(|&d| within(d))
    {
        let days_past = i64::from((today - due).get_days());
        return Some(if days_past >= 2 * grace {
            ReviewStanding::Overdue(due)
        } else {
            ReviewStanding::Nudged(due)
        });
    }
    due_after(passed + 1)
        .filter(|&d| within(d))
        .map(ReviewStanding::Upcoming)
}

/// Why a review cannot be recorded on a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewDateError {
    #[error("{held_on} is in the future; record a review once it has been held")]
    InFuture { held_on: Date },
    #[error(
        "{pair} starts on {start}; a relationship review can be recorded once the pair has started"
    )]
    BeforeStart { pair: String, start: Date },
}

/// Checks that `pair` can have held a review on `held_on` (by `today`), and says when the
/// next one is due (`None` when reviews are off). One rule for the command line and,
/// later, an action link.
pub fn record_review_on(
    pair: &Pair,
    held_on: Date,
    today: Date,
) -> Result<Option<Date>, ReviewDateError> {
    if held_on > today {
        return Err(ReviewDateError::InFuture { held_on });
    }
    if held_on < pair.start {
        return Err(ReviewDateError::BeforeStart {
            pair: pair.id.clone(),
            start: pair.start,
        });
    }
    Ok(pair
        .timing
        .review_every
        .and_then(|days| held_on.checked_add(i64::from(days).days()).ok()))
}

/// `day`, or the Monday after it when it is a Saturday or Sunday.
pub(super) fn working_day(day: Date) -> Date {
    let ahead = match day.weekday() {
        jiff::civil::Weekday::Saturday => 2,
        jiff::civil::Weekday::Sunday => 1,
        _ => 0,
    };
    day.checked_add(ahead.days()).unwrap_or(day)
}

pub(super) fn reviews(
    program: &Program,
    history: &History,
    index: u32,
    pair: &Pair,
    window: Window,
    out: &mut Vec<Action>,
) {
    if pair.status != Status::Active {
        return;
    }
    let Some(every) = pair.timing.review_every else {
        return;
    };
    let grace = pair.timing.review_grace;
    let anchor = history
        .last_review
        .get(&pair.id)
        .copied()
        .unwrap_or(pair.start);
    // Dates are compared in UTC with slack for zone offsets, quiet hours and nudges
    // moved off a weekend.
    let first_day = utc_date(window.from);
    let last_day = utc_date(window.until);
    let days_from_anchor = |d: Date| i64::from((d - anchor).get_days());
    let earliest = days_from_anchor(first_day) - 2 * i64::from(grace) - 4;
    let latest = days_from_anchor(last_day) + 2;
    let every = i64::from(every);
    let k_first = (earliest.div_euclid(every)).max(1);
    let k_last = latest.div_euclid(every);
    let coordinator = program.person(program.coordinator);
    for k in k_first..=k_last {
        let Ok(due) = anchor.checked_add((k * every).days()) else {
            break;
        };
        if pair.meeting.last.is_some_and(|last| due > last) {
            break;
        }
        let nudges = [
            (due, 1u8),
            (due.checked_add(i64::from(grace).days()).unwrap_or(due), 2),
            (
                due.checked_add((2 * i64::from(grace)).days())
                    .unwrap_or(due),
                3,
            ),
        ];
        for (day, nudge) in nudges {
            // A nudge due on a weekend lands on the Monday after: a review is work.
            let day = working_day(day);
            let subject = Subject::Review { due, nudge };
            let recipients: &[(Recipient, &jiff::tz::TimeZone, _)] = if nudge < 3 {
                &[
                    (
                        Recipient::Mentor,
                        &program.person(pair.mentor).zone.tz,
                        pair.timing.mentor_quiet_hours,
                    ),
                    (
                        Recipient::Mentee,
                        &program.person(pair.mentee).zone.tz,
                        pair.timing.mentee_quiet_hours,
                    ),
                ]
            } else {
                &[(
                    Recipient::Coordinator,
                    &coordinator.zone.tz,
                    program.coordinator_quiet_hours,
                )]
            };
            let kind = if nudge < 3 {
                ActionKind::ReviewNudge
            } else {
                ActionKind::ReviewEscalation
            };
            for (to, zone, quiet_hours) in recipients {
                let Some(due_at) = quiet::instant(zone, day, REVIEW_NUDGE_AT) else {
                    continue;
                };
                // Nudges to the pair keep off their quiet days; the coordinator's
                // escalation is the coordinator's business.
                let days = if nudge < 3 {
                    pair.timing.quiet_days
                } else {
                    Default::default()
                };
                let at = quiet::quiet_send_time(due_at, zone, days, *quiet_hours, None);
                if at >= window.from && at < window.until {
                    out.push(Action {
                        at,
                        kind,
                        pair: Some(index),
                        to: *to,
                        subject,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// The example's grace-alan starts 2027-01-12, reviews every 90 days, 14 days' grace;
    /// its series ends 2027-06-30.
    #[test]
    fn review_standing_follows_the_nudges() {
        let program = crate::program::example();
        let pair = program.pair_by_id("grace-alan").unwrap();
        let due = date(2027, 4, 12);
        let cases = [
            (date(2027, 2, 1), None, Some(ReviewStanding::Upcoming(due))),
            // Before the pair starts: not due on its start date (status said so).
            (date(2026, 12, 1), None, Some(ReviewStanding::Upcoming(due))),
            (date(2027, 4, 12), None, Some(ReviewStanding::Nudged(due))),
            (date(2027, 5, 9), None, Some(ReviewStanding::Nudged(due))),
            (date(2027, 5, 10), None, Some(ReviewStanding::Overdue(due))),
            // Held on 20 April: the next would be 19 July, after the series ends.
            (date(2027, 5, 10), Some(date(2027, 4, 20)), None),
            (
                date(2027, 4, 25),
                Some(date(2027, 1, 30)),
                Some(ReviewStanding::Upcoming(date(2027, 4, 30))),
            ),
        ];
        for (today, held, want) in cases {
            assert_eq!(review_standing(pair, held, today), want, "{today} {held:?}");
        }
    }
}
