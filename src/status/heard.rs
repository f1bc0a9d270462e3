//! The parts of the status that say what needs a person beyond the pairs' numbers:
//! mail that cannot go now (since when, why), kept mail waiting for the coordinator,
//! who unsubscribed from what, and meetings cancelled. Outside text made inert here.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::inert::shown;
use crate::program::{Pair, Program};
use crate::store::{Cancellation, KeptMail, Retrying};
use crate::vocab::MessageKind;

/// How many cancelled meetings a pair's line lists (the newest).
const CANCELLED_SHOWN: usize = 10;

/// Mail that cannot go now (the mail server down, a relay refusing for a while).
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryLine {
    /// Messages waiting to be tried again.
    pub waiting: u64,
    /// Since when mail has not gone: the oldest of them was due then.
    pub since: String,
    /// The last send error.
    pub error: String,
}

/// A kept mail from outside the pairs, waiting for the coordinator.
#[derive(Debug, Clone, Serialize)]
pub struct KeptLine {
    pub id: i64,
    pub received_at: String,
    pub sender: String,
    pub subject: String,
}

pub(super) fn delivery(
    retrying: Option<&Retrying>,
    local: impl Fn(Timestamp) -> String,
) -> Option<DeliveryLine> {
    retrying.map(|r| DeliveryLine {
        waiting: r.waiting,
        since: local(r.since),
        error: shown(&r.error),
    })
}

pub(super) fn kept(mail: &KeptMail, local: impl Fn(Timestamp) -> String) -> KeptLine {
    KeptLine {
        id: mail.id,
        received_at: local(mail.received_at),
        sender: shown(&mail.sender),
        subject: shown(&mail.subject),
    }
}

/// Who stopped which kinds of mail, by person id: "Alan Turing: agenda prompts, follow-ups".
pub(super) fn unsubscribed_by_person(
    unsubscribes: &[(String, MessageKind)],
) -> HashMap<&str, Vec<MessageKind>> {
    let mut by_person: HashMap<&str, Vec<MessageKind>> = HashMap::new();
    for (person, kind) in unsubscribes {
        by_person.entry(person.as_str()).or_default().push(*kind);
    }
    by_person
}

/// The pair's people who stopped some kinds of mail, in words.
pub(super) fn unsubscribed(
    program: &Program,
    pair: &Pair,
    by_person: &HashMap<&str, Vec<MessageKind>>,
) -> Vec<String> {
    [pair.mentor, pair.mentee]
        .into_iter()
        .filter_map(|index| {
            let person = program.person(index);
            let kinds = by_person.get(person.id.as_str())?;
            let kinds: Vec<String> = kinds.iter().map(|k| format!("{}s", k.label())).collect();
            Some(format!("{}: {}", shown(&person.name), kinds.join(", ")))
        })
        .collect()
}

/// Cancellations by pair, newest meeting first.
pub(super) fn cancellations_by_pair(
    cancellations: &[Cancellation],
) -> HashMap<&str, Vec<&Cancellation>> {
    let mut by_pair: HashMap<&str, Vec<&Cancellation>> = HashMap::new();
    for c in cancellations {
        by_pair.entry(c.pair.as_str()).or_default().push(c);
    }
    for list in by_pair.values_mut() {
        list.sort_by_key(|c| std::cmp::Reverse(c.date));
    }
    by_pair
}

/// A pair's cancelled meetings in words: "2027-01-26, Alan Turing can't make it (late)".
pub(super) fn cancelled(program: &Program, list: &[&Cancellation]) -> Vec<String> {
    list.iter()
        .take(CANCELLED_SHOWN)
        .map(|c| {
            let who = program
                .person_by_id(&c.person)
                .map_or_else(|| shown(&c.person), |i| shown(&program.person(i).name));
            let late = if c.late { " (late)" } else { "" };
            format!("{}, {who} can't make it{late}", c.date)
        })
        .collect()
}
