//! The calendar changes a plan opens with, one row per message (kind, pair, recipients,
//! METHOD, SEQUENCE): what the table ([`super::plan`]) and the JSON
//! ([`super::plan_json`]) both print, so it stands below both.

use crate::program::Program;
use crate::reconcile::Change;
use crate::vocab::MessageKind;

/// A calendar change the plan opens with.
#[derive(Debug, Clone)]
pub(super) struct ChangeRow {
    /// `invite`, `invite_update`, `invite_cancel` or `occurrence_cancel`.
    pub(super) kind: MessageKind,
    pub(super) pair: String,
    /// Person ids (an address that is no one's any more is shown as the address).
    pub(super) to: Vec<String>,
    pub(super) method: &'static str,
    pub(super) sequence: u32,
    /// The cancelled meeting's date, for `occurrence_cancel`.
    pub(super) date: Option<jiff::civil::Date>,
}

/// The rows of `changes`, recipients named by person id where the address is someone's.
pub(super) fn change_rows(program: &Program, changes: &[Change]) -> Vec<ChangeRow> {
    // Only changes to sent series name addresses; a program's first plan has none.
    let ids: std::collections::HashMap<String, &str> =
        if changes.iter().all(|c| matches!(c, Change::Invite { .. })) {
            std::collections::HashMap::new()
        } else {
            program
                .people
                .iter()
                .map(|p| (p.email.to_lowercase(), p.id.as_str()))
                .collect()
        };
    let who = |email: &str| {
        ids.get(&email.to_lowercase())
            .map_or_else(|| email.to_string(), |id| id.to_string())
    };
    let both = |series: &crate::ics::Series| {
        series
            .attendees
            .iter()
            .map(|a| who(&a.email))
            .collect::<Vec<_>>()
    };
    let mut rows = Vec::new();
    for change in changes {
        let row = |kind, pair: &str, to, method, sequence, date| ChangeRow {
            kind,
            pair: pair.to_string(),
            to,
            method,
            sequence,
            date,
        };
        match change {
            Change::Invite { pair, sequence, .. } => {
                let pair = &program.pairs[*pair];
                let ids = [pair.mentor, pair.mentee].map(|p| program.person(p).id.clone());
                rows.push(row(
                    MessageKind::Invite,
                    &pair.id,
                    ids.to_vec(),
                    "REQUEST",
                    *sequence,
                    None,
                ));
            }
            Change::Update {
                pair,
                series,
                sequence,
                removed,
                ..
            } => {
                let id = &program.pairs[*pair].id;
                rows.push(row(
                    MessageKind::InviteUpdate,
                    id,
                    both(series),
                    "REQUEST",
                    *sequence,
                    None,
                ));
                for (_, person) in removed {
                    rows.push(row(
                        MessageKind::InviteCancel,
                        id,
                        vec![who(&person.email)],
                        "CANCEL",
                        *sequence,
                        None,
                    ));
                }
            }
            Change::CancelOccurrence {
                pair,
                series,
                sequence,
                date,
            } => {
                let id = &program.pairs[*pair].id;
                rows.push(row(
                    MessageKind::OccurrenceCancel,
                    id,
                    both(series),
                    "CANCEL",
                    *sequence,
                    Some(*date),
                ));
            }
            Change::Cancel {
                pair_id,
                series,
                sequence,
            } => {
                rows.push(row(
                    MessageKind::InviteCancel,
                    pair_id,
                    both(series),
                    "CANCEL",
                    *sequence,
                    None,
                ));
            }
        }
    }
    rows
}
