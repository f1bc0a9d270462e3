//! A coordinator's first hour (issue 11), each item as a newcomer met it, through the
//! real binary on a copy of the example:
//!
//! - the invite's "that is Tuesday 10:00 your time" was wrong for the weeks when New
//!   York and Berlin change their clocks on different dates;
//! - review nudges landed on Saturdays and Sundays;
//! - `check` refused nothing and said nothing about `US/Eastern` or `EST` (legacy names,
//!   `EST` without the DST its region has), and `"Berlin"` got no useful suggestion;
//! - `plan`'s table said "REQUEST SEQUENCE 0" for a new invite;
//! - the daemon's log said "tick" and "sent" (for files it wrote), not what it did and
//!   what comes next.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{example_first_invites, example_with, mentord, read_eml};

fn write(dir: &Path, text: &str) -> PathBuf {
    let config = dir.join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    config
}

#[test]
fn the_invite_says_when_your_time_shifts_with_the_clocks() {
    let dir = tempfile::tempdir().unwrap();
    let out = example_first_invites(dir.path());
    // Grace (New York) mentors Alan; their meetings are in Berlin's zone.
    let mail = read_eml(&out.join("00001-invite-grace-alan.eml"));
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains("From 14 March to 27 March it is 11:00 your time instead of 10:00"),
        "{text}"
    );
    assert!(
        mail["subject"]
            .as_str()
            .unwrap()
            .starts_with("Mentoring with")
    );
}

#[test]
fn review_nudges_land_on_working_days() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), &example_with(&[]));
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .args(["plan", "--from", "2027-01-11", "--days", "200", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let actions: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let nudges: Vec<&serde_json::Value> = actions
        .iter()
        .filter(|a| a["kind"] == "review_nudge" || a["kind"] == "review_escalation")
        .collect();
    assert!(nudges.len() > 10);
    let mut moved = 0;
    for nudge in nudges {
        let local = nudge["local"].as_str().unwrap();
        let civil: jiff::civil::DateTime = local[..19].parse().unwrap();
        assert!(
            !matches!(
                civil.weekday(),
                jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
            ),
            "{nudge}"
        );
        let due: jiff::civil::Date = nudge["due"].as_str().unwrap().parse().unwrap();
        moved += usize::from(civil.date() > due && nudge["nudge"] == 1);
    }
    // The example has reviews due on a Sunday (11 April): their first nudges move.
    assert!(moved > 0);
}

#[test]
fn legacy_zone_names_warn_and_a_bare_city_gets_its_zone() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = example_with(&[(
        "email = \"grace@example.org\"\ntimezone = \"America/New_York\"",
        "email = \"grace@example.org\"\ntimezone = \"US/Eastern\"",
    )]);
    let config = write(dir.path(), &legacy);
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: `timezone`: \"US/Eastern\" is a legacy zone name")
            && stderr.contains("write \"America/New_York\""),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains(": valid: "));

    let est = legacy.replace("\"US/Eastern\"", "\"EST\"");
    let config = write(dir.path(), &est);
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .arg("check")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("has no daylight saving time"),
        "{output:?}"
    );

    let city = legacy.replace("\"US/Eastern\"", "\"New York\"");
    let config = write(dir.path(), &city);
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("did you mean \"America/New_York\"?"),
        "{output:?}"
    );
}

#[test]
fn the_plan_table_says_new_invite() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), &example_with(&[]));
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .args(["plan", "--from", "2027-01-04", "--days", "1"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("series invite") && table.contains("new invite"),
        "{table}"
    );
    assert!(!table.contains("SEQUENCE"), "{table}");
}

#[test]
fn the_daemon_says_what_it_did_and_what_comes_next() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), &example_with(&[]));
    let log = dir.path().join("log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(&config)
        .arg("run")
        .env("RUST_LOG", "info")
        .env_remove("MENTORD_NOW")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !read().contains("10 delivered") {
        assert!(Instant::now() < deadline, "{}", read());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let log = read();
    assert!(log.contains("mentord started: the store is"), "{log}");
    assert!(log.contains("`mentord --config"), "{log}");
    assert!(log.contains("written to "), "{log}");
    assert!(
        log.contains("10 delivered, 10 queued; nothing due before")
            || log.contains("10 delivered, 10 queued; next: "),
        "{log}"
    );
}
