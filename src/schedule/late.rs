//! Prompts and reminders whose send time passed before mentord knew of their meeting:
//! a program started on Monday for Tuesday meetings, a pair added or resumed two days
//! out, a meeting moved into its own lead window. SPEC §4's catch-up rule applies: one
//! whose meeting is still ahead goes out at once (quiet hours still apply); one whose
//! meeting has started is not sent.

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
        .filter_map(|a| {
            let Subject::Meeting { start, .. } = a.subject else {
                return None;
            };
            if start <= at {
                return None;
            }
            let pair = &program.pairs[a.pair? as usize];
            let (person, quiet_hours) = match a.to {
                Recipient::Mentee => (pair.mentee, pair.timing.mentee_quiet_hours),
                _ => (pair.mentor, pair.timing.mentor_quiet_hours),
            };
            let zone = &program.person(person).zone.tz;
            let at = quiet::send_time(at, zone, quiet_hours, Some(start)).max(at);
            Some(Action { at, ..a })
        })
        .collect()
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
