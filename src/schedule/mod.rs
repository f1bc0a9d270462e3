//! The schedule engine: a pure function of (program, history, time window) to the
//! time-ordered actions due in that window — meetings, agenda prompts,
//! mentor reminders, follow-ups, review nudges and escalations, check-ins, coordinator
//! digests.
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
//!   hours (see [`quiet`]); meetings and digests are never moved.
//! - Series invites, updates and cancels are not scheduled: they follow from comparing
//!   the file with what was sent (`reconcile`), at the moment of the comparison.
//! - Reviews fall due every `review_every` days counted from the pair's start, or from
//!   the last review held; a second nudge follows after `review_grace`, and after a
//!   second grace the coordinator gets an escalation. Nudges go out at 09:00 local.
//! - Check-ins fall every `checkin_every` days counted from the pair's start (the first
//!   one period after it), to the mentor and the mentee, at 09:00 local like nudges
//!   (see [`checkin`]).
//!
//! The window is produced in 28-day batches, each sorted, so a year of 50,000 pairs
//! streams in tens of megabytes instead of millions of buffered actions.

mod checkin;
pub mod edits;
pub mod late;
pub mod quiet;
mod review;

use checkin::checkins;
use review::reviews;
pub use review::{ReviewDateError, ReviewStanding, record_review_on, review_standing};

use std::collections::HashMap;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::cron::Cron;
use crate::program::{Pair, Program, Status};

/// What an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActionKind {
    /// A meeting taking place (shown in plans; nothing is sent).
    Meeting,
    AgendaPrompt,
    MentorReminder,
    Followup,
    ReviewNudge,
    ReviewEscalation,
    Checkin,
    Digest,
}

impl ActionKind {
    /// The message this action sends; `None` for a meeting itself.
    pub fn message(self) -> Option<crate::vocab::MessageKind> {
        use crate::vocab::MessageKind;
        Some(match self {
            ActionKind::Meeting => return None,
            ActionKind::AgendaPrompt => MessageKind::AgendaPrompt,
            ActionKind::MentorReminder => MessageKind::MentorReminder,
            ActionKind::Followup => MessageKind::Followup,
            ActionKind::ReviewNudge => MessageKind::ReviewNudge,
            ActionKind::ReviewEscalation => MessageKind::ReviewEscalation,
            ActionKind::Checkin => MessageKind::Checkin,
            ActionKind::Digest => MessageKind::Digest,
        })
    }

    pub const ALL: [ActionKind; 8] = [
        ActionKind::Meeting,
        ActionKind::AgendaPrompt,
        ActionKind::MentorReminder,
        ActionKind::Followup,
        ActionKind::ReviewNudge,
        ActionKind::ReviewEscalation,
        ActionKind::Checkin,
        ActionKind::Digest,
    ];

    /// The stable name used in `--json` output and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Meeting => "meeting",
            ActionKind::AgendaPrompt => "agenda_prompt",
            ActionKind::MentorReminder => "mentor_reminder",
            ActionKind::Followup => "followup",
            ActionKind::ReviewNudge => "review_nudge",
            ActionKind::ReviewEscalation => "review_escalation",
            ActionKind::Checkin => "checkin",
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
    /// Both people of the pair (a meeting).
    Pair,
    Mentor,
    Mentee,
    Coordinator,
}

