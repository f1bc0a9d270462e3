//! The real binary on the example program and on small programs written here:
//! exit codes, the `check` summary, `plan` as JSON and as a table, and the documented
//! rules for meetings on DST change days.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod common;

use common::{example, mentord};

fn plan_json(config: &Path, args: &[&str]) -> Vec<Value> {
    let output = mentord()
        .arg("-c")
        .arg(config)
        .arg("plan")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&output.stdout).unwrap()
}

fn count_by(
    actions: &[Value],
    key: &str,
    filter: impl Fn(&Value) -> bool,
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for a in actions.iter().filter(|a| filter(a)) {
        *counts
            .entry(a[key].as_str().unwrap_or("null").to_string())
            .or_default() += 1;
    }
    counts
}

#[test]
fn check_accepts_the_example_and_summarises_it() {
    let output = mentord().args(["-c", example(), "check"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains(
            "12 people, 6 pairs (5 active, 1 paused), 6 time zones, 2027-01-11 to 2027-06-30"
        ),
        "{stdout}"
    );
}

#[test]
fn exit_codes_follow_the_spec() {
    // A missing file and a malformed command line are usage errors.
    mentord()
        .args(["-c", "/no/such/mentord.toml", "check"])
        .assert()
        .code(2);
    mentord()
        .args(["-c", example(), "plan", "--days", "many"])
        .assert()
        .code(2);
    mentord().arg("frobnicate").assert().code(2);
    // MENTORD_CONFIG names the file when -c is absent.
    Command::cargo_bin("mentord")
        .unwrap()
        .env("MENTORD_CONFIG", example())
        .arg("check")
        .assert()
        .code(0);
}

/// Issue 10: `-c` naming a FIFO hung `check` (and a daemon's reload) for good, and
/// `/dev/zero` or `/dev/urandom` were read until memory ran out. Only a regular file
/// of at most 64 MB is read: anything else is refused at once as a wrong path, without
/// opening it.
#[test]
fn a_program_file_that_is_not_a_file_or_too_large_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("mentord.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let huge = dir.path().join("huge.toml");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(65 * 1024 * 1024)
        .unwrap();
    let cases = [
        (fifo.as_path(), "it is a named pipe (FIFO), not a file"),
        (
            huge.as_path(),
            "it is 65 MB, more than the 64 MB a program file may be",
        ),
        (Path::new("/dev/zero"), "it is a device, not a file"),
        (Path::new("/dev/urandom"), "it is a device, not a file"),
        (Path::new("/dev/null"), "it is a device, not a file"),
        (dir.path(), "it is a folder, not a file"),
    ];
    for (path, why) in cases {
        let output = mentord()
            .arg("-c")
            .arg(path)
            .arg("check")
            .timeout(std::time::Duration::from_secs(10))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{}: {stderr}",
            path.display()
        );
        let want = format!(
            "error: cannot read the program file {}: {why}",
            path.display()
        );
        assert!(stderr.contains(&want), "{}: {stderr}", path.display());
    }
}

