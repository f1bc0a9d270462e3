//! Pair health (SPEC §7): `good`, `watch` or `at risk`, always with its reasons in
//! words, from what mentord sees of a pair (never from what they wrote). The rules, as
//! the README tells them to the coordinator:
//!
//! Each signal of the last 12 weeks weighs 1 to 3; a pair weighing 3 or more is *at
//! risk*, 2 is *watch*, less is *good*.
//! - Meetings cancelled or declined: one each, a late one (inside `cancel_notice`) two;
//!   a total of 2 weighs 2, of 3 or more weighs 3. One cancelled meeting is life.
//! - A check-in answered 1 or 2: 3. A person's score falling by 2 or more since their
//!   last check-in: 2.
//! - Mail to one of them bouncing: 3.
//! - The relationship review escalated (two graces past its due date, not held): 2.
//! - The mentee stopped the agenda prompts or the mentor the reminders: 2; another
//!   optional mail stopped: 1.
//! - Where mentord hears replies (`reply_to`, `authserv_id` or action links) and the
//!   pair has answered before or most pairs answer: no agenda for two thirds of at least
//!   three meetings held: 2; no action items after two thirds of them: 1; nothing at
//!   all from either of them for 60 days (once the pair is 60 days old): 2.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};

use super::{Evidence, HEALTH_WINDOW, Meeting, PairEvidence};
use crate::program::{Pair, Program, Status};
use crate::schedule::{ReviewStanding, review_standing};
use crate::vocab::MessageKind;

/// How long without a word from a pair is silence.
pub const SILENCE: SignedDuration = SignedDuration::from_hours(60 * 24);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Good,
    Watch,
    AtRisk,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Good => "good",
            Level::Watch => "watch",
            Level::AtRisk => "at risk",
        }
    }
}

/// A pair's health and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub level: Level,
    /// The reasons, heaviest first; empty for a good pair with nothing to say.
    pub reasons: Vec<String>,
}

/// Whether mentord can hear this program's people, and whether most pairs answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hearing {
    can_hear: bool,
    most_answer: bool,
}

impl Hearing {
    pub(crate) fn of(
        program: &Program,
        evidences: &HashMap<&str, PairEvidence<'_>>,
        now: Timestamp,
    ) -> Hearing {
        let can_hear = program.reply_to.is_some()
            || program.authserv_id.is_some()
            || program
                .http
                .as_ref()
                .is_some_and(|h| h.public_url.is_some());
        let recent = now.checked_sub(HEALTH_WINDOW).unwrap_or(now);
        let active = program
            .pairs
            .iter()
            .filter(|p| p.status == Status::Active)
            .count();
        let answering = program
            .pairs
            .iter()
            .filter(|p| p.status == Status::Active)
            .filter(|p| {
                evidences
                    .get(p.id.as_str())
                    .and_then(|e| e.last_heard)
                    .is_some_and(|at| at >= recent)
            })
            .count();
        Hearing {
            can_hear,
            most_answer: active > 0 && answering * 2 > active,
        }
    }
}

