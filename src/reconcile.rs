//! Reconciling the program file (the desired state) with the series already sent.
//!
//! Pure: given what was last sent for each pair id and the program now, it says which
//! calendar messages bring every calendar in line (README, "How time works"):
//!
//! - a new (or re-activated) pair gets its series (`REQUEST`);
//! - a change of time, cadence, duration, location, dates or attendees re-sends the
//!   series with the same UID and `SEQUENCE`+1; an attendee whose address changed also
//!   gets a `CANCEL` at the old address;
//! - a new skip date on a meeting day cancels that one meeting (`RECURRENCE-ID`);
//!   a skip date removed re-sends the series, which brings the meeting back;
//! - a pair removed, paused or ended gets a `CANCEL` of the whole series.
//!
//! `simulate --previous` and the daemon call this same function.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::ics::{Person, Series};
use crate::program::{Program, Role, Status};

/// What was last sent for one pair's series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub series: Series,
    pub sequence: u32,
    /// False once a whole-series `CANCEL` went out.
    pub active: bool,
}

/// How attendees' calendars know a series: its `UID`, and whether each copy names an
/// `ORGANIZER` address of its own. Minted (with the store's key) when a series is first
/// sent and kept for its life, so calendars never see a series fork.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: String,
    pub personal_organizer: bool,
}

impl Identity {
    pub fn of(series: &Series) -> Identity {
        Identity {
            uid: series.uid.clone(),
            personal_organizer: series.personal_organizer,
        }
    }

    /// `series` as its attendees know it.
    pub fn apply(&self, series: &mut Series) {
        series.uid.clone_from(&self.uid);
        series.personal_organizer = self.personal_organizer;
    }
}

/// One calendar message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A series new to its attendees (built with [`Series::of`] when it is sent: a
    /// program's first plan invites every pair and needs no series for that). A series
    /// invited again (a pair active again) keeps its `identity`; a new one has none yet
    /// (the composer mints it).
    Invite {
        pair: usize,
        sequence: u32,
        identity: Option<Identity>,
    },
    /// The series changed; `removed` are old attendees (mentor or mentee) whose address
    /// is gone, who get a cancel of `previous` there instead.
    Update {
        pair: usize,
        series: Series,
        sequence: u32,
        removed: Vec<(Role, Person)>,
        previous: Box<Series>,
    },
    /// One meeting dropped by a new skip date.
    CancelOccurrence {
        pair: usize,
        series: Series,
        sequence: u32,
        date: Date,
    },
    /// The whole series is over (pair removed, paused or ended).
    Cancel {
        pair_id: String,
        series: Series,
        sequence: u32,
    },
}

impl Change {
    /// The series this change sends (the current one; the old one for a whole-series
    /// cancel). `None` only for a pair that never meets, which the loader refuses.
    pub fn series<'a>(&'a self, program: &Program) -> Option<std::borrow::Cow<'a, Series>> {
        use std::borrow::Cow;
        match self {
            Change::Invite { pair, identity, .. } => Series::of(program, &program.pairs[*pair])
                .map(|mut series| {
                    if let Some(identity) = identity {
                        identity.apply(&mut series);
                    }
                    Cow::Owned(series)
                }),
            Change::Update { series, .. }
            | Change::CancelOccurrence { series, .. }
            | Change::Cancel { series, .. } => Some(Cow::Borrowed(series)),
        }
    }

    pub fn sequence(&self) -> u32 {
        match self {
            Change::Invite { sequence, .. }
            | Change::Update { sequence, .. }
            | Change::CancelOccurrence { sequence, .. }
            | Change::Cancel { sequence, .. } => *sequence,
        }
    }
}

/// The part of a series that, when it changes, re-sends the invite. Description and
/// display names are left out: editing a goal must not re-invite everyone.
fn schedule_key(series: &Series) -> impl PartialEq + '_ {
    (
        &series.zone.name,
        series.start,
        series.end,
        &series.rule,
        &series.location,
        [
            series.attendees[0].email.to_lowercase(),
            series.attendees[1].email.to_lowercase(),
        ],
        series.organizer.email.to_lowercase(),
    )
}

