//! The calendar changes a plan opens with, one row per message (kind, pair, recipients,
//! METHOD, SEQUENCE): what the table ([`super::plan`]) and the JSON
//! ([`super::plan_json`]) both print, so it stands below both.

use crate::ics::Series;
use crate::program::Program;
use crate::reconcile::Change;
use crate::recurrence::{Freq, Rule, Until};
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
    /// What an update changes, in words: "10:00 → 11:00", "every 2 weeks → every week".
    pub(super) what: Vec<String>,
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
            what: Vec::new(),
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
                previous,
            } => {
                let id = &program.pairs[*pair].id;
                let mut update = row(
                    MessageKind::InviteUpdate,
                    id,
                    both(series),
                    "REQUEST",
                    *sequence,
                    None,
                );
                update.what = what_changed(previous, series);
                rows.push(update);
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

/// What changed between two versions of a series, in words, the old before the new.
fn what_changed(old: &Series, new: &Series) -> Vec<String> {
    let mut out = Vec::new();
    let mut differs = |what: &str, a: String, b: String| {
        if a != b {
            out.push(if what.is_empty() {
                format!("{a} → {b}")
            } else {
                format!("{what} {a} → {b}")
            });
        }
    };
    differs("", every(&old.rule), every(&new.rule));
    differs(
        "",
        weekday(old.start.weekday()).to_string(),
        weekday(new.start.weekday()).to_string(),
    );
    differs(
        "",
        old.start.strftime("%H:%M").to_string(),
        new.start.strftime("%H:%M").to_string(),
    );
    differs("", length(old.start, old.end), length(new.start, new.end));
    differs("", old.zone.name.to_string(), new.zone.name.to_string());
    differs(
        "location",
        old.location.clone().unwrap_or_else(|| "none".into()),
        new.location.clone().unwrap_or_else(|| "none".into()),
    );
    differs(
        "first",
        old.start.date().to_string(),
        new.start.date().to_string(),
    );
    let until = |s: &Series| match s.rule.until {
        Some(Until::Date(d)) => d.to_string(),
        Some(Until::Instant(t)) => t.to_zoned_datetime(s.zone.tz.clone()).date().to_string(),
        None => "open".into(),
    };
    differs("until", until(old), until(new));
    if out.is_empty() && old.exdates != new.exdates {
        out.push("skip dates".into());
    }
    if out.is_empty() {
        out.push("attendees or organizer".into());
    }
    out
}

/// "every week", "every 2 weeks", "every month".
fn every(rule: &Rule) -> String {
    let unit = match rule.freq {
        Freq::Daily => "day",
        Freq::Weekly => "week",
        Freq::Monthly => "month",
        Freq::Yearly => "year",
    };
    match rule.interval {
        1 => format!("every {unit}"),
        n => format!("every {n} {unit}s"),
    }
}

/// "45 min", "1 h", "1 h 30 min".
fn length(start: jiff::civil::DateTime, end: jiff::civil::DateTime) -> String {
    let minutes = start.duration_until(end).as_mins();
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

fn weekday(day: jiff::civil::Weekday) -> &'static str {
    use jiff::civil::Weekday::*;
    match day {
        Monday => "Monday",
        Tuesday => "Tuesday",
        Wednesday => "Wednesday",
        Thursday => "Thursday",
        Friday => "Friday",
        Saturday => "Saturday",
        Sunday => "Sunday",
    }
}
