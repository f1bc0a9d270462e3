//! A warning for a meeting that lands outside 07:00–22:00 for one of its people: a
//! Berlin mentor of a Sydney morning meets on Sunday at 23:00, and at 01:00 once the
//! clocks change. `check` says so at the pair (or its `at`); the program still loads,
//! as some pairs agree to such hours.

use jiff::civil::{Date, Time};

use super::model::{Meeting, PersonIndex};
use super::people::PersonEntry;
use crate::diagnostic::{Diagnostics, Span};

/// The waking day: a meeting starting before 07:00 or after 22:00 warns.
const EARLIEST: Time = Time::constant(7, 0, 0, 0);
const LATEST: Time = Time::constant(22, 0, 0, 0);

/// Meetings looked at: the series' first year, at most this many.
const MEETINGS: usize = 60;

/// Warns once per person of the pair whose local time of one of the series' meetings
/// (its first year) is outside 07:00–22:00.
#[allow(clippy::too_many_arguments)]
pub(super) fn warn_outside_waking_hours(
    id: &str,
    meeting: &Meeting,
    start: Date,
    skip: &[Date],
    people: [PersonIndex; 2],
    entries: &[PersonEntry],
    span: Span,
    diags: &mut Diagnostics,
) {
    let Some(first) = meeting.first else {
        return;
    };
    let year_end = first
        .checked_add(jiff::Span::new().years(1))
        .unwrap_or(first);
    let mut warned = [false; 2];
    let meetings = meeting
        .rule
        .dates(start, start)
        .take_while(|date| *date <= year_end)
        .filter(|date| skip.binary_search(date).is_err())
        .map(|date| meeting.start_on(date))
        .take_while(|instant| meeting.until.is_none_or(|u| *instant <= u))
        .take(MEETINGS);
    for instant in meetings {
        for (i, &who) in people.iter().enumerate() {
            if warned[i] {
                continue;
            }
            let person = &entries[who].person;
            let local = instant.to_zoned_datetime(person.zone.tz.clone());
            if local.time() >= EARLIEST && local.time() <= LATEST {
                continue;
            }
            warned[i] = true;
            let ends = local
                .checked_add(meeting.duration)
                .unwrap_or_else(|_| local.clone());
            diags
                .warning(
                    span.clone(),
                    format!(
                        "pair {id:?} meets at {} to {} on {} for {} ({}), outside 07:00–22:00",
                        local.strftime("%H:%M"),
                        ends.strftime("%H:%M"),
                        local.strftime("%A %-d %B %Y"),
                        person.name,
                        person.zone.name,
                    ),
                )
                .help(
                    "if they have not agreed to this hour, change the pair's `at` or its \
                     `timezone` so the meeting suits both",
                );
        }
        if warned.iter().all(|w| *w) {
            break;
        }
    }
}
