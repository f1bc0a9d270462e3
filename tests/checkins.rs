//! Check-ins (SPEC §7) through the real binary: every `checkin_every`, the mentor and the
//! mentee of each active pair get "How is your mentoring going?" at 09:00 their time,
//! with five signed links and an answer by reply. Answers are the coordinator's alone.
//!
//! - `plan` shows them at 09:00 in each recipient's zone; `"off"` shows none;
//! - `simulate` writes them as kind `checkin`, one to each person;
//! - `mentord run` sends them; a link's POST records the score once (the second says
//!   so); a reply "2 we keep missing each other" is score 2 with a comment, and the same
//!   mail delivered twice is recorded once; `status --json` shows the scores to the
//!   coordinator, while no mail to the other person and no log line carries them.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http;
use serde_json::Value;

const SECRET: &str = "a test secret that is long enough to sign check-in links";

/// Grace (New York) mentors Alan (UTC) from Monday 7 January 2030, weekly on Tuesdays
/// (`common::program_in_2030`), with `checkin` as the pair's `checkin_every` and `http`
/// an `[http]` section.
fn program(dir: &Path, checkin: &str, http: &str) -> PathBuf {
    common::program_in_2030(
        dir,
        &format!(
            r#"{http}

[people.ada]
name = "Ada Lovelace"
email = "ada@example.org"

[people.grace]
name = "Grace Hopper"
email = "grace@example.org"
timezone = "America/New_York"

[people.alan]
name = "Alan Turing"
email = "alan@example.org"

[[pairs]]
mentor = "grace"
mentee = "alan"
checkin_every = {checkin}
"#
        ),
    )
}

