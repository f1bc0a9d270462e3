//! Snapshots of one rendered mail of each kind (subject, text and HTML) and of one
//! invite, from the example program. `cargo insta review` shows a readable diff when a
//! template changes.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::Path;

use jiff::Timestamp;
use mentord::compose::{Composed, Composer};
use mentord::ics::{self, Method, Series};
use mentord::program::{self, Program};
use mentord::reconcile::{self, Change};
use mentord::render::Templates;
use mentord::schedule::{self, ActionKind, History, Window};

fn example() -> Program {
    program::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/mentord.toml"
    )))
    .unwrap()
}

fn show(composed: &Composed) -> String {
    let m = &composed.message;
    format!(
        "To: {} <{}>\nSubject: {}\n\n--- text ---\n{}\n--- html ---\n{}",
        m.to.name, m.to.email, m.body.subject, m.body.text, m.body.html
    )
}

/// The first message of each kind in the example's first quarter.
#[test]
fn one_mail_of_each_kind() {
    let program = example();
    let templates = Templates::load(None).unwrap();
    let composer = Composer::new(&program, &templates);
    let from: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();
    let until: Timestamp = "2027-07-01T00:00:00Z".parse().unwrap();
    let history = History::default();
    let mut seen = Vec::new();
    let changes = reconcile::reconcile(&program, &Default::default(), from);
    let invite = composer.change(&changes[0], from).unwrap();
    insta::assert_snapshot!("invite_to_mentor", show(&invite[0]));
    insta::assert_snapshot!("invite_to_mentee", show(&invite[1]));
    for action in schedule::actions(&program, &history, Window { from, until }) {
        if action.kind == ActionKind::Meeting
            || seen.contains(&(action.kind, action.subject_nudge()))
        {
            continue;
        }
        seen.push((action.kind, action.subject_nudge()));
        for composed in composer.action(&action, &history).unwrap() {
            let name = match action.subject_nudge() {
                Some(n) => format!("{}_{n}", composed.kind),
                None => composed.kind.to_string(),
            };
            insta::assert_snapshot!(name, show(&composed));
        }
    }
    assert_eq!(seen.len(), 8, "{seen:?}");
}

trait Nudge {
    fn subject_nudge(&self) -> Option<u8>;
}

impl Nudge for mentord::schedule::Action {
    fn subject_nudge(&self) -> Option<u8> {
        match self.subject {
            mentord::schedule::Subject::Review { nudge, .. } => Some(nudge),
            _ => None,
        }
    }
}

#[test]
fn changes_and_cancellations() {
    let old = example();
    let text = common::example_with(&[
        common::SKIP_11_FEBRUARY,
        common::END_RADIA_KEN,
        common::LATER_BARBARA_VINT,
    ]);
    let new = program::parse(&text, Path::new(".")).unwrap();
    let templates = Templates::load(None).unwrap();
    let composer = Composer::new(&new, &templates);
    let at: Timestamp = "2027-02-01T09:00:00Z".parse().unwrap();
    let changes = reconcile::reconcile(&new, &reconcile::all_sent(&old), at);
    for change in &changes {
        let composed = composer.change(change, at).unwrap();
        let name = match change {
            Change::Update { .. } => "invite_update",
            Change::CancelOccurrence { .. } => "occurrence_cancel",
            Change::Cancel { .. } => "invite_cancel",
            Change::Invite { .. } => "invite",
        };
        insta::assert_snapshot!(name, show(&composed[0]));
    }
}

#[test]
fn one_invite_calendar() {
    let program = example();
    let pair = program.pair_by_id("frances-dennis").unwrap();
    let series = Series::of(&program, pair).unwrap();
    let stamp: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();
    insta::assert_snapshot!(
        "frances_dennis_request",
        ics::render(&series, Method::Request, 0, stamp, None)
    );
}
