//! Messages whose time passed before mentord could queue them, and the catch-up rule
//! (README, "How time works") that decides what becomes of them. Prompts and reminders come late when
//! mentord learns of their meeting inside its lead time: a program started on Monday
//! for Tuesday meetings, a pair added or resumed two days out, a meeting moved into
//! its own lead window. Anything may come late after downtime, or after an edit moved
//! it into the past ([`super::edits`]). One whose meeting is still ahead goes out at
//! once (quiet hours still apply); one whose meeting has started is not sent; a
//! follow-up more than two days late, a check-in more than a week late and a digest more
//! than a day late are dropped; review nudges always go, the review is still due.

use jiff::{SignedDuration, Timestamp};

use super::{Action, ActionKind, History, Recipient, Subject, Window, actions, quiet};
use crate::program::Program;

/// How far back a prompt or reminder for a meeting still ahead can fall: the longest
/// lead time, plus a day for quiet hours that moved it to the evening before.
pub fn lookback(program: &Program) -> SignedDuration {
    let lead = program
        .pairs
        .iter()
        .flat_map(|p| [p.timing.agenda_before, p.timing.reminder_before])
        .flatten()
        .max()
        .unwrap_or(SignedDuration::ZERO);
    lead + SignedDuration::from_hours(24)
}

/// The prompts and reminders of `pairs` (indices into the program's pairs; `None` for
/// all) that fell in `window`, before `now`, for meetings that start after `now`, timed
/// anew: at `now` plus `after`, or when the recipient's quiet hours end (or began, if
/// they end after the meeting starts).
pub fn late_prompts(
    program: &Program,
    history: &History,
    pairs: Option<&[u32]>,
    window: Window,
    now: Timestamp,
    after: SignedDuration,
) -> Vec<Action> {
    let wanted = |pair: Option<u32>| match (pairs, pair) {
        (None, _) => true,
        (Some(list), Some(index)) => list.binary_search(&index).is_ok(),
        (Some(_), None) => false,
    };
    let at = now.checked_add(after).unwrap_or(now);
    actions(program, history, window)
        .filter(|a| {
            matches!(
                a.kind,
                ActionKind::AgendaPrompt | ActionKind::MentorReminder
            )
        })
        .filter(|a| a.at < now && wanted(a.pair))
        .filter_map(|a| retime(program, a, at))
        .collect()
}

/// How late a follow-up may still go out: two days after its time it asks about a
/// meeting nobody remembers well.
pub const FOLLOWUP_STALE_AFTER: SignedDuration = SignedDuration::from_hours(48);

/// How late a check-in may still go out: a week after, "how is it going" asks about a
/// time that has passed, and the next one comes.
pub const CHECKIN_STALE_AFTER: SignedDuration = SignedDuration::from_hours(24 * 7);

/// How late a digest may still go out: a day after its time the next one is near.
pub const DIGEST_STALE_AFTER: SignedDuration = SignedDuration::from_hours(24);

/// Why a message due before `now` is no longer worth sending, if it is not: a prompt
/// or reminder whose meeting has started, a follow-up or digest long past its time.
/// (After five months down the catch-up sent 62 stale follow-ups and 25 digests at
/// once.) Review nudges and escalations always go: the review is still due.
pub fn stale(action: &Action, now: Timestamp) -> Option<&'static str> {
    let overdue = |by: SignedDuration| action.at.checked_add(by).is_ok_and(|t| t < now);
    match (action.kind, action.subject) {
        (ActionKind::AgendaPrompt | ActionKind::MentorReminder, Subject::Meeting { start, .. })
            if start <= now =>
        {
            Some("its meeting had started when mentord caught up")
        }
        (ActionKind::Followup, _) if overdue(FOLLOWUP_STALE_AFTER) => {
            Some("a follow-up more than two days late")
        }
        (ActionKind::Digest, _) if overdue(DIGEST_STALE_AFTER) => {
            Some("a digest more than a day late")
        }
        (ActionKind::Checkin, _) if overdue(CHECKIN_STALE_AFTER) => {
            Some("a check-in more than a week late")
        }
        _ => None,
    }
}