/// `mentord -c CONFIG ARGS…`, which must succeed (with the links' secret set): its output.
fn succeed(config: &Path, args: &[&str]) -> String {
    let output = common::mentord()
        .arg("-c")
        .arg(config)
        .args(args)
        .env("TEST_CHECKIN_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `plan --json` over the program's first 40 days: the check-ins, as (to, local time).
fn planned_checkins(config: &Path) -> Vec<(String, String)> {
    let text = succeed(
        config,
        &["plan", "--from", "2030-01-07", "--days", "40", "--json"],
    );
    let actions: Vec<Value> = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(all)) => all,
        _ => text
            .lines()
            .filter_map(|l| serde_json::from_str(l.trim_end_matches(',')).ok())
            .collect(),
    };
    actions
        .iter()
        .filter(|a| a["kind"] == "checkin")
        .map(|a| {
            (
                a["to"][0].as_str().unwrap().to_string(),
                a["local"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A coordinator asks for a check-in every two weeks: from the pair's start on Monday 7
/// January, one on the 21st and one on 4 February, to Alan at 09:00 UTC and to Grace at
/// 09:00 in New York (14:00 UTC) — never at a time that is night for one of them. The
/// human table says the same. With `"off"` there is none.
#[test]
fn plan_shows_checkins_at_nine_in_each_recipients_zone_and_none_when_off() {
    let dir = tempfile::tempdir().unwrap();
    let config = program(dir.path(), "\"2 weeks\"", "");
    let want: Vec<(String, String)> = [
        ("alan", "2030-01-21T09:00:00Z"),
        ("grace", "2030-01-21T09:00:00-05:00"),
        ("alan", "2030-02-04T09:00:00Z"),
        ("grace", "2030-02-04T09:00:00-05:00"),
    ]
    .iter()
    .map(|(to, at)| (to.to_string(), at.to_string()))
    .collect();
    assert_eq!(planned_checkins(&config), want);
    let table = succeed(&config, &["plan", "--from", "2030-01-07", "--days", "40"]);
    let rows: Vec<&str> = table.lines().filter(|l| l.contains("check-in")).collect();
    assert!(
        rows.iter().any(|r| r.starts_with("Mon 2030-01-21 14:00")
            && r.contains("grace (mentor)")
            && r.contains("Mon 09:00 America/New_York")),
        "{table}"
    );
    assert!(table.contains("check-in: 4"), "{table}");

    let config = program(dir.path(), "\"off\"", "");
    assert_eq!(planned_checkins(&config), Vec::new());
}

/// A typo or a nagging cadence is refused with the place to fix it, like every key.
#[test]
fn a_bad_checkin_every_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    for (value, says) in [
        ("\"3d\"", "would nag"),
        ("\"2 fortnights\"", "unknown unit"),
        ("\"36h\"", "not a whole number of days"),
    ] {
        let config = program(dir.path(), value, "");
        let output = common::mentord()
            .arg("-c")
            .arg(&config)
            .arg("check")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let said = String::from_utf8_lossy(&output.stderr).into_owned()
            + &String::from_utf8_lossy(&output.stdout);
        assert!(said.contains(says), "{value}: {said}");
        let line = std::fs::read_to_string(&config)
            .unwrap()
            .lines()
            .position(|l| l.starts_with("checkin_every"))
            .unwrap()
            + 1;
        let place = format!("mentord.toml:{line}:17");
        assert!(said.contains(&place), "{value}: {said}");
    }
}

/// A preview: `simulate` writes each check-in as kind `checkin`, one to the mentor and one
/// to the mentee, asking the question with five links and the reply rule; with
/// `--answers`, Grace's "2, we keep missing each other" is a reply to her check-in, and
/// the period's `report.csv` counts it.
#[test]
fn simulate_writes_a_checkin_for_each_person() {
    let dir = tempfile::tempdir().unwrap();
    let config = program(
        dir.path(),
        "\"4 weeks\"",
        "[http]\npublic_url = \"https://mentoring.example.org\"\nsecret_env = \"TEST_CHECKIN_SECRET\"",
    );
    let out = dir.path().join("simulated");
    let answers = dir.path().join("answers.jsonl");
    std::fs::write(
        &answers,
        r#"{"at": "2030-02-05T10:00", "from": "grace", "answer": "checkin", "score": 2, "text": "We keep missing each other."}"#,
    )
    .unwrap();
    let until = ["--from", "2030-01-07", "--until", "2030-02-10", "--out"];
    let args: Vec<&str> = ["simulate"]
        .into_iter()
        .chain(until)
        .chain([
            out.to_str().unwrap(),
            "--answers",
            answers.to_str().unwrap(),
        ])
        .collect();
    let said = succeed(&config, &args);
    assert!(!said.contains("missing each other"), "{said}");
    let report = std::fs::read_to_string(out.join("report.csv")).unwrap();
    let header: Vec<&str> = report.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = report
        .lines()
        .find(|l| l.starts_with("grace-alan,"))
        .unwrap()
        .split(',')
        .collect();
    let cell = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(
        (cell("checkins"), cell("checkin_mean")),
        ("1", "2.00"),
        "{report}"
    );
    let index: Vec<Value> =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    let checkins: Vec<&Value> = index.iter().filter(|e| e["kind"] == "checkin").collect();
    let mut to: Vec<&str> = checkins
        .iter()
        .map(|e| e["recipients"][0].as_str().unwrap())
        .collect();
    to.sort_unstable();
    assert_eq!(to, ["alan@example.org", "grace@example.org"], "{index:?}");
    for entry in checkins {
        assert_eq!(entry["pair"], "grace-alan");
        let mail = common::read_eml(&out.join(entry["file"].as_str().unwrap()));
        let text = mail["text"].as_str().unwrap();
        assert!(text.contains("how is your mentoring with"), "{text}");
        assert_eq!(text.matches("https://mentoring.example.org/a/").count(), 5);
        assert!(text.contains("1 (very badly) to 5 (very well)"), "{text}");
        assert!(text.contains("never to"), "{text}");
    }
}

/// `mentord run` at a fixed instant (`MENTORD_NOW`), serving links, its log in `log`;
/// stopped if the test ends early.
fn run_at(config: &Path, now: &str, log: &Path) -> common::Daemons {
    let child = Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(config)
        .arg("run")
        .env("MENTORD_NOW", now)
        .env("TEST_CHECKIN_SECRET", SECRET)
        .env("RUST_LOG", "mentord=debug")
        .env_remove("MENTORD_CONFIG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    common::Daemons(vec![Some(child)])
}

/// SIGTERM, once the daemon handles it; it must stop cleanly.
fn stop(mut daemon: common::Daemons) {
    for child in daemon.0.iter().flatten() {
        common::wait_until_it_handles_sigterm(child);
    }
    daemon.stop();
}

/// The files in the outbox whose name starts with `kind` and that go to `to`.
fn mails(outbox: &Path, kind: &str, to: &str) -> Vec<PathBuf> {
    std::fs::read_dir(outbox)
        .into_iter()
        .flatten()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            kind.is_empty()
                || p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("{kind}-"))
        })
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .any(|l| l.starts_with("To:") && l.contains(to))
        })
        .collect()
}

