//! What an edit of the program moved into the past. The daemon turns the schedule into
//! queued messages up to a cursor; after a reload it goes on from there with the new
//! file. A message the new file puts before the cursor, where the old file had it at or
//! after it (or not at all), was never queued and never would be: a longer
//! `agenda_before`, a shorter `followup_after` or `review_every`, a meeting moved
//! earlier. README, "How time works": no edit ever loses a message the new file still calls
//! for; each goes now under the catch-up rule of [`super::late`].
//!
//! Messages are matched by what they are (kind, pair id, recipient, meeting or review),
//! not by when they go, so an edit that moves a message within the past, or leaves it
//! alone, sends nothing again. Delivery keys are built from the same parts: one the
//! store already holds is not queued twice either way.

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};

use super::{Action, ActionKind, History, Recipient, Subject, Window, actions, late, review};
use crate::program::{Pair, Program};

/// What an edit moved into the past: what goes now (timed anew), and what the
/// catch-up rule no longer sends, with why.
#[derive(Debug, Default)]
pub struct Moved {
    pub send: Vec<Action>,
    pub too_late: Vec<(Action, &'static str)>,
}

/// The messages `new` calls for before `cursor` that `old` did not have there, looked
/// for as far back as a late one could still be sent (prompts, reminders, follow-ups,
/// digests) or its review is still the one due (nudges). Those still worth sending go at
/// `now` plus `after` (quiet hours permitting). Of the nudges and escalations of one
/// pair, each person gets only the latest: one mail says all the earlier would have.
pub fn moved_by_edit(
    old: &Program,
    new: &Program,
    history: &History,
    cursor: Timestamp,
    now: Timestamp,
    after: SignedDuration,
) -> Moved {
    let base = now.min(cursor);
    let reach = late::lookback(old)
        .max(late::lookback(new))
        .max(late::FOLLOWUP_STALE_AFTER + SignedDuration::from_hours(24));
    let window = Window {
        from: base.checked_sub(reach).unwrap_or(Timestamp::MIN),
        until: cursor,
    };
    let not_reviews = |a: &Action| {
        a.kind.sends_mail()
            && !matches!(
                a.kind,
                ActionKind::ReviewNudge | ActionKind::ReviewEscalation
            )
    };
    let before: HashSet<Identity<'_>> = actions(old, history, window)
        .filter(not_reviews)
        .map(|a| identity(old, &a))
        .collect();
    let mut moved: Vec<Action> = actions(new, history, window)
        .filter(not_reviews)
        .filter(|a| !before.contains(&identity(new, a)))
        .collect();
    moved.extend(moved_nudges(old, new, history, base, cursor));

    let at = now.checked_add(after).unwrap_or(now);
    let mut out = Moved::default();
    for action in moved {
        match late::stale(&action, now) {
            Some(why) => out.too_late.push((action, why)),
            None => match late::retime(new, action, at) {
                Some(late) => out.send.push(late),
                None => out
                    .too_late
                    .push((action, "its meeting starts before it could go")),
            },
        }
    }
    out
}

/// What a message is, whenever it goes: the same in two versions of a program.
type Identity<'p> = (ActionKind, Option<&'p str>, Recipient, Subject);

fn identity<'p>(program: &'p Program, action: &Action) -> Identity<'p> {
    let pair = action.pair.map(|i| program.pairs[i as usize].id.as_str());
    // Which meeting is first may change with the file; the meeting is the same.
    let subject = match action.subject {
        Subject::Meeting { start, .. } => Subject::Meeting {
            start,
            first: false,
        },
        other => other,
    };
    (action.kind, pair, action.to, subject)
}

/// How far back a pair's nudges can still be about the review due now: a period, two
/// graces to the escalation, and a few days for weekends and zones.
fn review_reach(pair: &Pair) -> SignedDuration {
    pair.timing
        .review_every
        .map_or(SignedDuration::ZERO, |every| {
            let days = i64::from(every) + 2 * i64::from(pair.timing.review_grace) + 4;
            SignedDuration::from_hours(24 * days)
        })
}