/// Addresses compare without case: the loader treats them so, and so do mail servers
/// in practice.
fn same_address(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// The changes that bring calendars from `sent` (by pair id) to `program` at `now`.
/// A series already over is not sent again, and a meeting already past is not cancelled.
pub fn reconcile(program: &Program, sent: &HashMap<String, Sent>, now: Timestamp) -> Vec<Change> {
    let mut changes = Vec::new();
    for (index, pair) in program.pairs.iter().enumerate() {
        let previous = sent.get(&pair.id).filter(|s| s.active);
        if pair.status != Status::Active {
            if let Some(previous) = previous {
                changes.push(Change::Cancel {
                    pair_id: pair.id.clone(),
                    series: previous.series.clone(),
                    sequence: previous.sequence + 1,
                });
            }
            continue;
        }
        let over = pair.meeting.until.is_some_and(|until| until < now);
        let Some(previous) = previous else {
            if !over && pair.meeting.first.is_some() {
                let before = sent.get(&pair.id);
                changes.push(Change::Invite {
                    pair: index,
                    sequence: before.map_or(0, |s| s.sequence + 1),
                    identity: before.map(|s| Identity::of(&s.series)),
                });
            }
            continue;
        };
        let Some(mut series) = Series::of(program, pair) else {
            continue;
        };
        // The series as its attendees know it, whatever the program would mint today.
        Identity::of(&previous.series).apply(&mut series);
        let sequence = previous.sequence;
        let exdates_removed = previous
            .series
            .exdates
            .iter()
            .any(|d| !series.exdates.contains(d));
        if schedule_key(&series) != schedule_key(&previous.series) || exdates_removed {
            let removed = previous
                .series
                .attendees
                .iter()
                .enumerate()
                .filter(|(_, old)| {
                    !series
                        .attendees
                        .iter()
                        .any(|new| same_address(&new.email, &old.email))
                })
                .map(|(i, old)| {
                    let role = if i == 0 { Role::Mentor } else { Role::Mentee };
                    (role, old.clone())
                })
                .collect();
            changes.push(Change::Update {
                pair: index,
                series,
                sequence: sequence + 1,
                removed,
                previous: Box::new(previous.series.clone()),
            });
            continue;
        }
        let future = |d: &&jiff::civil::DateTime| {
            series
                .zone
                .tz
                .to_ambiguous_timestamp(**d)
                .compatible()
                .is_ok_and(|t| t > now)
        };
        let added = series
            .exdates
            .iter()
            .filter(|d| !previous.series.exdates.contains(d))
            .filter(future);
        for (step, added) in (1..).zip(added) {
            changes.push(Change::CancelOccurrence {
                pair: index,
                series: series.clone(),
                sequence: previous.sequence + step,
                date: added.date(),
            });
        }
    }
    let current: std::collections::HashSet<&str> =
        program.pairs.iter().map(|p| p.id.as_str()).collect();
    let mut removed: Vec<(&String, &Sent)> = sent
        .iter()
        .filter(|(id, s)| s.active && !current.contains(id.as_str()))
        .collect();
    removed.sort_by(|a, b| a.0.cmp(b.0));
    for (id, previous) in removed {
        changes.push(Change::Cancel {
            pair_id: id.clone(),
            series: previous.series.clone(),
            sequence: previous.sequence + 1,
        });
    }
    changes
}

/// What a program has sent once all its series went out: each active pair's series at
/// sequence 0 (the state `simulate --previous OLD.toml` starts from).
pub fn all_sent(program: &Program) -> HashMap<String, Sent> {
    program
        .pairs
        .iter()
        .filter(|p| p.status == Status::Active)
        .filter_map(|p| {
            Series::of(program, p).map(|series| {
                (
                    p.id.clone(),
                    Sent {
                        series,
                        sequence: 0,
                        active: true,
                    },
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn example(edit: impl Fn(String) -> String) -> Program {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/mentord.toml"))
                .unwrap();
        crate::program::parse(&edit(text), Path::new(".")).unwrap()
    }

    fn at() -> Timestamp {
        "2027-01-04T08:00:00Z".parse().unwrap()
    }

    fn summary(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| match c {
                Change::Invite { pair, sequence, .. } => format!("invite {pair} {sequence}"),
                Change::Update {
                    series,
                    sequence,
                    removed,
                    ..
                } => {
                    format!("update {} {sequence} -{}", series.summary, removed.len())
                }
                Change::CancelOccurrence { date, sequence, .. } => {
                    format!("cancel {date} {sequence}")
                }
                Change::Cancel {
                    pair_id, sequence, ..
                } => format!("cancel {pair_id} {sequence}"),
            })
            .collect()
    }

    #[test]
    fn nothing_sent_means_every_active_pair_is_invited() {
        let program = example(|t| t);
        let changes = reconcile(&program, &HashMap::new(), at());
        assert_eq!(changes.len(), 5);
        assert!(
            changes
                .iter()
                .all(|c| matches!(c, Change::Invite { sequence: 0, .. }))
        );
    }

    #[test]
    fn no_change_sends_nothing() {
        let program = example(|t| t);
        assert!(reconcile(&program, &all_sent(&program), at()).is_empty());
    }

    #[test]
    fn each_kind_of_change() {
        let old = example(|t| t);
        let new = example(|t| {
            t.replace(
                "at = \"16:00\"                        # 10:00 for Grace in New York",
                "at = \"17:00\"",
            )
            .replace(
                "email = \"vint@example.org\"",
                "email = \"vint.cerf@example.org\"",
            )
            .replace(
                "skip = [2027-03-26, 2027-04-05, 2027-05-24]",
                "skip = [2027-03-26, 2027-04-05, 2027-05-24, 2027-02-11]",
            )
            .replace(
                "[[pairs]]\nmentor = \"radia\"",
                "[[pairs]]\nstatus = \"ended\"\nmentor = \"radia\"",
            )
        });
        let changes = summary(&reconcile(&new, &all_sent(&old), at()));
        assert_eq!(
            changes,
            [
                "update Mentoring: Grace Hopper & Alan Turing 1 -0",
                "cancel 2027-02-11 1",
                "cancel radia-ken 1",
                "update Mentoring: Barbara Liskov & Vint Cerf 1 -1",
            ]
        );
    }

    /// A series keeps the identity it was sent with: one sent before UIDs were keyed (a
    /// UID anyone could compute, the plain ORGANIZER) is updated, cancelled and invited
    /// again under that UID and ORGANIZER, whatever a new series would get.
    #[test]
    fn a_series_keeps_the_identity_it_was_sent_with() {
        let old = example(|t| t);
        let mut sent = all_sent(&old);
        for (i, s) in sent.values_mut().enumerate() {
            s.series.uid = format!("legacy-{i}@mentord");
            s.series.personal_organizer = i % 2 == 0;
        }
        let identities: HashMap<String, Identity> = sent
            .iter()
            .map(|(id, s)| (id.clone(), Identity::of(&s.series)))
            .collect();
        let new = example(|t| {
            t.replace(
                "at = \"16:00\"                        # 10:00 for Grace in New York",
                "at = \"17:00\"",
            )
            .replace(
                "skip = [2027-03-26, 2027-04-05, 2027-05-24]",
                "skip = [2027-03-26, 2027-04-05, 2027-05-24, 2027-02-11]",
            )
            .replace(
                "[[pairs]]\nmentor = \"radia\"",
                "[[pairs]]\nstatus = \"ended\"\nmentor = \"radia\"",
            )
        });
        let changes = reconcile(&new, &sent, at());
        assert!(changes.len() >= 3, "{changes:?}");
        for change in &changes {
            let pair = match change {
                Change::Update { pair, .. } | Change::CancelOccurrence { pair, .. } => {
                    new.pairs[*pair].id.clone()
                }
                Change::Cancel { pair_id, .. } => pair_id.clone(),
                Change::Invite { .. } => panic!("{change:?}"),
            };
            let series = change.series(&new).unwrap();
            assert_eq!(Identity::of(&series), identities[&pair], "{change:?}");
        }
        // Invited again after a pause: the same UID, not a new one.
        let mut paused = sent.clone();
        paused.values_mut().for_each(|s| s.active = false);
        for change in reconcile(&old, &paused, at()) {
            let Change::Invite { pair, identity, .. } = &change else {
                panic!("{change:?}");
            };
            assert_eq!(identity.as_ref(), Some(&identities[&old.pairs[*pair].id]));
        }
    }

    /// Regression: a case-only change of an address sent an update and then a cancel
    /// of the same series to the same mailbox, deleting it.
    #[test]
    fn address_case_is_not_a_change() {
        let old = example(|t| t);
        let new = example(|t| {
            t.replace(
                "email = \"vint@example.org\"",
                "email = \"Vint@Example.org\"",
            )
        });
        assert!(reconcile(&new, &all_sent(&old), at()).is_empty());
    }

    /// Regression: the cancel to an old address carried the new attendees.
    #[test]
    fn a_changed_address_keeps_the_old_series_for_its_cancel() {
        let old = example(|t| t);
        let new = example(|t| {
            t.replace(
                "email = \"vint@example.org\"",
                "email = \"vint.cerf@example.org\"",
            )
        });
        let changes = reconcile(&new, &all_sent(&old), at());
        let [
            Change::Update {
                removed,
                previous,
                series,
                ..
            },
        ] = &changes[..]
        else {
            panic!("{changes:?}");
        };
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].1.email, "vint@example.org");
        assert!(
            previous
                .attendees
                .iter()
                .any(|a| a.email == "vint@example.org")
        );
        assert!(
            series
                .attendees
                .iter()
                .any(|a| a.email == "vint.cerf@example.org")
        );
    }

    /// Regression: reconciling after a series had ended invited everyone again, and a
    /// new skip date in the past cancelled a meeting already held.
    #[test]
    fn the_past_is_left_alone() {
        let program = example(|t| t);
        let after_end: Timestamp = "2027-08-02T08:00:00Z".parse().unwrap();
        assert!(reconcile(&program, &HashMap::new(), after_end).is_empty());
        let new = example(|t| {
            t.replace(
                "skip = [2027-03-26, 2027-04-05, 2027-05-24]",
                "skip = [2027-03-26, 2027-04-05, 2027-05-24, 2027-01-14, 2027-03-04]",
            )
        });
        let mid_february: Timestamp = "2027-02-15T08:00:00Z".parse().unwrap();
        let changes = summary(&reconcile(&new, &all_sent(&program), mid_february));
        assert_eq!(changes, ["cancel 2027-03-04 1"]);
    }

    #[test]
    fn removed_pairs_are_cancelled() {
        let old = example(|t| t);
        let new = example(|t| {
            let start = t.find("[[pairs]]\nid = \"frances-dennis\"").unwrap();
            let end = t[start..].find("[[pairs]]\nmentor = \"edsger\"").unwrap() + start;
            format!("{}{}", &t[..start], &t[end..])
        });
        assert_eq!(
            summary(&reconcile(&new, &all_sent(&old), at())),
            ["cancel frances-dennis 1"]
        );
    }
}