/// What the action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// One meeting; `first` marks the pair's first meeting, which gets its own prompt.
    Meeting { start: Timestamp, first: bool },
    /// A relationship review due on `due`; `nudge` counts 1, 2 and 3 (the escalation).
    Review { due: Date, nudge: u8 },
    /// A check-in falling on `on` (a civil date, the same for both people of the pair;
    /// quiet days may send it a day or two before).
    Checkin { on: Date },
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
    /// Deliveries that failed for good, as the digest reports them ("to: error").
    pub failures: Vec<String>,
    /// When sending is paused by the SMTP circuit breaker: until when, and why.
    pub sending_paused: Option<String>,
    /// When the relay's daily budget holds mail back: how much waits, and until when.
    pub sending_held: Option<String>,
    /// The agenda each meeting's mentee sent, by (pair id, meeting start as in keys):
    /// the latest one.
    pub agendas: HashMap<(String, String), String>,
    /// Action items sent after each pair's meetings: (meeting start, text), oldest first.
    pub action_items: HashMap<String, Vec<(Timestamp, String)>>,
    /// For the digest: what the coordinator should hear of what came back, without
    /// anything the pair wrote (series declined, bouncing addresses, set-aside mail,
    /// late cancellations), one line each.
    pub declined_series: Vec<String>,
    pub bounces: Vec<String>,
    pub set_aside: Vec<String>,
    pub late_cancellations: Vec<String>,
    /// For the digest: the pairs that need the coordinator (health `watch` or `at
    /// risk`, not snoozed or handled), new ones first, then the worst.
    pub exceptions: Vec<Exception>,
}

/// A pair the digest lists, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    pub pair: String,
    /// `watch` or `at risk`.
    pub level: String,
    pub reasons: Vec<String>,
    /// Not in the digest before.
    pub new: bool,
}

impl History {
    /// The action items from the last meeting before `start` that has some, one per
    /// line, list marks taken off.
    pub fn action_items_before(&self, pair: &str, start: Timestamp) -> Vec<String> {
        let Some(text) = self
            .action_items
            .get(pair)
            .and_then(|items| items.iter().rev().find(|(at, _)| *at < start))
            .map(|(_, text)| text)
        else {
            return Vec::new();
        };
        text.lines()
            .map(|line| {
                let line = line.trim();
                let unmarked = line.trim_start_matches(['-', '*', '•']).trim_start();
                // "1." / "2)" numbering.
                let digits = unmarked.bytes().take_while(u8::is_ascii_digit).count();
                match unmarked[digits..].strip_prefix(['.', ')']) {
                    Some(rest) if digits > 0 => rest.trim_start().to_string(),
                    _ => unmarked.to_string(),
                }
            })
            .filter(|line| !line.is_empty())
            .take(30)
            .collect()
    }
}

/// Review nudges, escalations and check-ins are sent at this local time on their day.
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
        later: Vec::new(),
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
///
/// Each meeting is expanded once, in the batch whose range of meeting starts holds it:
/// batch `[from, until)` expands the meetings starting in `[from + lead, until + lead)`
/// (the first batch also those whose follow-ups still fall in the window), so every
/// message of those meetings is due at or after `from`. Messages due after the batch
/// wait in `later` for theirs.
#[derive(Debug)]
pub struct Chunks<'p> {
    program: &'p Program,
    history: &'p History,
    window: Window,
    next_chunk: Timestamp,
    later: Vec<Action>,
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
        let first_batch = from == self.window.from;
        let mut out = Vec::with_capacity(self.later.len() * 2);
        let earlier = std::mem::take(&mut self.later);
        let (due, still_later): (Vec<Action>, Vec<Action>) =
            earlier.into_iter().partition(|a| a.at < until);
        out.extend(due);
        self.later = still_later;
        let mut sink = Sink {
            window: self.window,
            batch_until: until,
            out: &mut out,
            later: &mut self.later,
        };
        for (index, pair) in self.program.pairs.iter().enumerate() {
            let lead = lead(pair);
            let starts_from = if first_batch {
                let lag = pair.meeting.duration
                    + pair.timing.followup_after.unwrap_or(SignedDuration::ZERO)
                    + QUIET_SHIFT;
                from.checked_sub(lag).unwrap_or(Timestamp::MIN)
            } else {
                from.checked_add(lead).unwrap_or(Timestamp::MAX)
            };
            let starts = Window {
                from: starts_from,
                until: until.checked_add(lead).unwrap_or(Timestamp::MAX),
            };
            pair_actions(self.program, index as u32, pair, starts, &mut sink);
        }
        let chunk = Window { from, until };
        for (index, pair) in self.program.pairs.iter().enumerate() {
            reviews(
                self.program,
                self.history,
                index as u32,
                pair,
                chunk,
                sink.out,
            );
            checkins(self.program, index as u32, pair, chunk, sink.out);
        }
        digests(self.program, chunk, sink.out);
        Some(sort_by_time(out, from))
    }
}

