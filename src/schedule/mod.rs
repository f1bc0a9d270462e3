//! The schedule engine: a pure function of (program, history, time window) to the
//! time-ordered actions due in that window — meetings, series invites, agenda prompts,
//! mentor reminders, follow-ups, review nudges and escalations, coordinator digests.
//!
//! No clock and no I/O: `plan`, `simulate` and the daemon all call [`actions`], which is
//! what makes the first two trustworthy previews of the third.
//!
//! Time rules, in one place:
//! - A meeting is at its wall-clock time (`at`) in its zone on every date the rule
//!   selects, on both sides of a DST change. On a change day a time that does not
//!   exist (02:30 when clocks jump 02:00→03:00) moves forward by the gap (03:30), and
//!   a time that happens twice (02:30 when clocks fall back) is the first of the two:
//!   RFC 5545 §3.3.5 reads DATE-TIME with TZID the same way, so calendar clients agree.
//! - Lead and lag times (`agenda_before = "48h"`) are elapsed time, not wall-clock.
//! - Prompts, reminders, follow-ups and review nudges respect the recipient's quiet
//!   hours (see [`quiet`]); invites, meetings and digests are never moved.
//! - Reviews fall due every `review_every` days counted from the pair's start, or from
//!   the last review held; a second nudge follows after `review_grace`, and after a
//!   second grace the coordinator gets an escalation. Nudges go out at 09:00 local.
//!
//! The window is produced a week at a time, each week sorted, so a year of 50,000
//! pairs streams in a few megabytes instead of millions of buffered actions.

pub mod quiet;

use std::collections::HashMap;

use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::program::{Meeting, Pair, Program, Status};

/// What an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActionKind {
    /// The series invite (`METHOD:REQUEST`) a pair gets when its series is new to them.
    Invite,
    /// A meeting taking place (shown in plans; nothing is sent).
    Meeting,
    AgendaPrompt,
    MentorReminder,
    Followup,
    ReviewNudge,
    ReviewEscalation,
    Digest,
}

impl ActionKind {
    pub const ALL: [ActionKind; 8] = [
        ActionKind::Invite,
        ActionKind::Meeting,
        ActionKind::AgendaPrompt,
        ActionKind::MentorReminder,
        ActionKind::Followup,
        ActionKind::ReviewNudge,
        ActionKind::ReviewEscalation,
        ActionKind::Digest,
    ];

    /// The stable name used in `--json` output and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Invite => "invite",
            ActionKind::Meeting => "meeting",
            ActionKind::AgendaPrompt => "agenda_prompt",
            ActionKind::MentorReminder => "mentor_reminder",
            ActionKind::Followup => "followup",
            ActionKind::ReviewNudge => "review_nudge",
            ActionKind::ReviewEscalation => "review_escalation",
            ActionKind::Digest => "digest",
        }
    }

    /// Whether the action sends mail (a meeting itself does not).
    pub fn sends_mail(self) -> bool {
        self != ActionKind::Meeting
    }
}

/// Who an action is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Recipient {
    /// Both people of the pair (a meeting, a series invite: one message each).
    Pair,
    Mentor,
    Mentee,
    Coordinator,
}

/// What the action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// The pair's whole meeting series.
    Series,
    /// One meeting; `first` marks the pair's first meeting, which gets its own prompt.
    Meeting { start: Timestamp, first: bool },
    /// A relationship review due on `due`; `nudge` counts 1, 2 and 3 (the escalation).
    Review { due: Date, nudge: u8 },
    /// The coordinator's periodic digest.
    Digest,
}

/// One thing the program does at one time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Action {
    pub at: Timestamp,
    pub kind: ActionKind,
    /// Index into [`Program::pairs`]; `None` for program-wide actions (digests).
    pub pair: Option<u32>,
    pub to: Recipient,
    pub subject: Subject,
}

/// A half-open window of time `[from, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: Timestamp,
    pub until: Timestamp,
}

/// What the store knows that the file does not.
#[derive(Debug, Default, Clone)]
pub struct History {
    /// The date of each pair's last relationship review, by pair id.
    pub last_review: HashMap<String, Date>,
    /// Pairs whose current series invite was already sent, by pair id.
    pub invited: std::collections::HashSet<String>,
}

/// Review nudges and escalations are sent at this local time on their day.
pub const REVIEW_NUDGE_AT: Time = Time::constant(9, 0, 0, 0);

/// How far quiet hours may move a message: they last less than a day.
const QUIET_SHIFT: SignedDuration = SignedDuration::from_hours(24);