/// Four weeks from Monday 2027-01-11 (Berlin), counted by hand from the example:
/// grace-alan and barbara-vint meet on alternate Tuesdays from the 12th (12th, 26th);
/// margaret-linus every Thursday (14th, 21st, 28th, 4 Feb); radia-ken on the 2nd
/// Wednesday (13th); frances-dennis every third Monday 09:00 in Sydney, which is Sunday
/// evening in Berlin: the 11th (Sydney) is before the window, 1 Feb is in it.
#[test]
fn plan_json_of_the_example_month() {
    let actions = plan_json(
        Path::new(example()),
        &["--from", "2027-01-11", "--days", "28"],
    );
    let meetings = count_by(&actions, "pair", |a| a["kind"] == "meeting");
    let expected: BTreeMap<String, usize> = [
        ("barbara-vint", 2),
        ("frances-dennis", 1),
        ("grace-alan", 2),
        ("margaret-linus", 4),
        ("radia-ken", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(meetings, expected);
    let kinds = count_by(&actions, "kind", |_| true);
    // Prompts of meetings just after the window fall inside it (grace-alan and
    // barbara-vint on 9 Feb); the follow-up of frances-dennis's 11 Jan meeting too.
    assert_eq!(kinds["invite"], 5, "the paused pair gets no invite");
    assert_eq!(kinds["agenda_prompt"], 10);
    assert_eq!(kinds["mentor_reminder"], 10);
    assert_eq!(kinds["followup"], 11);
    assert_eq!(
        kinds["digest"], 4,
        "Mondays 08:00: 11, 18, 25 Jan and 1 Feb"
    );
    assert!(
        !actions.iter().any(|a| a["pair"] == "edsger-alan"),
        "paused pair is quiet"
    );

    // Time order, and each action's local time in its recipient's zone.
    let times: Vec<&str> = actions.iter().map(|a| a["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    let grace_reminder = actions
        .iter()
        .find(|a| a["kind"] == "mentor_reminder" && a["pair"] == "grace-alan")
        .unwrap();
    assert_eq!(grace_reminder["to"], serde_json::json!(["grace"]));
    assert_eq!(grace_reminder["zone"], "America/New_York");
    // Their first meeting, Tue 12 Jan 16:00 Berlin, is 10:00 in New York; the reminder
    // goes 24 h before, on Monday the 11th inside the window.
    assert_eq!(grace_reminder["local"], "2027-01-11T10:00:00-05:00");
    assert_eq!(grace_reminder["meeting"], "2027-01-12T16:00:00+01:00");
    assert_eq!(grace_reminder["first"], true);
}

/// Regression: review nudges were scheduled for paused pairs after the meeting and
/// review expansion were split into two passes.
#[test]
fn a_paused_pair_gets_nothing_all_year() {
    let actions = plan_json(
        Path::new(example()),
        &["--from", "2027-01-01", "--days", "365"],
    );
    assert!(actions.iter().any(|a| a["kind"] == "review_escalation"));
    let paused: Vec<&Value> = actions
        .iter()
        .filter(|a| a["pair"] == "edsger-alan")
        .collect();
    assert!(paused.is_empty(), "{paused:?}");
}

#[test]
fn plan_table_and_default_start_from_the_clock() {
    let output = mentord()
        .args(["-c", example(), "plan", "--days", "3"])
        .env("MENTORD_NOW", "2027-01-10T12:00:00+01:00")
        .output()
        .unwrap();
    assert!(output.status.success());
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.starts_with(
        "Plan for \"Platform Engineering Mentoring 2027\", 2027-01-10 to 2027-01-12 (times in Europe/Berlin)"
    ), "{table}");
    assert!(
        table.contains("Sun 2027-01-10 16:00 agenda prompt      grace-alan"),
        "{table}"
    );
    assert!(table.contains("first meeting"), "{table}");
}

fn write_program(dir: &Path, zone: &str, at: &str, start: &str, rrule: &str) -> std::path::PathBuf {
    let path = dir.join("mentord.toml");
    std::fs::write(
        &path,
        format!(
            r#"[program]
name = "DST"
timezone = "{zone}"
start = {start}
coordinator = "ada"
organizer = {{ name = "P", email = "p@example.org" }}

[defaults]
quiet_hours = "off"

[people.ada]
name = "Ada"
email = "ada@example.org"

[people.bob]
name = "Bob"
email = "bob@example.org"

[[pairs]]
mentor = "ada"
mentee = "bob"
rrule = "{rrule}"
at = "{at}"
"#
        ),
    )
    .unwrap();
    path
}

fn meeting_times(config: &Path, from: &str, days: &str) -> Vec<String> {
    plan_json(config, &["--from", from, "--days", days])
        .iter()
        .filter(|a| a["kind"] == "meeting")
        .map(|a| a["local"].as_str().unwrap().to_string())
        .collect()
}

/// The documented rule: 02:30 on the day clocks jump forward (02:00→03:00) happens at
/// 03:30, the same instant a calendar reading DTSTART;TZID=…:…T023000 shows; on the day
/// clocks fall back, 02:30 is the first 02:30 (summer time). Both sides of the change
/// keep 02:30.
#[test]
fn meetings_on_dst_change_days_follow_rfc_5545() {
    let dir = tempfile::tempdir().unwrap();
    let berlin = write_program(
        dir.path(),
        "Europe/Berlin",
        "02:30",
        "2027-03-21",
        "FREQ=WEEKLY;BYDAY=SU",
    );
    assert_eq!(
        meeting_times(&berlin, "2027-03-21", "15"),
        [
            "2027-03-21T02:30:00+01:00",
            "2027-03-28T03:30:00+02:00",
            "2027-04-04T02:30:00+02:00"
        ]
    );
    assert_eq!(
        meeting_times(&berlin, "2027-10-24", "15"),
        [
            "2027-10-24T02:30:00+02:00",
            "2027-10-31T02:30:00+02:00",
            "2027-11-07T02:30:00+01:00"
        ]
    );
    // Southern hemisphere with a half-hour offset: Adelaide leaves summer time on
    // 2027-04-04 (03:00→02:00) and starts it on 2027-10-03 (02:00→03:00).
    let adelaide = write_program(
        dir.path(),
        "Australia/Adelaide",
        "02:30",
        "2027-03-28",
        "FREQ=WEEKLY;BYDAY=SU",
    );
    assert_eq!(
        meeting_times(&adelaide, "2027-03-28", "15"),
        [
            "2027-03-28T02:30:00+10:30",
            "2027-04-04T02:30:00+10:30",
            "2027-04-11T02:30:00+09:30"
        ]
    );
    assert_eq!(
        meeting_times(&adelaide, "2027-09-26", "15"),
        [
            "2027-09-26T02:30:00+09:30",
            "2027-10-03T03:30:00+10:30",
            "2027-10-10T02:30:00+10:30"
        ]
    );
}

/// A program's `templates` folder overrides built-in templates by file name; `check`
/// renders every kind, so a broken override is caught before anything is sent.
#[test]
fn template_overrides_are_used_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::example_with_templates(dir.path(), &[]);
    let followup = dir.path().join("mine/followup.md");
    std::fs::write(
        &followup,
        "subject: Notes from {{ meeting.date }}\n\nHi {{ recipient.name }}, what did you agree?\n",
    )
    .unwrap();
    mentord()
        .arg("-c")
        .arg(&config)
        .arg("check")
        .assert()
        .code(0);
    let out = dir.path().join("out");
    mentord()
        .arg("-c")
        .arg(&config)
        .args([
            "simulate",
            "--from",
            "2027-01-11",
            "--until",
            "2027-01-14",
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(0);
    let index: Vec<Value> =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    let followup_file = index.iter().find(|e| e["kind"] == "followup").unwrap();
    let eml = std::fs::read_to_string(out.join(followup_file["file"].as_str().unwrap())).unwrap();
    assert!(eml.contains("Subject: Notes from"), "{eml}");

    std::fs::write(
        &followup,
        "subject: {{ meeting.nonexistent_field }}\n\nbody\n",
    )
    .unwrap();
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("followup.md"), "{stderr}");
}

/// Regression: whether a file was valid depended on its size. A large file is read in
/// segments, and `[program.organizer]` far below `[program]` was taken for a second
/// `[program]`.
#[test]
fn a_section_continued_far_below_is_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "[program]\nname = \"P\"\ntimezone = \"Europe/Berlin\"\nstart = 2027-01-11\ncoordinator = \"p0\"\n",
    );
    for i in 0..4000 {
        text += &format!(
            "\n[people.p{i}]\nname = \"Person {i}\"\nemail = \"p{i}@example.org\"\n# {}\n",
            "x".repeat(40)
        );
    }
    text += "\n[[pairs]]\nmentor = \"p0\"\nmentee = \"p1\"\n";
    text += "\n[program.organizer]\nname = \"Org\"\nemail = \"org@example.org\"\n";
    assert!(text.len() > 300_000);
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Regression: `check` rendered only the first-meeting branch of a template.
#[test]
fn check_renders_every_branch_of_an_override() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::example_with_templates(
        dir.path(),
        &[(
            "agenda_prompt.md",
            "subject: hi\n\n{% if meeting.first %}ok{% else %}{{ meeting.nosuchfield }}{% endif %}\n",
        )],
    );
    mentord()
        .arg("-c")
        .arg(&config)
        .arg("check")
        .assert()
        .code(1);
}

#[test]
fn bad_dates_and_day_counts_are_usage_errors() {
    mentord()
        .args(["-c", example(), "plan", "--days", "9000000"])
        .assert()
        .code(2);
    mentord()
        .args(["-c", example(), "plan", "--from", "2027-13-01"])
        .assert()
        .code(2);
    let dir = tempfile::tempdir().unwrap();
    mentord()
        .args([
            "-c",
            example(),
            "simulate",
            "--from",
            "nonsense",
            "--until",
            "2027-02-01",
            "--out",
        ])
        .arg(dir.path().join("out"))
        .assert()
        .code(2);
}

/// With a store, `plan` opens with the calendar changes the daemon would send for the
/// changed file: here an update, a cancelled meeting and a cancelled series.
#[test]
fn plan_shows_updates_and_cancels_against_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let old = mentord::program::load(Path::new(example())).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = mentord::store::Store::open(&dir.path().join("mentord.db"))
            .await
            .unwrap();
        let now: jiff::Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();
        for (pair, sent) in mentord::reconcile::all_sent(&old) {
            store.save_series(&pair, &sent, now).await.unwrap();
        }
    });
    let changed = common::example_with(&[
        common::SKIP_11_FEBRUARY,
        common::PAUSE_RADIA_KEN,
        common::LATER_BARBARA_VINT,
    ]);
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, changed).unwrap();
    let actions = plan_json(&config, &["--from", "2027-01-11", "--days", "1"]);
    let changes: Vec<(String, String, u64)> = actions
        .iter()
        .filter(|a| a.get("method").is_some())
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["pair"].as_str().unwrap().to_string(),
                a["sequence"].as_u64().unwrap(),
            )
        })
        .collect();
    let row = |k: &str, p: &str, s: u64| (k.to_string(), p.to_string(), s);
    assert_eq!(
        changes,
        [
            row("occurrence_cancel", "margaret-linus", 1),
            row("invite_cancel", "radia-ken", 1),
            row("invite_update", "barbara-vint", 1),
        ]
    );
}
