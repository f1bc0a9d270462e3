//! Every invite mentord makes, checked by implementations we did not write:
//! libical's iTIP restriction check (C), Python's `icalendar` + `recurring-ical-events`
//! and `vobject` (tests/ical/check.py), and Python's `email` parser for the MIME layout
//! (tests/ical/eml_check.py). `tests/ical/setup.sh` installs them on first use.
//!
//! The occurrences each library expands from our RRULE, EXDATE and VTIMEZONE must equal
//! the schedule engine's meetings instant for instant, and every text must come back
//! exactly as written.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use jiff::{SignedDuration, Timestamp};
use mentord::ics::{self, Method, Series};
use mentord::program::{self, Program};
use mentord::schedule;
use serde_json::Value;

mod common;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Installs and builds the checkers once per test run; fails loudly when it cannot.
fn checkers() -> &'static Path {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY.get_or_init(|| {
        let status = Command::new("bash")
            .arg(format!("{ROOT}/tests/ical/setup.sh"))
            .status()
            .expect("run tests/ical/setup.sh");
        assert!(
            status.success(),
            "tests/ical/setup.sh failed: the iCalendar checkers are required"
        );
        PathBuf::from(format!("{ROOT}/target/ical/libical_check"))
    })
}

fn load(name: &str) -> Program {
    program::load(Path::new(&format!("{ROOT}/{name}"))).unwrap()
}

fn libical(file: &Path) {
    let output = Command::new(checkers()).arg(file).output().unwrap();
    assert!(
        output.status.success(),
        "libical reports errors in {}:\n{}\n{}",
        file.display(),
        String::from_utf8_lossy(&output.stdout),
        std::fs::read_to_string(file).unwrap()
    );
}

fn python(script: &str, args: &[&str]) -> Value {
    checkers();
    let output = Command::new(common::python())
        .arg(format!("{ROOT}/tests/ical/{script}"))
        .args(args)
        .output()
        .unwrap();
    let value: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} {args:?}: {e}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(
        value["problems"],
        serde_json::json!([]),
        "{script} {args:?}"
    );
    assert!(output.status.success());
    value
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// What a quoted parameter can carry: mentord turns `"` into `'` in CN.
fn as_cn(name: &str) -> String {
    name.replace('"', "'")
}