/// The nudges and escalations `new` puts before `cursor` that `old` did not, pair by
/// pair (each over its own reach, so a yearly review costs no more than a weekly one),
/// the latest per person.
fn moved_nudges(
    old: &Program,
    new: &Program,
    history: &History,
    base: Timestamp,
    cursor: Timestamp,
) -> Vec<Action> {
    let old_pairs: HashMap<&str, usize> = old
        .pairs
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let mut out = Vec::new();
    let mut new_nudges = Vec::new();
    let mut old_nudges = Vec::new();
    for (index, pair) in new.pairs.iter().enumerate() {
        let was = old_pairs.get(pair.id.as_str()).map(|&i| (i, &old.pairs[i]));
        let reach =
            review_reach(pair).max(was.map_or(SignedDuration::ZERO, |(_, p)| review_reach(p)));
        if reach.is_zero() {
            continue;
        }
        let window = Window {
            from: base.checked_sub(reach).unwrap_or(Timestamp::MIN),
            until: cursor,
        };
        new_nudges.clear();
        old_nudges.clear();
        review::reviews(new, history, index as u32, pair, window, &mut new_nudges);
        if let Some((i, was)) = was {
            review::reviews(old, history, i as u32, was, window, &mut old_nudges);
        }
        let before: HashSet<Identity<'_>> = old_nudges.iter().map(|a| identity(old, a)).collect();
        // The latest moved nudge per person (reviews by due date, then nudge number).
        let mut latest: HashMap<Recipient, Action> = HashMap::new();
        for nudge in new_nudges
            .iter()
            .filter(|a| !before.contains(&identity(new, a)))
        {
            latest
                .entry(nudge.to)
                .and_modify(|kept| {
                    if nudge.subject > kept.subject {
                        *kept = *nudge;
                    }
                })
                .or_insert(*nudge);
        }
        let mut latest: Vec<Action> = latest.into_values().collect();
        latest.sort_by_key(|a| (a.at, a.to));
        out.extend(latest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{Timing, example};

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// The example with `edit` made to every pair's timing.
    fn edited(edit: impl Fn(&mut Timing)) -> Program {
        let mut program = example();
        program.pairs.iter_mut().for_each(|p| edit(&mut p.timing));
        program
    }

    /// What the edit from `old` to `new` moves at `now` (the cursor), sent `after` it.
    fn moved_at(old: &Program, new: &Program, now: Timestamp, after: SignedDuration) -> Moved {
        moved_by_edit(old, new, &History::default(), now, now, after)
    }

    /// What goes to grace-alan.
    fn grace_alan(program: &Program, moved: &Moved) -> Vec<Action> {
        let index = program.pairs.iter().position(|p| p.id == "grace-alan");
        (moved.send.iter())
            .filter(|a| a.pair.map(|p| p as usize) == index)
            .copied()
            .collect()
    }

    /// grace-alan meets Tue 2027-01-12 10:00 New York (15:00 UTC); its prompt (48 h) is
    /// due Sun 10 Jan 15:00 UTC. On Sat 9 Jan 12:00 UTC the prompt is a day ahead; with
    /// 96 h it was due Fri 8 Jan: it goes now, and only it.
    #[test]
    fn a_longer_lead_time_sends_the_prompt_now() {
        let old = example();
        let new = edited(|t| t.agenda_before = Some(SignedDuration::from_hours(96)));
        let now = at("2027-01-09T12:00:00Z");
        let second = SignedDuration::from_secs(1);
        let moved = moved_at(&old, &new, now, second);
        let sent: Vec<_> = grace_alan(&new, &moved)
            .iter()
            .map(|a| (a.kind, a.at))
            .collect();
        // 12:00 UTC is 13:00 for Alan in Berlin: outside his quiet hours.
        assert_eq!(sent, [(ActionKind::AgendaPrompt, now + second)]);
        assert!(
            moved
                .send
                .iter()
                .all(|a| a.kind == ActionKind::AgendaPrompt)
        );
        // The same file again moves nothing.
        let again = moved_at(&new, &new, now, second);
        assert!(
            again.send.is_empty() && again.too_late.is_empty(),
            "{again:?}"
        );
    }

    /// A late prompt still waits for the end of its recipient's quiet hours: at 03:00 in
    /// New York a reminder moved into the past goes to Grace at 07:00.
    #[test]
    fn quiet_hours_still_hold_a_moved_reminder() {
        let old = example();
        let new = edited(|t| t.reminder_before = Some(SignedDuration::from_hours(48)));
        let moved = moved_at(&old, &new, at("2027-01-11T08:00:00Z"), SignedDuration::ZERO);
        let reminder: Vec<_> = grace_alan(&new, &moved)
            .iter()
            .map(|a| (a.kind, a.at))
            .collect();
        assert_eq!(
            reminder,
            [(ActionKind::MentorReminder, at("2027-01-11T12:00:00Z"))]
        );
    }

    /// A shorter `followup_after` right after a meeting sends its follow-up now; one
    /// moved more than two days into the past is too late, and said so.
    #[test]
    fn a_shorter_followup_goes_now_unless_stale() {
        let old = edited(|t| t.followup_after = Some(SignedDuration::from_hours(96)));
        let new = example();
        // grace-alan met Tue 12 Jan 15:00-15:45 UTC: its follow-up was due Sat 16 Jan,
        // now 2 h after the meeting, 17:45.
        let followups = |moved: &Moved| -> Vec<Timestamp> {
            (grace_alan(&new, moved).iter())
                .filter(|a| a.kind == ActionKind::Followup)
                .map(|a| a.at)
                .collect()
        };
        let now = at("2027-01-12T19:00:00Z");
        assert_eq!(
            followups(&moved_at(&old, &new, now, SignedDuration::ZERO)),
            [now]
        );
        // Edited on Thursday 14 Jan instead, it is more than two days late.
        let later = at("2027-01-14T19:00:00Z");
        let moved = moved_at(&old, &new, later, SignedDuration::ZERO);
        assert_eq!(followups(&moved), []);
        let held = at("2027-01-12T15:00:00Z");
        assert!(
            moved
                .too_late
                .iter()
                .any(|(a, why)| a.kind == ActionKind::Followup
                    && matches!(a.subject, Subject::Meeting { start, .. } if start == held)
                    && why.contains("two days")),
            "{moved:?}"
        );
    }

    /// `review_every` from 90 to 30 days on day 80: the reviews due on days 30 and 60
    /// were never nudged. Each person gets the latest nudge only (the second of the
    /// review due on day 60), the coordinator the escalation of the one due on day 30.
    #[test]
    fn a_shorter_review_period_sends_the_latest_nudge_per_person() {
        let old = example();
        let new = edited(|t| t.review_every = Some(30));
        // grace-alan starts 2027-01-12: day 80 is 2 April.
        let moved = moved_at(&old, &new, at("2027-04-02T12:00:00Z"), SignedDuration::ZERO);
        let mut nudges: Vec<_> = grace_alan(&new, &moved)
            .iter()
            .map(|a| (a.to, a.kind, a.subject))
            .collect();
        nudges.sort();
        let review = |due: &str, nudge| Subject::Review {
            due: due.parse().unwrap(),
            nudge,
        };
        assert_eq!(
            nudges,
            [
                (
                    Recipient::Mentor,
                    ActionKind::ReviewNudge,
                    review("2027-03-13", 2)
                ),
                (
                    Recipient::Mentee,
                    ActionKind::ReviewNudge,
                    review("2027-03-13", 2)
                ),
                (
                    Recipient::Coordinator,
                    ActionKind::ReviewEscalation,
                    review("2027-02-11", 3)
                ),
            ]
        );
    }
}
