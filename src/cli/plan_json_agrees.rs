//! The hand-written `plan --json` against a plain reference: each line is built again
//! with `serde_json::json!` from the README's description of the fields, and the fast
//! writer's line must parse to exactly that value, over generated programs (zones with
//! half- and quarter-hour offsets, times in DST gaps, every kind of cadence, quiet
//! hours, digests, reviews, paused pairs) and windows, with the calendar changes a
//! changed file brings and rows with text that needs escaping.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::HashMap;
use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use proptest::prelude::*;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Value, json};

use super::plan_rows::{ChangeRow, change_rows};
use super::{plan_json, time};
use crate::program::{Program, Zone};
use crate::reconcile::{self, Sent};
use crate::schedule::{self, Action, History, Recipient, Subject, Window};
use crate::vocab::MessageKind;

/// `at` in UTC; `Z` is how RFC 3339 writes it.
fn utc(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An instant in a zone, RFC 3339 with the offset then (`Z` in the zone named UTC).
fn local(at: Timestamp, zone: &Zone) -> String {
    if &*zone.name == "UTC" {
        return utc(at);
    }
    at.to_zoned_datetime(zone.tz.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// A calendar change, at the window's start, in the zone of the pair's meetings (the
/// program's for a pair no longer in the file).
fn reference_change(program: &Program, row: &ChangeRow, at: Timestamp) -> Value {
    let zone = program
        .pairs
        .iter()
        .find(|p| p.id == row.pair)
        .map_or(&program.zone, |p| &p.meeting.zone);
    let mut line = json!({
        "at": utc(at),
        "kind": row.kind.name(),
        "pair": row.pair,
        "to": row.to,
        "zone": &*zone.name,
        "local": local(at, zone),
        "method": row.method,
        "sequence": row.sequence,
    });
    if let Some(date) = row.date {
        line["date"] = json!(date.to_string());
    }
    line
}

/// An action as the README's "plan --json" section describes it.
fn reference_line(program: &Program, action: &Action) -> Value {
    let pair = action.pair.map(|i| &program.pairs[i as usize]);
    let person = |i: usize| &program.people[i];
    let coordinator = person(program.coordinator);
    let (zone, to) = match (pair, action.to) {
        (Some(p), Recipient::Pair) => (
            &p.meeting.zone,
            vec![&person(p.mentor).id, &person(p.mentee).id],
        ),
        (Some(p), Recipient::Mentor) => (&person(p.mentor).zone, vec![&person(p.mentor).id]),
        (Some(p), Recipient::Mentee) => (&person(p.mentee).zone, vec![&person(p.mentee).id]),
        _ => (&coordinator.zone, vec![&coordinator.id]),
    };
    let mut line = json!({
        "at": utc(action.at),
        "kind": action.kind.as_str(),
        "pair": pair.map(|p| &p.id),
        "to": to,
        "zone": &*zone.name,
        "local": local(action.at, zone),
    });
    match action.subject {
        Subject::Meeting { start, first } => {
            let meeting_zone = pair.map_or(&program.zone, |p| &p.meeting.zone);
            line["meeting"] = json!(local(start, meeting_zone));
            line["first"] = json!(first);
        }
        Subject::Review { due, nudge } => {
            line["due"] = json!(due.to_string());
            line["nudge"] = json!(nudge);
        }
        Subject::Checkin { on } => {
            line["on"] = json!(on.to_string());
        }
        Subject::Digest => {}
    }
    line
}

/// The keys of a JSON object in the order written, repeats kept: parsing into a
/// `Value` keeps only the last of a repeated key.
struct Keys(Vec<String>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Keys, D::Error> {
        struct KeysVisitor;
        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = Keys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some((key, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                    keys.push(key);
                }
                Ok(Keys(keys))
            }
        }
        deserializer.deserialize_map(KeysVisitor)
    }
}

/// Runs the fast writer and checks its output line by line against `expected`.
fn assert_matches_reference(
    program: &Program,
    rows: &[ChangeRow],
    history: &History,
    window: Window,
) {
    let mut expected: Vec<Value> = rows
        .iter()
        .map(|row| reference_change(program, row, window.from))
        .collect();
    expected
        .extend(schedule::actions(program, history, window).map(|a| reference_line(program, &a)));
    let mut out = Vec::new();
    let chunks = schedule::chunks(program, history, window);
    plan_json::write(program, rows, window.from, chunks, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();

    let whole: Vec<Value> = serde_json::from_str(&text).expect("one JSON array");
    assert_eq!(whole.len(), expected.len());
    if expected.is_empty() {
        assert_eq!(text, "[]\n");
        return;
    }
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        expected.len() + 2,
        "one object a line:\n{text}"
    );
    assert_eq!((lines[0], lines[lines.len() - 1]), ("[", "]"));
    let objects = &lines[1..lines.len() - 1];
    for (i, (line, want)) in objects.iter().zip(&expected).enumerate() {
        let last = i + 1 == objects.len();
        let object = if last {
            *line
        } else {
            line.strip_suffix(',')
                .expect("a comma after each but the last")
        };
        let got: Value = serde_json::from_str(object).unwrap();
        assert_eq!(&got, want, "line {}: {object}", i + 2);
        let Keys(keys) = serde_json::from_str(object).unwrap();
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "a key twice: {object}");
    }
}

/// `n` days after the programs' start, 2027-01-11.
fn day(n: i64) -> Date {
    Date::constant(2027, 1, 11)
        .checked_add(jiff::Span::new().days(n))
        .unwrap()
}

/// Zones with half- and quarter-hour offsets, a 30-minute DST shift (Lord Howe), both
/// hemispheres, and two with offset zero (London's winter is `+00:00`, UTC is `Z`).
const ZONES: &[&str] = &[
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "UTC",
];

const CADENCES: &[&str] = &[
    "every = \"week\"\non = \"tue\"",
    "every = \"2 weeks\"\non = \"mon, thu\"",
    "every = \"3 days\"",
    "every = \"month\"\non = \"2nd wed\"",
    "every = \"month\"\non = \"last fri\"",
    "every = \"month\"\non = \"15\"",
    "rrule = \"FREQ=WEEKLY;INTERVAL=3;BYDAY=SU\"",
    "",
];

/// Times on the quarter hour, some inside DST gaps and folds.
fn time_of_day() -> impl Strategy<Value = String> {
    (0u8..24, prop::sample::select(vec![0u8, 15, 30, 45]))
        .prop_map(|(h, m)| format!("{h:02}:{m:02}"))
}

#[derive(Debug, Clone)]
struct PairSpec {
    mentor: usize,
    mentee: usize,
    at: String,
    cadence: &'static str,
    zone: Option<&'static str>,
    paused: bool,
    /// How the file changed since its series was sent: moved to another time, paused.
    moved_from: Option<String>,
    paused_since: bool,
}

#[derive(Debug, Clone)]
struct ProgramSpec {
    zone: &'static str,
    zones: Vec<&'static str>,
    digest: &'static str,
    quiet_hours: &'static str,
    review_every: &'static str,
    pairs: Vec<PairSpec>,
    /// A week of skip dates added since the series were sent (days after the start),
    /// which cancels the meetings in it.
    new_skip: Option<u16>,
}

fn pair_spec(people: usize) -> impl Strategy<Value = PairSpec> {
    (
        0..people,
        1..people,
        time_of_day(),
        prop::sample::select(CADENCES),
        prop::option::weighted(0.3, prop::sample::select(ZONES)),
        prop::bool::weighted(0.1),
        prop::option::weighted(0.3, time_of_day()),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            move |(mentor, offset, at, cadence, zone, paused, moved_from, paused_since)| PairSpec {
                mentor,
                mentee: (mentor + offset) % people,
                at,
                cadence,
                zone,
                paused,
                moved_from,
                paused_since,
            },
        )
}

fn program_spec() -> impl Strategy<Value = ProgramSpec> {
    (2usize..6).prop_flat_map(|people| {
        (
            prop::sample::select(ZONES),
            prop::collection::vec(prop::sample::select(ZONES), people),
            prop::sample::select(vec!["0 8 * * MON", "30 17 * * FRI", "45 2 1 * *", "off"]),
            prop::sample::select(vec!["21:00-07:00", "off", "12:00-13:30"]),
            prop::sample::select(vec!["90d", "30d", "off"]),
            prop::collection::vec(pair_spec(people), 0..5),
            prop::option::weighted(0.3, 0u16..300),
        )
            .prop_map(
                |(zone, zones, digest, quiet_hours, review_every, pairs, new_skip)| ProgramSpec {
                    zone,
                    zones,
                    digest,
                    quiet_hours,
                    review_every,
                    pairs,
                    new_skip,
                },
            )
    })
}

/// The program file as it is now (`before` false) or as its series were sent.
fn program_text(spec: &ProgramSpec, before: bool) -> String {
    let mut text = format!(
        "[program]\nname = \"P\"\ntimezone = \"{}\"\nstart = 2027-01-11\ncoordinator = \"p0\"\norganizer = {{ name = \"P\", email = \"p@example.org\" }}\n",
        spec.zone
    );
    if let (Some(days), false) = (spec.new_skip, before) {
        let week: Vec<String> = (0..7)
            .map(|d| day(i64::from(days) + d).to_string())
            .collect();
        text.push_str(&format!("skip = [{}]\n", week.join(", ")));
    }
    text.push_str(&format!(
        "[defaults]\ndigest = \"{}\"\nquiet_hours = \"{}\"\nreview_every = \"{}\"\n",
        spec.digest, spec.quiet_hours, spec.review_every
    ));
    for (i, zone) in spec.zones.iter().enumerate() {
        text.push_str(&format!(
            "[people.p{i}]\nname = \"Person {i}\"\nemail = \"p{i}@example.org\"\ntimezone = \"{zone}\"\n"
        ));
    }
    let mut couples = Vec::new();
    for pair in &spec.pairs {
        if couples.contains(&(pair.mentor, pair.mentee)) {
            continue;
        }
        couples.push((pair.mentor, pair.mentee));
        let at = match (&pair.moved_from, before) {
            (Some(old), true) => old,
            _ => &pair.at,
        };
        let paused = pair.paused || (pair.paused_since && !before);
        text.push_str(&format!(
            "[[pairs]]\nmentor = \"p{}\"\nmentee = \"p{}\"\nat = \"{at}\"\n{}\n",
            pair.mentor, pair.mentee, pair.cadence
        ));
        if let Some(zone) = pair.zone {
            text.push_str(&format!("timezone = \"{zone}\"\n"));
        }
        if paused {
            text.push_str("status = \"paused\"\n");
        }
    }
    text
}

/// Calendar changes whose text needs escaping (a removed pair's id and an old address
/// come from the store, not from a validated file).
fn odd_row() -> impl Strategy<Value = ChangeRow> {
    let text = "[a-z\"\\\\/\u{0}-\u{1f}\u{7f}é€😀 -]{0,8}";
    (
        prop::sample::select(vec![
            MessageKind::InviteUpdate,
            MessageKind::InviteCancel,
            MessageKind::OccurrenceCancel,
        ]),
        text,
        prop::collection::vec(text, 1..3),
        0u32..5,
        prop::option::of(0i64..400),
    )
        .prop_map(|(kind, pair, to, sequence, date)| ChangeRow {
            kind,
            pair,
            to,
            method: if kind == MessageKind::InviteUpdate {
                "REQUEST"
            } else {
                "CANCEL"
            },
            sequence,
            date: date.map(|d| {
                Date::constant(2027, 1, 1)
                    .checked_add(jiff::Span::new().days(d))
                    .unwrap()
            }),
            what: Vec::new(),
        })
}

/// A case: the program, whether its series were sent before (and changed since), a
/// window (first day after the program's start, number of days), reviews already
/// held (days after the start, per pair) and odd rows.
type Case = (
    ProgramSpec,
    bool,
    (i64, i64),
    Vec<Option<u16>>,
    Vec<ChangeRow>,
);

fn case() -> impl Strategy<Value = Case> {
    (
        program_spec(),
        any::<bool>(),
        (-20i64..400, 1i64..60),
        prop::collection::vec(prop::option::weighted(0.3, 0u16..200), 5),
        prop::collection::vec(odd_row(), 0..3),
    )
}

fn run_case((spec, sent_before, (from, days), reviews, odd_rows): Case) {
    let base = std::path::Path::new(".");
    let program = crate::program::parse(&program_text(&spec, false), base).unwrap();
    let sent: HashMap<String, Sent> = if sent_before {
        reconcile::all_sent(&crate::program::parse(&program_text(&spec, true), base).unwrap())
    } else {
        HashMap::new()
    };
    let window = Window {
        from: time::start_of(day(from), &program.zone.tz).unwrap(),
        until: time::start_of(day(from + days), &program.zone.tz).unwrap(),
    };
    let history = History {
        last_review: program
            .pairs
            .iter()
            .zip(&reviews)
            .filter_map(|(p, r)| r.map(|r| (p.id.clone(), day(i64::from(r)))))
            .collect(),
        ..History::default()
    };
    let mut rows = change_rows(
        &program,
        &reconcile::reconcile(&program, &sent, window.from),
    );
    rows.extend(odd_rows);
    assert_matches_reference(&program, &rows, &history, window);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn fast_json_lines_equal_the_reference(case in case()) {
        run_case(case);
    }
}

/// The example program over its first half year, with all its invites.
#[test]
fn the_example_half_year_equals_the_reference() {
    let program = crate::program::example();
    let from = time::start_of(Date::constant(2027, 1, 4), &program.zone.tz).unwrap();
    let window = Window {
        from,
        until: time::start_of(Date::constant(2027, 7, 4), &program.zone.tz).unwrap(),
    };
    let rows = change_rows(
        &program,
        &reconcile::reconcile(&program, &HashMap::new(), from),
    );
    assert_matches_reference(&program, &rows, &History::default(), window);
}

/// Found by the reference: since invites became calendar changes (reconciled, not
/// scheduled), their `zone` and `local` were the program's, while the README says the
/// meeting's. margaret-linus meets in New York in a Berlin program.
#[test]
fn an_invite_is_shown_in_the_meeting_zone() {
    let program = crate::program::example();
    let from = time::start_of(Date::constant(2027, 1, 4), &program.zone.tz).unwrap();
    let rows = change_rows(
        &program,
        &reconcile::reconcile(&program, &HashMap::new(), from),
    );
    let (mut out, history) = (Vec::new(), History::default());
    let chunks = schedule::chunks(&program, &history, Window { from, until: from });
    plan_json::write(&program, &rows, from, chunks, &mut out).unwrap();
    let lines: Vec<Value> = serde_json::from_slice(&out).unwrap();
    let invite = lines
        .iter()
        .find(|l| l["pair"] == "margaret-linus")
        .unwrap();
    assert_eq!(invite["zone"], "America/New_York");
    assert_eq!(invite["local"], "2027-01-03T18:00:00-05:00");
}