fn wait_for(outbox: &Path, kind: &str, to: &str) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = mails(outbox, kind, to).into_iter().next() {
            return found;
        }
        assert!(Instant::now() < deadline, "no {kind} to {to} within 30 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn status(config: &Path) -> Value {
    serde_json::from_str(&succeed(config, &["status", "--json"])).unwrap()
}

/// Alan clicks "4 — well" in his check-in, and clicks it again: the first POST records
/// 4, the second changes nothing and says so. Grace replies "2 we keep missing each
/// other", and her mail server hands the same mail over twice: one answer, score 2 with
/// the comment. The coordinator sees both scores in `status --json`; Grace's mail never
/// shows Alan's answer, Alan's never Grace's, and neither the daemon's log (at debug)
/// nor `deliver`'s says a score or a comment.
#[test]
fn answers_by_link_and_reply_are_recorded_once_for_the_coordinator_only() {
    let dir = tempfile::tempdir().unwrap();
    let port = http::free_port();
    let config = program(
        dir.path(),
        "\"1 week\"",
        &format!(
            "[http]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\nsecret_env = \"TEST_CHECKIN_SECRET\""
        ),
    );
    let outbox = dir.path().join("outbox");
    // The first start sets where the schedule begins (a minute before Alan's 09:00
    // check-in on Monday 14 January; queueing the late agenda prompt shows it got that
    // far); the second, after Grace's 09:00 in New York, sends both check-ins.
    let first_log = dir.path().join("first.log");
    let first = run_at(&config, "2030-01-14T08:59:00Z", &first_log);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&first_log)
        .unwrap()
        .contains("sending it now")
    {
        assert!(Instant::now() < deadline, "the first start queued nothing");
        std::thread::sleep(Duration::from_millis(100));
    }
    stop(first);
    assert!(mails(&outbox, "checkin", "").is_empty());
    let log = dir.path().join("daemon.log");
    let daemon = run_at(&config, "2030-01-14T14:01:00Z", &log);
    let checkin = wait_for(&outbox, "checkin", "alan@example.org");
    let mail = common::read_eml(&checkin);
    let text = mail["text"].as_str().unwrap();
    let prefix = format!("http://127.0.0.1:{port}");
    let links: Vec<&str> = text
        .split(&prefix)
        .skip(1)
        .map(|rest| {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "/-_.".contains(c)))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|path| path.starts_with("/a/"))
        .collect();
    assert_eq!(links.len(), 5, "{text}");
    let well = links[3];

    // The GET says what will be recorded, and records nothing.
    let page = http::get(port, well);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("4 — well"), "{}", page.body);
    assert!(page.body.contains("never Grace Hopper"), "{}", page.body);
    assert_eq!(alan_line(&status(&config))["mentee_checkin"], Value::Null);

    let first_post = http::post_form(port, well, "");
    assert_eq!(first_post.status, 200, "{}", first_post.body);
    assert!(first_post.body.contains("Thank you"), "{}", first_post.body);
    let second_post = http::post_form(port, well, "");
    assert_eq!(second_post.status, 200);
    assert!(
        second_post.body.contains("Already recorded")
            && second_post.body.contains("Nothing else changed"),
        "{}",
        second_post.body
    );
    let grace_checkin = wait_for(&outbox, "checkin", "grace@example.org");
    stop(daemon);

    // Grace answers by mail, through the Reply-To only she was given.
    let grace_mail = std::fs::read_to_string(&grace_checkin).unwrap();
    let header = |name: &str| {
        grace_mail
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .to_string()
    };
    let reply_to = header("Reply-To: ");
    let reply_to = &reply_to[reply_to.find('<').unwrap() + 1..reply_to.find('>').unwrap()];
    let id = header("Message-ID: ");
    let reply = format!(
        "From: Grace Hopper <grace@example.org>\r\nTo: <{reply_to}>\r\n\
         Subject: Re: How is your mentoring with Alan Turing going?\r\n\
         Message-ID: <checkin-answer@example.org>\r\nIn-Reply-To: {id}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         2 we keep missing each other\r\n\r\nOn Mon, 14 Jan 2030, Mentoring wrote:\r\n> How is it going?\r\n"
    );
    let (code, said) = deliver_at(&config, reply.as_bytes(), "2030-01-14T15:00:00Z");
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("taken in: checkin"), "{said}");
    let (code, again) = deliver_at(&config, reply.as_bytes(), "2030-01-14T15:05:00Z");
    assert_eq!(code, 0, "{again}");
    assert!(again.contains("taken in before: checkin"), "{again}");

    let json = status(&config);
    let line = alan_line(&json);
    assert_eq!(line["mentee_checkin"]["score"], 4, "{json}");
    assert_eq!(line["mentee_checkin"]["on"], "2030-01-14", "{json}");
    assert_eq!(line["mentor_checkin"]["score"], 2, "{json}");

    // The coordinator's report counts both answers (mean 3) and names Grace's 2 in the
    // pair's health, in words; never the comment.
    let csv = common::mentord()
        .arg("-c")
        .arg(&config)
        .args([
            "report",
            "--from",
            "2030-01-07",
            "--until",
            "2030-02-01",
            "--csv",
        ])
        .env("MENTORD_NOW", "2030-01-15T12:00:00Z")
        .output()
        .unwrap();
    assert!(
        csv.status.success(),
        "{}",
        String::from_utf8_lossy(&csv.stderr)
    );
    let csv = String::from_utf8(csv.stdout).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row = csv.lines().find(|l| l.starts_with("grace-alan,")).unwrap();
    let cell = |name: &str| {
        let at = header.iter().position(|h| *h == name).unwrap();
        row.split(',').nth(at).unwrap().to_string()
    };
    assert_eq!(cell("checkins"), "2", "{csv}");
    assert_eq!(cell("checkin_mean"), "3.00", "{csv}");
    assert!(row.contains("answered 2 of 5 to the check-in"), "{csv}");
    assert!(!csv.contains("missing each other"), "{csv}");

    // Recorded once, with its comment, in the store the coordinator reads.
    let answers = store_answers(dir.path());
    assert_eq!(
        answers,
        [
            ("alan".into(), Some(4), None, "link".into()),
            (
                "grace".into(),
                Some(2),
                Some("we keep missing each other".into()),
                "reply".into()
            ),
        ]
    );

    // Nobody else hears it: no mail to the other person, no log line.
    for path in mails(&outbox, "", "alan@example.org") {
        let eml = std::fs::read_to_string(&path).unwrap();
        assert!(!eml.contains("missing each other"), "{}", path.display());
    }
    for path in mails(&outbox, "", "grace@example.org") {
        let eml = std::fs::read_to_string(&path).unwrap();
        assert!(!eml.contains("4 — well"), "{}", path.display());
    }
    let daemon_log = std::fs::read_to_string(&log).unwrap();
    assert!(daemon_log.contains("check-in answered"), "{daemon_log}");
    for said in [daemon_log, said, again] {
        assert!(!said.contains("missing each other"), "{said}");
        assert!(!said.contains("score"), "{said}");
        assert!(!said.contains("— well"), "{said}");
    }
}