/// A late `action` timed anew to go at `at`, or when its recipient's quiet hours end
/// (for a prompt or reminder: when they began, if they end after its meeting starts);
/// digests are never held. `None` for a prompt or reminder whose meeting starts by `at`.
pub fn retime(program: &Program, action: Action, at: Timestamp) -> Option<Action> {
    let deadline = match action.subject {
        Subject::Meeting { start, .. } => {
            if matches!(
                action.kind,
                ActionKind::AgendaPrompt | ActionKind::MentorReminder
            ) && start <= at
            {
                return None;
            }
            (action.kind != ActionKind::Followup).then_some(start)
        }
        _ => None,
    };
    let pair = action.pair.map(|i| &program.pairs[i as usize]);
    let (person, quiet_hours) = match (action.to, pair) {
        (Recipient::Mentee, Some(pair)) => (pair.mentee, pair.timing.mentee_quiet_hours),
        (Recipient::Mentor, Some(pair)) => (pair.mentor, pair.timing.mentor_quiet_hours),
        (Recipient::Coordinator, _) if action.kind != ActionKind::Digest => {
            (program.coordinator, program.coordinator_quiet_hours)
        }
        _ => return Some(Action { at, ..action }),
    };
    let zone = &program.person(person).zone.tz;
    let at = quiet::send_time(at, zone, quiet_hours, deadline).max(at);
    Some(Action { at, ..action })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::example;

    /// grace-alan's first meeting is Tue 2027-01-12 10:00 New York (16:00 Berlin); its
    /// prompt was due Sun 10 Jan, its reminder Mon 11 Jan.
    #[test]
    fn a_start_inside_the_lead_window_gets_its_prompt_and_reminder_now() {
        let program = example();
        let grace_alan = program
            .pairs
            .iter()
            .position(|p| p.id == "grace-alan")
            .unwrap() as u32;
        let now: Timestamp = "2027-01-11T18:00:00Z".parse().unwrap();
        let window = Window {
            from: now - lookback(&program),
            until: now,
        };
        let late = late_prompts(
            &program,
            &History::default(),
            Some(&[grace_alan]),
            window,
            now,
            SignedDuration::from_secs(1),
        );
        let kinds: Vec<_> = late.iter().map(|a| (a.kind, a.at)).collect();
        // 18:00 UTC is 13:00 in New York: no quiet hours for either.
        let at = now + SignedDuration::from_secs(1);
        assert_eq!(
            kinds,
            [
                (ActionKind::AgendaPrompt, at),
                (ActionKind::MentorReminder, at)
            ]
        );
        // Once the meeting has started there is nothing left to prepare.
        let after_start: Timestamp = "2027-01-12T15:30:00Z".parse().unwrap();
        let late = late_prompts(
            &program,
            &History::default(),
            None,
            Window {
                from: after_start - lookback(&program),
                until: after_start,
            },
            after_start,
            SignedDuration::ZERO,
        );
        assert!(late.iter().all(|a| a.pair != Some(grace_alan)), "{late:?}");
    }

    #[test]
    fn quiet_hours_still_hold_a_late_prompt() {
        let program = example();
        // 03:00 in New York: Alan (mentee, Berlin: 09:00) gets his prompt at once, Grace
        // (mentor, New York) her reminder when her quiet hours end at 07:00.
        let now: Timestamp = "2027-01-12T08:00:00Z".parse().unwrap();
        let late = late_prompts(
            &program,
            &History::default(),
            None,
            Window {
                from: now - lookback(&program),
                until: now,
            },
            now,
            SignedDuration::ZERO,
        );
        let grace_alan: Vec<_> = late
            .iter()
            .filter(|a| program.pairs[a.pair.unwrap() as usize].id == "grace-alan")
            .map(|a| (a.kind, a.at.to_string()))
            .collect();
        assert_eq!(
            grace_alan,
            [
                (ActionKind::AgendaPrompt, "2027-01-12T08:00:00Z".to_string()),
                (
                    ActionKind::MentorReminder,
                    "2027-01-12T12:00:00Z".to_string()
                )
            ]
        );
    }
}
