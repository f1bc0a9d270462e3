//! `mentord simulate` through the real binary: a year of the example program, the
//! reconcile with `--previous`, and the refusals.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

mod common;

use common::{example, mentord};

fn simulate(config: &Path, out: &Path, extra: &[&str]) -> Vec<Value> {
    let output = mentord()
        .arg("-c")
        .arg(config)
        .args([
            "simulate",
            "--from",
            "2027-01-04",
            "--until",
            "2028-01-01",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap()
}

fn counts(index: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for entry in index {
        *counts
            .entry(entry["kind"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    counts
}

/// The year of the example, counted by hand: meetings until the program ends on 30 June
/// are grace-alan and barbara-vint 13 each (alternate Tuesdays from 12 Jan), margaret-linus
/// 24 (Thursdays from 14 Jan), radia-ken 6 (2nd Wednesdays), frances-dennis 8 (every
/// third Monday from 11 Jan, less Easter Monday): 64, each with a prompt, a reminder and a
/// follow-up. Each of the five active pairs has one review due (day 90) before its end:
/// two nudges to two people and one escalation. 26 Monday digests, from the program's
/// first day (11 Jan) to the first Monday after its end (5 Jul). Two invites a pair.
/// Check-ins every four weeks from each pair's start (11 Jan; grace-alan 12 Jan): six
/// before the end on 30 June, to two people of five active pairs: 60.
#[test]
fn a_year_of_the_example() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let index = simulate(Path::new(example()), &out, &[]);
    let expected: BTreeMap<String, usize> = [
        ("agenda_prompt", 64),
        ("checkin", 60),
        ("digest", 26),
        ("followup", 64),
        ("invite", 10),
        ("mentor_reminder", 64),
        ("review_escalation", 5),
        ("review_nudge", 20),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts(&index), expected);

    // Files exist as named, in send order, one recipient each, unique Message-IDs.
    let files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".eml"))
        .collect();
    assert_eq!(files.len(), index.len());
    let times: Vec<&str> = index.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "index in send order"
    );
    let mut ids: Vec<&str> = index
        .iter()
        .map(|e| e["message_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), index.len());
    assert_eq!(index[0]["file"], "00001-invite-grace-alan.eml");
    for entry in &index {
        assert_eq!(entry["recipients"].as_array().unwrap().len(), 1);
        let eml = std::fs::read_to_string(out.join(entry["file"].as_str().unwrap())).unwrap();
        assert!(
            !eml.replace("\r\n", "").contains('\n'),
            "bare LF in {}",
            entry["file"]
        );
        if entry["kind"] == "invite" {
            assert_eq!(entry["method"], "REQUEST");
            assert_eq!(entry["sequence"], 0);
            assert!(
                eml.to_ascii_lowercase()
                    .contains("content-type: text/calendar; method=request; charset=utf-8")
            );
        }
    }
    // The paused pair sends nothing.
    assert!(!index.iter().any(|e| e["pair"] == "edsger-alan"));

    // The same run again writes the same Message-IDs (they come from delivery keys).
    let again = simulate(Path::new(example()), &dir.path().join("again"), &[]);
    let ids_again: Vec<&Value> = again.iter().map(|e| &e["message_id"]).collect();
    let ids_first: Vec<&Value> = index.iter().map(|e| &e["message_id"]).collect();
    assert_eq!(ids_first, ids_again);
}

#[test]
fn previous_shows_updates_and_cancels() {
    let dir = tempfile::tempdir().unwrap();
    let first = simulate(Path::new(example()), &dir.path().join("first"), &[]);
    let uid_of = |index: &[Value], pair: &str| -> String {
        index
            .iter()
            .find(|e| e["pair"] == pair && e.get("uid").is_some())
            .map(|e| e["uid"].as_str().unwrap().to_string())
            .unwrap()
    };
    let changed = common::example_with(&[
        common::SKIP_11_FEBRUARY,
        common::PAUSE_RADIA_KEN,
        common::NEW_VINT_ADDRESS,
    ]);
    let new = dir.path().join("mentord.toml");
    std::fs::write(&new, changed).unwrap();
    let index = simulate(&new, &dir.path().join("second"), &["--previous", example()]);
    let calendar: Vec<(String, String, String, u64, String)> = index
        .iter()
        .filter(|e| e.get("uid").is_some())
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["pair"].as_str().unwrap().to_string(),
                e["method"].as_str().unwrap().to_string(),
                e["sequence"].as_u64().unwrap(),
                e["recipients"][0].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let row =
        |k: &str, p: &str, m: &str, s: u64, r: &str| (k.into(), p.into(), m.into(), s, r.into());
    assert_eq!(
        calendar,
        [
            row(
                "occurrence_cancel",
                "margaret-linus",
                "CANCEL",
                1,
                "margaret@example.org"
            ),
            row(
                "occurrence_cancel",
                "margaret-linus",
                "CANCEL",
                1,
                "linus@example.org"
            ),
            row(
                "invite_cancel",
                "radia-ken",
                "CANCEL",
                1,
                "radia@example.org"
            ),
            row("invite_cancel", "radia-ken", "CANCEL", 1, "ken@example.org"),
            row(
                "invite_update",
                "barbara-vint",
                "REQUEST",
                1,
                "barbara@example.org"
            ),
            row(
                "invite_update",
                "barbara-vint",
                "REQUEST",
                1,
                "vint.cerf@example.org"
            ),
            row(
                "invite_cancel",
                "barbara-vint",
                "CANCEL",
                1,
                "vint@example.org"
            ),
        ]
    );
    for pair in ["margaret-linus", "radia-ken", "barbara-vint"] {
        assert_eq!(
            uid_of(&index, pair),
            uid_of(&first, pair),
            "{pair} keeps its UID"
        );
    }
    let recurrence = std::fs::read_to_string(
        dir.path()
            .join("second")
            .join(index[0]["file"].as_str().unwrap()),
    )
    .unwrap();
    assert!(recurrence.contains("method=CANCEL"));
    // The paused pair's prompts stop; nothing of it follows the cancel.
    let after_cancel = index
        .iter()
        .skip(7)
        .filter(|e| e["pair"] == "radia-ken")
        .count();
    assert_eq!(after_cancel, 0);
}

#[test]
fn refuses_a_used_folder_and_a_backwards_window() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.eml"), "x").unwrap();
    mentord()
        .args([
            "-c",
            example(),
            "simulate",
            "--from",
            "2027-01-04",
            "--until",
            "2027-02-01",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .code(1);
    mentord()
        .args([
            "-c",
            example(),
            "simulate",
            "--from",
            "2027-02-01",
            "--until",
            "2027-01-04",
            "--out",
        ])
        .arg(dir.path().join("new"))
        .assert()
        .code(2);
}