/// `pair`'s health at `now`, from its meetings of the health window (`recent`, in
/// order, as [`super::meetings`] gives them).
pub(crate) fn assess(
    program: &Program,
    pair: &Pair,
    recent: &[Meeting],
    ev: &PairEvidence<'_>,
    evidence: &Evidence,
    hearing: &Hearing,
    now: Timestamp,
) -> Health {
    if pair.status != Status::Active {
        return Health {
            level: Level::Good,
            reasons: vec![format!("{}", pair.status.as_str())],
        };
    }
    let mut signals: Vec<(u8, String)> = Vec::new();
    let past: Vec<_> = recent.iter().filter(|m| m.start < now).collect();
    let mentor = program.person(pair.mentor);
    let mentee = program.person(pair.mentee);
    let first = |p: &crate::program::Person| p.name.split(' ').next().unwrap_or("").to_string();

    // Cancelled or declined meetings.
    let cancelled = past.iter().filter(|m| m.cancelled).count();
    let late = past.iter().filter(|m| m.cancelled && m.late).count();
    let weight = cancelled + late;
    if weight >= 2 {
        let late_words = match late {
            0 => String::new(),
            1 => ", 1 of them late".to_string(),
            n => format!(", {n} of them late"),
        };
        signals.push((
            if weight >= 3 { 3 } else { 2 },
            format!(
                "{cancelled} of the last {} meetings cancelled or declined{late_words}",
                past.len()
            ),
        ));
    }

    // Check-ins: a low score, or a fall.
    for person in [mentor, mentee] {
        let Some(latest) = ev.troubled.iter().find(|t| t.person == person.id) else {
            continue;
        };
        let (score, day) = (latest.score, program.zone.tz.to_datetime(latest.at).date());
        if score <= 2 {
            signals.push((
                3,
                format!(
                    "{} answered {score} of 5 to the check-in on {day}",
                    first(person)
                ),
            ));
        } else if let Some(before) = latest.before
            && before >= score + 2
        {
            signals.push((
                2,
                format!(
                    "{}'s check-in fell from {before} to {score} on {day}",
                    first(person)
                ),
            ));
        }
    }

    // Bounces.
    for person in [mentor, mentee] {
        if let Some(b) = evidence
            .bounces
            .iter()
            .find(|b| b.address.eq_ignore_ascii_case(&person.email))
        {
            signals.push((
                3,
                format!(
                    "mail to {} bounces ({})",
                    first(person),
                    crate::inert::visible(&b.status)
                ),
            ));
        }
    }

    // The review, escalated.
    let today = pair.meeting.zone.tz.to_datetime(now).date();
    let last_review = ev.reviews.last().copied();
    if let Some(ReviewStanding::Overdue(due)) = review_standing(pair, last_review, today) {
        signals.push((
            2,
            format!("relationship review due {due}, not held after two reminders"),
        ));
    }

    // Mail stopped.
    for (person, kind) in &evidence.unsubscribes {
        let who = if *person == mentee.id {
            mentee
        } else if *person == mentor.id {
            mentor
        } else {
            continue;
        };
        let weight = match (who.id == mentee.id, kind) {
            (true, MessageKind::AgendaPrompt) | (false, MessageKind::MentorReminder) => 2,
            _ if kind.is_optional() && *kind != MessageKind::Digest => 1,
            _ => continue,
        };
        signals.push((
            weight,
            format!("{} stopped the {}s", first(who), kind.label()),
        ));
    }

    // What mentord would hear, where it hears.
    let heard_before = ev.last_heard.is_some();
    if hearing.can_hear && (heard_before || hearing.most_answer) {
        let held: Vec<_> = past.iter().filter(|m| !m.cancelled).collect();
        if held.len() >= 3 {
            let answered = |n: u32| (n as usize).min(held.len());
            let no_agenda = held.len() - answered(ev.replied_recently.agendas);
            if pair.timing.agenda_before.is_some() && no_agenda * 3 >= held.len() * 2 {
                signals.push((
                    2,
                    format!(
                        "no agenda for {no_agenda} of the last {} meetings",
                        held.len()
                    ),
                ));
            }
            let no_items = held.len() - answered(ev.replied_recently.action_items);
            if pair.timing.followup_after.is_some() && no_items * 3 >= held.len() * 2 {
                signals.push((
                    1,
                    format!(
                        "no action items after {no_items} of the last {} meetings",
                        held.len()
                    ),
                ));
            }
        }
        let started = program.zone.tz.to_datetime(now).date() >= pair.start
            && now
                .checked_sub(SILENCE)
                .is_ok_and(|t| pair.meeting.zone.tz.to_datetime(t).date() >= pair.start);
        let last_heard = ev.last_heard;
        let silent = last_heard.is_none_or(|at| now.duration_since(at) >= SILENCE);
        if started && silent {
            signals.push((
                2,
                match last_heard {
                    Some(at) => format!(
                        "nothing heard from either of them since {}",
                        program.zone.tz.to_datetime(at).date()
                    ),
                    None => "nothing heard from either of them in 60 days".to_string(),
                },
            ));
        }
    }

    signals.sort_by_key(|s| std::cmp::Reverse(s.0));
    let weight: u32 = signals.iter().map(|(w, _)| u32::from(*w)).sum();
    let level = match weight {
        0..=1 => Level::Good,
        2 => Level::Watch,
        _ => Level::AtRisk,
    };
    Health {
        level,
        reasons: signals.into_iter().map(|(_, why)| why).collect(),
    }
}