/// `mentord deliver` at a fixed instant, as a mail server's pipe hands `mail` over, and
/// its verdict (taken in at that instant): the exit code and what was said.
fn deliver_at(config: &Path, mail: &[u8], now: &str) -> (i32, String) {
    common::deliver_with(config, mail, &[("MENTORD_NOW", now)])
}

fn alan_line(status: &Value) -> &Value {
    status["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pair"] == "grace-alan")
        .unwrap()
}

/// The answers as the store holds them, read through the library's API the report and
/// the digest use: (person, score, comment, via), by person.
fn store_answers(dir: &Path) -> Vec<(String, Option<u8>, Option<String>, String)> {
    let location = mentord::store::Location::Sqlite(dir.join("mentord.db"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = mentord::store::Store::open(location).await.unwrap();
        let from = jiff::civil::date(2030, 1, 1);
        let until = jiff::civil::date(2031, 1, 1);
        let mut answers: Vec<_> = store
            .checkins(Some("grace-alan"), from, until)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.person, r.score, r.comment, r.via.name().to_string()))
            .collect();
        answers.sort();
        answers
    })
}

/// The store the coordinator's report, digest and pair health read, on SQLite and
/// PostgreSQL alike: one answer per (pair, person, check-in); a later one replaces the
/// score, keeps a comment it does not bring, and a comment without a score keeps the
/// score; `checkins` filters by pair and by the check-in's date, oldest first, and
/// `latest_checkin_scores` gives each person's latest score.
#[test]
fn the_store_keeps_one_answer_per_person_and_checkin_on_both_backends() {
    use jiff::civil::date;
    use mentord::store::{CheckinRecord, CheckinVia, Store};
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (location, _database) in common::postgres::backends(dir.path()) {
        runtime.block_on(async {
            let store = Store::open(location.clone()).await.unwrap();
            let answer =
                |pair: &str, person: &str, on, score, comment: Option<&str>| CheckinRecord {
                    pair: pair.into(),
                    person: person.into(),
                    occurrence: on,
                    score,
                    comment: comment.map(str::to_string),
                    answered_at: "2030-01-14T10:00:00Z".parse().unwrap(),
                    via: CheckinVia::Reply,
                };
            let (first, second) = (date(2030, 1, 14), date(2030, 2, 11));
            for record in [
                answer(
                    "grace-alan",
                    "grace",
                    first,
                    Some(2),
                    Some("we keep missing each other"),
                ),
                // The same check-in again, by link: the score changes, the comment stays.
                CheckinRecord {
                    via: CheckinVia::Link,
                    ..answer("grace-alan", "grace", first, Some(3), None)
                },
                answer("grace-alan", "alan", first, Some(5), None),
                // A comment without a score keeps the score.
                answer("grace-alan", "alan", first, None, Some("great")),
                answer("grace-alan", "grace", second, Some(4), None),
                answer("margaret-linus", "linus", first, Some(1), None),
            ] {
                store.record_checkin(&record).await.unwrap();
            }
            let grace = store
                .checkin("grace-alan", "grace", first)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (grace.score, grace.comment.as_deref(), grace.via),
                (
                    Some(3),
                    Some("we keep missing each other"),
                    CheckinVia::Link
                ),
                "{location:?}"
            );
            let alan = store
                .checkin("grace-alan", "alan", first)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (alan.score, alan.comment.as_deref()),
                (Some(5), Some("great"))
            );
            let january = store
                .checkins(Some("grace-alan"), date(2030, 1, 1), date(2030, 2, 1))
                .await
                .unwrap();
            let seen: Vec<(&str, Option<u8>)> = january
                .iter()
                .map(|r| (r.person.as_str(), r.score))
                .collect();
            assert_eq!(
                seen,
                [("alan", Some(5)), ("grace", Some(3))],
                "{location:?}"
            );
            let all = store
                .checkins(None, date(2030, 1, 1), date(2031, 1, 1))
                .await
                .unwrap();
            assert_eq!(all.len(), 4, "{location:?}");
            assert_eq!(all.last().unwrap().occurrence, second);
            let latest = store.latest_checkin_scores().await.unwrap();
            assert_eq!(latest[&("grace-alan".into(), "grace".into())], (second, 4));
            assert_eq!(
                latest[&("margaret-linus".into(), "linus".into())],
                (first, 1)
            );
            // No score or comment in what a log line would print.
            let printed = format!("{grace:?}");
            assert!(
                !printed.contains("missing") && !printed.contains("score"),
                "{printed}"
            );
        });
    }
}
