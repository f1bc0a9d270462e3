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

/// Pairs whose waking-hours warnings are shown in full; the others are counted in one
/// warning (a generated program of 50,000 pairs across the world had 23,000 of them,
/// 184,000 lines that buried every other message of `check`).
const SHOWN: usize = 10;

/// The pairs warned about so far, in file order.
#[derive(Debug, Default)]
pub(super) struct Waking {
    shown: usize,
    more: usize,
    first_more: Option<(String, Span)>,
}

impl Waking {
    /// One warning for the pairs beyond the first [`SHOWN`], at the first of them.
    pub(super) fn finish(self, diags: &mut Diagnostics) {
        let Some((id, span)) = self.first_more else {
            return;
        };
        let pairs = if self.more == 1 {
            "pair meets"
        } else {
            "pairs meet"
        };
        diags
            .warning(
                span,
                format!(
                    "{} more {pairs} outside 07:00–22:00 for one of their people, the first of them {id:?}",
                    self.more
                ),
            )
            .help(
                "`mentord plan --json` gives each meeting's time; change a pair's `at` or \
                 `timezone` where its people have not agreed to the hour",
            );
    }
}

/// Warns once per person of the pair whose local time of one of the series' meetings
/// (its first year) is outside 07:00–22:00; past the first [`SHOWN`] pairs, counts the
/// pair in `waking` instead.
#[allow(clippy::too_many_arguments)]
pub(super) fn warn_outside_waking_hours(
    waking: &mut Waking,
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
    let counting = waking.shown >= SHOWN;
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
            if counting {
                waking.more += 1;
                if waking.first_more.is_none() {
                    waking.first_more = Some((id.to_string(), span.clone()));
                }
                return;
            }
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
    if warned.iter().any(|w| *w) {
        waking.shown += 1;
    }
}