/// Sorts a batch by time, then pair (file order; digests last), keeping the order of
/// generation within a pair (its meetings in date order, then its reviews). That order
/// does not depend on how the window was cut into batches, and needs no comparison of
/// whole actions.
///
/// A month of 50,000 pairs is half a million actions, nearly all on whole minutes: a
/// stable counting sort into minute buckets, then a stable sort of each (almost always
/// already sorted) bucket, is several times faster than a comparison sort of the lot.
fn sort_by_time(actions: Vec<Action>, from: Timestamp) -> Vec<Action> {
    let Some(&placeholder) = actions.first() else {
        return actions;
    };
    let bucket = |a: &Action| ((a.at.as_second() - from.as_second()).max(0) / 60) as usize;
    let buckets = actions.iter().map(bucket).max().map_or(0, |b| b + 1);
    let mut starts = vec![0usize; buckets + 1];
    for action in &actions {
        starts[bucket(action) + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut next = starts.clone();
    let mut sorted = vec![placeholder; actions.len()];
    for action in actions {
        let b = bucket(&action);
        sorted[next[b]] = action;
        next[b] += 1;
    }
    for window in starts.windows(2) {
        sorted[window[0]..window[1]].sort_by_key(|a| (a.at, a.pair.unwrap_or(u32::MAX)));
    }
    sorted
}

/// The UTC date of an instant, without a time zone look-up.
pub(crate) fn utc_date(at: Timestamp) -> Date {
    jiff::tz::Offset::UTC.to_datetime(at).date()
}

/// Every meeting of a pair starting in `[from, until)`, in order, as (date, start).
pub fn meetings(
    program: &Program,
    pair: &Pair,
    from: Timestamp,
    until: Timestamp,
) -> impl Iterator<Item = (Date, Timestamp)> {
    planned_meetings(program, pair, from, until).filter(|&(date, _)| !pair.is_cancelled(date))
}

/// The meetings the series holds in `[from, until)`, the ones someone can't make
/// included (not skip dates): what a report counts as planned.
pub fn planned_meetings(
    program: &Program,
    pair: &Pair,
    from: Timestamp,
    until: Timestamp,
) -> impl Iterator<Item = (Date, Timestamp)> {
    let meeting = &pair.meeting;
    // UTC dates with a day of slack on each side cover every zone's offset.
    let from_date = utc_date(from).yesterday().unwrap_or(pair.start);
    let until_date = utc_date(until).tomorrow().unwrap_or(Date::MAX);
    meeting
        .rule
        .dates(pair.start, from_date)
        .take_while(move |&date| date <= until_date)
        .filter(|&date| !program.is_skipped(date))
        .map(|date| (date, meeting.start_on(date)))
        .take_while(|&(_, start)| meeting.until.is_none_or(|u| start <= u))
        .filter(move |&(_, start)| start >= from && start < until)
}

/// The start of `pair`'s meeting on `date` (a date in the meeting's zone), if the series
/// holds one that day: not skipped, not cancelled, inside the pair's dates.
pub fn meeting_on(program: &Program, pair: &Pair, date: Date) -> Option<Timestamp> {
    let around = pair.meeting.start_on(date);
    let day = SignedDuration::from_hours(36);
    meetings(
        program,
        pair,
        around.checked_sub(day).ok()?,
        around.checked_add(day).ok()?,
    )
    .find(|(d, _)| *d == date)
    .map(|(_, start)| start)
}

/// Where a batch's actions go: due in the batch, due in a later batch, or outside the
/// window altogether.
struct Sink<'a> {
    window: Window,
    batch_until: Timestamp,
    out: &'a mut Vec<Action>,
    later: &'a mut Vec<Action>,
}

impl Sink<'_> {
    fn push(&mut self, action: Action) {
        if action.at < self.window.from || action.at >= self.window.until {
            return;
        }
        if action.at < self.batch_until {
            self.out.push(action);
        } else {
            self.later.push(action);
        }
    }
}

