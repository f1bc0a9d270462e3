//! What a coordinator met in the weeks before a program starts and after it ends, each
//! through the real binary on a copy of the example (starts Mon 2027-01-11, ends
//! 2027-06-30; grace-alan starts Tue 2027-01-12, reviews every 90 days):
//!
//! - `status` showed every review as due on the pair's start date (`due 2027-01-11`)
//!   while `plan` showed the first one 90 days later.
//! - `review done PAIR` was accepted before the pair had started ("the next is due …").
//! - Digests went out weekly from today although the program starts in January, and
//!   every week until the end of time after it ended in June, "5 active pairs" and all.
//! - The HTML part of a review escalation showed `mentord review done margaret\-linus`:
//!   the Markdown escape of the pair id leaked into `<code>`.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::PathBuf;

use common::{example, mentord};

const BEFORE_START: &str = "2026-12-01T10:00:00Z";

fn example_copy(dir: &tempfile::TempDir) -> PathBuf {
    let config = dir.path().join("mentord.toml");
    std::fs::copy(example(), &config).unwrap();
    config
}

#[test]
fn status_before_the_start_shows_the_first_review_a_period_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_copy(&dir);
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .args(["status", "--json"])
        .env("MENTORD_NOW", BEFORE_START)
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let pair = report["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pair"] == "grace-alan")
        .unwrap();
    assert_eq!(pair["review"], "upcoming");
    // 2027-01-12 + 90 days, as `plan` has it.
    assert_eq!(pair["review_due"], "2027-04-12");
}

#[test]
fn a_review_cannot_be_recorded_before_the_pair_starts() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_copy(&dir);
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .args(["review", "done", "grace-alan", "--on", "2026-11-30"])
        .env("MENTORD_NOW", BEFORE_START)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("grace-alan starts on 2027-01-12"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).is_empty());
    assert!(!dir.path().join("mentord.db").exists(), "nothing recorded");
}

#[test]
fn digests_run_from_the_start_to_one_after_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_copy(&dir);
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .args(["plan", "--from", "2026-12-01", "--days", "500", "--json"])
        .env("MENTORD_NOW", BEFORE_START)
        .output()
        .unwrap();
    assert!(output.status.success());
    let actions: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let digests: Vec<&str> = actions
        .iter()
        .filter(|a| a["kind"] == "digest")
        .map(|a| a["local"].as_str().unwrap())
        .collect();
    // Mondays 08:00 Berlin: the first on the program's first day, the last the first
    // Monday after 2027-06-30.
    assert_eq!(digests.first(), Some(&"2027-01-11T08:00:00+01:00"));
    assert_eq!(digests.last(), Some(&"2027-07-05T08:00:00+02:00"));
    assert_eq!(digests.len(), 26);
}

#[test]
fn the_escalation_shows_the_command_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_copy(&dir);
    let out = dir.path().join("sim");
    mentord()
        .arg("-c")
        .arg(&config)
        .args(["simulate", "--from", "2027-05-01", "--until", "2027-05-20"])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let escalation = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.contains("review_escalation-margaret-linus")
        })
        .expect("an escalation for margaret-linus");
    let mail = common::read_eml(&escalation);
    let html = mail["html"].as_str().unwrap();
    assert!(
        html.contains("<code>mentord review done margaret-linus</code>"),
        "{html}"
    );
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains("record it with mentord review done margaret-linus."),
        "{text}"
    );
}