fn check_program(name: &str) {
    let program = load(name);
    let dir = tempfile::tempdir().unwrap();
    let stamp: Timestamp = "2027-01-01T08:00:00Z".parse().unwrap();
    for pair in &program.pairs {
        let series = Series::of(&program, pair).unwrap();
        let file = dir.path().join(format!("{}.ics", pair.id));
        std::fs::write(&file, ics::render(&series, Method::Request, 3, stamp, None)).unwrap();
        libical(&file);

        let from = pair
            .meeting
            .start_on(pair.start)
            .checked_sub(SignedDuration::from_hours(48))
            .unwrap();
        let until = pair.meeting.until.map_or(
            from.checked_add(SignedDuration::from_hours(24 * 800))
                .unwrap(),
            |u| u.checked_add(SignedDuration::from_secs(1)).unwrap(),
        );
        let ours: Vec<String> = schedule::meetings(&program, pair, from, until)
            .map(|(_, t)| utc(t))
            .collect();
        assert!(ours.len() > 5, "{}: too few meetings to compare", pair.id);
        let report = python(
            "check.py",
            &[
                file.to_str().unwrap(),
                "--from",
                &utc(from),
                "--until",
                &utc(until),
            ],
        );
        for library in ["icalendar", "vobject"] {
            let theirs: Vec<String> = report[library]["occurrences"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            assert_eq!(theirs, ours, "{library} expands {} differently", pair.id);
        }
        let cal = &report["icalendar"];
        assert_eq!(cal["method"], "REQUEST");
        assert_eq!(cal["uid"], series.uid.as_str());
        assert_eq!(cal["sequence"], 3);
        assert_eq!(cal["summary"], series.summary.as_str());
        assert_eq!(cal["description"], series.description.as_str());
        assert_eq!(cal["location"].as_str(), series.location.as_deref());
        for (attendee, person) in cal["attendees"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&series.attendees)
        {
            assert_eq!(
                attendee["address"].as_str().unwrap().to_lowercase(),
                format!("mailto:{}", person.email)
            );
            assert_eq!(attendee["CN"], as_cn(&person.name).as_str());
            assert_eq!(attendee["RSVP"], "TRUE");
        }
        assert_eq!(
            cal["organizer"]["address"].as_str().unwrap().to_lowercase(),
            format!("mailto:{}", program.organizer.email)
        );
    }
}

#[test]
fn example_invites_pass_libical_and_expand_identically() {
    check_program("config/mentord.toml");
}

#[test]
fn hostile_texts_and_zones_survive_the_round_trip() {
    check_program("tests/programs/stress.toml");
}

#[test]
fn cancellations_pass_libical_and_name_the_right_meeting() {
    let program = load("tests/programs/stress.toml");
    let dir = tempfile::tempdir().unwrap();
    let stamp: Timestamp = "2027-02-01T08:00:00Z".parse().unwrap();
    let pair = &program.pairs[0];
    let series = Series::of(&program, pair).unwrap();
    let whole = dir.path().join("cancel.ics");
    std::fs::write(&whole, ics::render(&series, Method::Cancel, 4, stamp, None)).unwrap();
    libical(&whole);
    let window = [
        "--from",
        "2027-01-01T00:00:00Z",
        "--until",
        "2029-01-01T00:00:00Z",
    ];
    let report = python(
        "check.py",
        &[&[whole.to_str().unwrap()][..], &window[..]].concat(),
    );
    assert_eq!(report["icalendar"]["method"], "CANCEL");
    assert_eq!(report["icalendar"]["status"], "CANCELLED");

    // One meeting: the series lives in the program's zone, so Tue 2 Feb 2027 10:00
    // Berlin has RECURRENCE-ID 09:00Z, whatever the attendees' zones.
    let date = jiff::civil::date(2027, 2, 2);
    let one = dir.path().join("one.ics");
    std::fs::write(
        &one,
        ics::render(&series, Method::Cancel, 5, stamp, Some(date)),
    )
    .unwrap();
    libical(&one);
    let report = python(
        "check.py",
        &[&[one.to_str().unwrap()][..], &window[..]].concat(),
    );
    assert_eq!(
        report["icalendar"]["recurrence_ids"],
        serde_json::json!(["2027-02-02T09:00:00Z"])
    );
}

/// The MIME layout of every message a simulated quarter of the stress program writes,
/// read back by Python's email package; names and hostile goals survive in text and
/// HTML, and no markup from a value reaches the HTML.
#[test]
fn every_simulated_message_has_the_layout_clients_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_mentord"))
        .args([
            "-c",
            &format!("{ROOT}/tests/programs/stress.toml"),
            "simulate",
        ])
        .args(["--from", "2027-01-04", "--until", "2027-04-10", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let index: Vec<Value> =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    assert!(index.len() > 100);
    let mut kinds_seen = std::collections::BTreeSet::new();
    for entry in &index {
        let kind = entry["kind"].as_str().unwrap();
        // Every kind at least once, and every invite.
        if !kinds_seen.insert(kind.to_string()) && kind != "invite" {
            continue;
        }
        let file = out.join(entry["file"].as_str().unwrap());
        let mail = python("eml_check.py", &[file.to_str().unwrap()]);
        assert_eq!(mail["message_id"], entry["message_id"]);
        assert!(
            mail["to"]
                .as_str()
                .unwrap()
                .contains(entry["recipients"][0].as_str().unwrap())
        );
        let html = mail["html"].as_str().unwrap();
        assert!(!html.contains("<script>"), "{kind}: a value became markup");
        if kind == "invite" {
            assert_eq!(mail["method"], "REQUEST");
            let calendar = dir.path().join("invite.ics");
            std::fs::write(&calendar, mail["calendar"].as_str().unwrap()).unwrap();
            libical(&calendar);
        }
        if entry["pair"] == "anna-li" && kind == "agenda_prompt" {
            let text = mail["text"].as_str().unwrap();
            assert!(text.contains("Анна Каренина"), "{text}");
            assert!(
                text.contains("<script>alert('x')</script>"),
                "text keeps the goal as written"
            );
            assert!(
                html.contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
                "{html}"
            );
            assert!(
                !html.contains("href=\"http://example.com\""),
                "a value became a link"
            );
        }
    }
    assert_eq!(kinds_seen.len(), 7, "{kinds_seen:?}");
}