/// Length of the slices the window is produced in: long enough that the lead and lag
/// around each slice (a few days) cost little, short enough to stay small in memory.
const CHUNK: SignedDuration = SignedDuration::from_hours(24 * 28);

/// The actions due in `window`, in time order, produced lazily a few weeks at a time.
pub fn actions<'p>(program: &'p Program, history: &'p History, window: Window) -> Actions<'p> {
    Actions {
        chunks: chunks(program, history, window),
        buffer: Vec::new().into_iter(),
    }
}

/// The same actions as [`actions`], as consecutive time-ordered batches; a consumer may
/// take them on another thread.
pub fn chunks<'p>(program: &'p Program, history: &'p History, window: Window) -> Chunks<'p> {
    Chunks {
        program,
        history,
        window,
        next_chunk: window.from,
    }
}

/// Streaming iterator returned by [`actions`].
#[derive(Debug)]
pub struct Actions<'p> {
    chunks: Chunks<'p>,
    buffer: std::vec::IntoIter<Action>,
}

impl Iterator for Actions<'_> {
    type Item = Action;

    fn next(&mut self) -> Option<Action> {
        loop {
            if let Some(action) = self.buffer.next() {
                return Some(action);
            }
            self.buffer = self.chunks.next()?.into_iter();
        }
    }
}

/// Iterator of time-ordered batches returned by [`chunks`].
#[derive(Debug)]
pub struct Chunks<'p> {
    program: &'p Program,
    history: &'p History,
    window: Window,
    next_chunk: Timestamp,
}

impl Iterator for Chunks<'_> {
    type Item = Vec<Action>;

    fn next(&mut self) -> Option<Vec<Action>> {
        if self.next_chunk >= self.window.until {
            return None;
        }
        let from = self.next_chunk;
        let until = from
            .checked_add(CHUNK)
            .unwrap_or(Timestamp::MAX)
            .min(self.window.until);
        self.next_chunk = until;
        let chunk = Window { from, until };
        let mut out = Vec::new();
        if from == self.window.from {
            invites(self.program, self.history, chunk, &mut out);
        }
        for (index, pair) in self.program.pairs.iter().enumerate() {
            pair_actions(self.program, self.history, index as u32, pair, chunk, &mut out);
        }
        digests(self.program, chunk, &mut out);
        Some(sort_by_time(out, chunk.from))
    }
}