/// How long before a meeting its earliest message may go out: the longest lead, plus a
/// day for quiet hours that move a message to the evening before.
fn lead(pair: &Pair) -> SignedDuration {
    let timing = &pair.timing;
    let zero = SignedDuration::ZERO;
    timing
        .agenda_before
        .unwrap_or(zero)
        .max(timing.reminder_before.unwrap_or(zero))
        + QUIET_SHIFT
}

/// The messages around the meetings of one pair that start in `starts`.
fn pair_actions(program: &Program, index: u32, pair: &Pair, starts: Window, sink: &mut Sink<'_>) {
    if pair.status != Status::Active {
        return;
    }
    let timing = &pair.timing;
    let first = pair.meeting.first;
    let mentor_zone = &program.person(pair.mentor).zone.tz;
    let mentee_zone = &program.person(pair.mentee).zone.tz;
    let mut push = |at: Timestamp, kind, to, subject| {
        sink.push(Action {
            at,
            kind,
            pair: Some(index),
            to,
            subject,
        });
    };
    for (date, start) in meetings(program, pair, starts.from, starts.until) {
        let subject = Subject::Meeting {
            start,
            first: Some(date) == first,
        };
        push(start, ActionKind::Meeting, Recipient::Pair, subject);
        if let Some(before) = timing.agenda_before {
            let due = start.checked_sub(before).unwrap_or(start);
            let at = quiet::quiet_send_time(
                due,
                mentee_zone,
                timing.quiet_days,
                timing.mentee_quiet_hours,
                Some(start),
            );
            push(at, ActionKind::AgendaPrompt, Recipient::Mentee, subject);
        }
        if let Some(before) = timing.reminder_before {
            let due = start.checked_sub(before).unwrap_or(start);
            let at = quiet::quiet_send_time(
                due,
                mentor_zone,
                timing.quiet_days,
                timing.mentor_quiet_hours,
                Some(start),
            );
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
}

/// Digests run from the program's first day to the first digest after its last meeting
/// day (the program's end, or the last day any series can meet): none before there is a
/// program to report on, and one that closes it, not months of "5 active pairs" after.
fn digest_bounds(
    program: &Program,
    cron: &Cron,
    zone: &TimeZone,
) -> (Timestamp, Option<Timestamp>) {
    let first = quiet::instant(zone, program.start, jiff::civil::Time::midnight())
        .unwrap_or(Timestamp::MIN);
    let series_last = program
        .pairs
        .iter()
        .filter(|p| p.status == Status::Active)
        .map(|p| p.meeting.last)
        .try_fold(None::<Date>, |latest, last| Some(latest.max(Some(last?))))
        .flatten();
    let end = match (program.end, series_last) {
        (Some(end), _) => Some(end),
        (None, last) => last,
    };
    let last = end
        .and_then(|end| end.tomorrow().ok())
        .and_then(|day| quiet::instant(zone, day, jiff::civil::Time::midnight()))
        .and_then(|after_end| cron.next_after(after_end, zone));
    (first, last)
}

fn digests(program: &Program, window: Window, out: &mut Vec<Action>) {
    let Some(cron) = &program.digest else {
        return;
    };
    let zone = &program.person(program.coordinator).zone.tz;
    let (first, last) = digest_bounds(program, cron, zone);
    let mut after = window
        .from
        .max(first)
        .checked_sub(SignedDuration::from_secs(1))
        .unwrap_or(window.from);
    while let Some(at) = cron.next_after(after, zone) {
        if at >= window.until || last.is_some_and(|last| at > last) {
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