/// Sorts a batch into its final order: a counting sort into hourly buckets, then a
/// small sort of each bucket. A month of 50,000 pairs is half a million actions; this is
/// several times faster than sorting them all by comparison.
fn sort_by_time(actions: Vec<Action>, from: Timestamp) -> Vec<Action> {
    let bucket = |a: &Action| ((a.at.as_second() - from.as_second()).max(0) / 3600) as usize;
    let buckets = actions.iter().map(bucket).max().map_or(0, |b| b + 1);
    let mut starts = vec![0usize; buckets + 1];
    for action in &actions {
        starts[bucket(action) + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut next = starts.clone();
    let mut sorted = vec![None; actions.len()];
    for action in actions {
        let b = bucket(&action);
        sorted[next[b]] = Some(action);
        next[b] += 1;
    }
    let mut sorted: Vec<Action> = sorted.into_iter().flatten().collect();
    for window in starts.windows(2) {
        sorted[window[0]..window[1]].sort_unstable();
    }
    sorted
}

/// The instant a meeting on `date` starts.
pub fn meeting_instant(meeting: &Meeting, date: Date) -> Timestamp {
    quiet::instant(&meeting.zone.tz, date, meeting.at).unwrap_or(Timestamp::MAX)
}

/// Every meeting of a pair starting in `[from, until)`, in order, as (date, start).
pub fn meetings(
    program: &Program,
    pair: &Pair,
    from: Timestamp,
    until: Timestamp,
) -> impl Iterator<Item = (Date, Timestamp)> {
    let meeting = &pair.meeting;
    // One day of slack on each side covers every zone offset.
    let from_date = meeting
        .zone
        .tz
        .to_datetime(from)
        .date()
        .yesterday()
        .unwrap_or(pair.start);
    let until_date = meeting
        .zone
        .tz
        .to_datetime(until)
        .date()
        .tomorrow()
        .unwrap_or(Date::MAX);
    meeting
        .rule
        .dates(pair.start, from_date)
        .take_while(move |&date| date <= until_date)
        .filter(|&date| !program.is_skipped(date))
        .map(|date| (date, meeting_instant(meeting, date)))
        .take_while(|&(_, start)| meeting.until.is_none_or(|u| start <= u))
        .filter(move |&(_, start)| start >= from && start < until)
}

fn invites(program: &Program, history: &History, window: Window, out: &mut Vec<Action>) {
    for (index, pair) in program.pairs.iter().enumerate() {
        if pair.status != Status::Active || history.invited.contains(&pair.id) {
            continue;
        }
        let over = pair.meeting.until.is_some_and(|u| u < window.from);
        if !over {
            out.push(Action {
                at: window.from,
                kind: ActionKind::Invite,
                pair: Some(index as u32),
                to: Recipient::Pair,
                subject: Subject::Series,
            });
        }
    }
}

fn pair_actions(
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
    let timing = &pair.timing;
    let zero = SignedDuration::ZERO;
    let lead = timing
        .agenda_before
        .unwrap_or(zero)
        .max(timing.reminder_before.unwrap_or(zero))
        + QUIET_SHIFT;
    let lag = pair.meeting.duration + timing.followup_after.unwrap_or(zero) + QUIET_SHIFT;
    let from = window.from.checked_sub(lag).unwrap_or(Timestamp::MIN);
    let until = window.until.checked_add(lead).unwrap_or(Timestamp::MAX);
    let first = pair.meeting.first;
    let mentor_zone = &program.person(pair.mentor).zone.tz;
    let mentee_zone = &program.person(pair.mentee).zone.tz;
    let mut push = |at: Timestamp, kind, to, subject| {
        if at >= window.from && at < window.until {
            out.push(Action {
                at,
                kind,
                pair: Some(index),
                to,
                subject,
            });
        }
    };
    for (date, start) in meetings(program, pair, from, until) {
        let subject = Subject::Meeting {
            start,
            first: Some(date) == first,
        };
        push(start, ActionKind::Meeting, Recipient::Pair, subject);
        if let Some(before) = timing.agenda_before {
            let due = start.checked_sub(before).unwrap_or(start);
            let at = quiet::send_time(due, mentee_zone, timing.mentee_quiet_hours, Some(start));
            push(at, ActionKind::AgendaPrompt, Recipient::Mentee, subject);
        }
        if let Some(before) = timing.reminder_before {
            let due = start.checked_sub(before).unwrap_or(start);
            let at = quiet::send_time(due, mentor_zone, timing.mentor_quiet_hours, Some(start));
            push(at, ActionKind::MentorReminder, Recipient::Mentor, subject);
        }
        if let Some(after) = timing.followup_after {
            let due = start
                .checked_add(pair.meeting.duration + after)
                .unwrap_or(start);
            let at = quiet::send_time(due, mentee_zone, timing.mentee_quiet_hours, None);
            push(at, ActionKind::Followup, Recipient::Mentee, subject);
        }
    }
    reviews(program, history, index, pair, window, out);
}

fn reviews(
    program: &Program,
    history: &History,
    index: u32,
    pair: &Pair,
    window: Window,
    out: &mut Vec<Action>,
) {
    let Some(every) = pair.timing.review_every else {
        return;
    };
    let grace = pair.timing.review_grace;
    let anchor = history
        .last_review
        .get(&pair.id)
        .copied()
        .unwrap_or(pair.start);
    let utc = jiff::tz::TimeZone::UTC;
    // Dates are compared in UTC with two days of slack for zone offsets and quiet hours.
    let first_day = utc.to_datetime(window.from).date();
    let last_day = utc.to_datetime(window.until).date();
    let days_from_anchor = |d: Date| i64::from((d - anchor).get_days());
    let earliest = days_from_anchor(first_day) - 2 * i64::from(grace) - 2;
    let latest = days_from_anchor(last_day) + 2;
    let every = i64::from(every);
    let k_first = (earliest.div_euclid(every)).max(1);
    let k_last = latest.div_euclid(every);
    let coordinator = program.person(program.coordinator);
    for k in k_first..=k_last {
        let Ok(due) = anchor.checked_add((k * every).days()) else {
            break;
        };
        if pair.end.is_some_and(|end| due > end) {
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
                let at = quiet::send_time(due_at, zone, *quiet_hours, None);
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

fn digests(program: &Program, window: Window, out: &mut Vec<Action>) {
    let Some(cron) = &program.digest else {
        return;
    };
    let zone = &program.person(program.coordinator).zone.tz;
    let mut after = window
        .from
        .checked_sub(SignedDuration::from_secs(1))
        .unwrap_or(window.from);
    while let Some(at) = cron.next_after(after, zone) {
        if at >= window.until {
            break;
        }
        out.push(Action {
            at,
            kind: ActionKind::Digest,
            pair: None,
            to: Recipient::Coordinator,
            subject: Subject::Digest,
        });
        after = at;
    }
}
