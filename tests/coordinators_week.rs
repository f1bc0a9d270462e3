//! The coordinator's week (SPEC §7) through the real binary: `simulate --answers`
//! delivers the people's answers as their clients would, `report.csv` counts what was
//! held and cancelled, and pair health finds the pairs that need the coordinator among
//! the many that do not.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{example, mentord};
use jiff::ToSpan;
use jiff::civil::Date;

/// Runs `simulate` on `config` from `from` until `until` into `out` with `answers`
/// written beside it; (exit code, stderr).
fn simulate(
    config: &Path,
    from: &str,
    until: &str,
    out: &Path,
    answers: &str,
) -> (Option<i32>, String) {
    let file = out.with_extension("jsonl");
    std::fs::write(&file, answers).unwrap();
    let output = mentord()
        .arg("-c")
        .arg(config)
        .args(["simulate", "--from", from, "--until", until, "--out"])
        .arg(out)
        .arg("--answers")
        .arg(&file)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `report.csv` as rows of column → value, by pair.
fn report(out: &Path) -> HashMap<String, HashMap<String, String>> {
    let text = std::fs::read_to_string(out.join("report.csv")).unwrap();
    let mut lines = csv_rows(&text).into_iter();
    let header = lines.next().unwrap();
    lines
        .map(|row| {
            let row: HashMap<String, String> = header.iter().cloned().zip(row).collect();
            (row["pair"].clone(), row)
        })
        .collect()
}

/// A small CSV reader for the test (quoted cells with `""`).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut cell)),
            ('\n', false) => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => cell.push(c),
        }
    }
    rows
}

fn index(out: &Path) -> Vec<serde_json::Value> {
    serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap()
}

/// A quarter of the example with Alan's answers from SPEC §7: an agenda before the
/// reminder (it reaches Grace in the reminder), action items, a declined meeting, a
/// "can't make it" through the link's use case, and Grace's address bouncing. The report
/// counts exactly what happened; the cancelled meetings are cancelled in both calendars.
#[test]
fn a_quarter_of_the_example_with_its_answers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (code, stderr) = simulate(
        Path::new(example()),
        "2027-01-11",
        "2027-04-01",
        &out,
        r#"{"at": "2027-02-08T09:00", "from": "alan", "answer": "agenda", "meeting": "2027-02-09", "text": "My promotion case."}
{"at": "2027-02-09T20:00", "from": "alan", "answer": "action_items", "meeting": "2027-02-09", "text": "Draft the RFC."}

{"at": "2027-02-20T10:00", "from": "alan", "answer": "decline", "meeting": "2027-02-23"}
{"at": "2027-03-05T10:00", "from": "grace", "answer": "bounce"}
{"at": "2027-03-08T18:00", "from": "alan", "answer": "cant_make_it", "meeting": "2027-03-09"}
"#,
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");

    let report = report(&out);
    let alan = &report["grace-alan"];
    for (column, value) in [
        ("planned", "6"),
        ("held", "4"),
        ("cancelled", "2"),
        // 22 hours before the meeting, inside the 24 h notice.
        ("cancelled_late", "1"),
        ("agendas", "1"),
        ("action_items", "1"),
        ("health", "at risk"),
    ] {
        assert_eq!(alan[column], value, "{column}: {alan:?}");
    }
    assert!(
        alan["reasons"].contains("mail to Grace bounces"),
        "{alan:?}"
    );
    assert!(
        alan["reasons"].contains("2 of the last 6 meetings cancelled or declined, 1 of them late"),
        "{alan:?}"
    );
    // Pairs nobody answered for: nothing is known against them.
    assert_eq!(report["margaret-linus"]["health"], "good");
    assert_eq!(report["margaret-linus"]["cancelled"], "0");
    assert_eq!(report["edsger-alan"]["status"], "paused");
    assert_eq!(report["edsger-alan"]["planned"], "0");

    let index = index(&out);
    let cancels: Vec<(&str, &str)> = index
        .iter()
        .filter(|e| e["kind"] == "occurrence_cancel" && e["pair"] == "grace-alan")
        .map(|e| {
            (
                e["recipients"][0].as_str().unwrap(),
                e["file"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(cancels.len(), 4, "two meetings, both people: {cancels:?}");
    // The agenda went into Grace's reminder of 8 February.
    let reminder = index
        .iter()
        .find(|e| {
            e["kind"] == "mentor_reminder"
                && e["pair"] == "grace-alan"
                && e["meeting"] == "2027-02-09T15:00:00Z"
        })
        .unwrap();
    let text = std::fs::read_to_string(out.join(reminder["file"].as_str().unwrap())).unwrap();
    assert!(text.contains("My promotion case."), "{text}");
    // Every message about one meeting names it.
    assert!(
        index
            .iter()
            .filter(|e| e["kind"] == "agenda_prompt")
            .all(|e| e["meeting"].as_str().is_some_and(|m| m.ends_with('Z')))
    );
}

/// A line that answers nothing mentord sent — an agenda for a day without a meeting, a
/// person who is not in the program, an answer nobody knows — stops the simulation with
/// the file and line, exit 1.
#[test]
fn a_line_that_answers_nothing_is_an_error_by_line() {
    let dir = tempfile::tempdir().unwrap();
    for (lines, says) in [
        (
            r#"{"at": "2027-02-08T09:00", "from": "alan", "answer": "agenda", "meeting": "2027-02-09", "text": "ok"}
{"at": "2027-02-10T09:00", "from": "alan", "answer": "agenda", "meeting": "2027-02-10", "text": "no meeting that day"}"#,
            ":2: alan was sent no agenda prompt for the meeting on 2027-02-10",
        ),
        (
            r#"{"at": "2027-02-08T09:00", "from": "alann", "answer": "agenda", "meeting": "2027-02-09"}"#,
            ":1: \"from\": no person \"alann\" in the program; did you mean \"alan\"?",
        ),
        (
            r#"{"at": "2027-02-08T09:00", "from": "alan", "answer": "thanks"}"#,
            ":1: \"answer\": \"thanks\" is not an answer",
        ),
        (
            r#"{"at": "2026-02-08T09:00", "from": "alan", "answer": "review_held"}"#,
            ":1: 2026-02-08T08:00:00Z is outside the simulated time",
        ),
    ] {
        let out = dir.path().join(format!("out{}", says.len()));
        let (code, stderr) = simulate(
            Path::new(example()),
            "2027-01-11",
            "2027-03-01",
            &out,
            lines,
        );
        assert_eq!(code, Some(1), "{lines}: {stderr}");
        assert!(stderr.contains(says), "{says}: {stderr}");
    }
}

/// One hundred pairs meeting weekly for a year, mentees sending agendas and action items
/// as good pairs do; five pairs troubled in different ways: one cancels late again and
/// again, one declines in the calendar, one mentor's address bounces, one pair goes quiet
/// after June, one mentee stops the agenda prompts... (by bounce here: the agenda
/// prompts' unsubscribe is tested in tests/links.rs). Health at the end flags exactly the
/// troubled ones, with the reason that fits each, and `report.csv` counts the held and
/// cancelled meetings exactly.
#[test]
fn a_year_of_a_hundred_pairs_finds_the_troubled_ones() {
    let dir = tempfile::tempdir().unwrap();
    let config = hundred_pairs(dir.path());
    let start: Date = "2030-01-07".parse().unwrap();
    let until: Date = "2031-01-06".parse().unwrap();
    let mut lines = Vec::new();
    let mut expected_cancelled: HashMap<String, usize> = HashMap::new();
    // Meetings: Tuesdays 10:00 UTC from 2030-01-08; prompts Sunday 10:00, follow-ups
    // Tuesday 12:30.
    let mut tuesday = start.checked_add(1.day()).unwrap();
    let mut week = 0;
    while tuesday < until {
        for p in 0..100 {
            let mentee = format!("e{p}");
            let mentor = format!("m{p}");
            let sunday = tuesday.checked_sub(2.days()).unwrap();
            let late_weeks = (40..52).contains(&week) && week % 4 == 0;
            match p {
                // Cancels late: on the morning of the meeting, every fourth week from
                // October.
                0 if late_weeks => {
                    lines.push(format!(
                        r#"{{"at": "{tuesday}T07:00", "from": "{mentee}", "answer": "cant_make_it", "meeting": "{tuesday}"}}"#
                    ));
                    *expected_cancelled
                        .entry(format!("{mentor}-{mentee}"))
                        .or_default() += 1;
                    continue;
                }
                // Declines in the calendar a day before.
                1 if late_weeks => {
                    let monday = tuesday.yesterday().unwrap();
                    lines.push(format!(
                        r#"{{"at": "{monday}T09:00", "from": "{mentor}", "answer": "decline", "meeting": "{tuesday}"}}"#
                    ));
                    *expected_cancelled
                        .entry(format!("{mentor}-{mentee}"))
                        .or_default() += 1;
                    continue;
                }
                // Goes quiet after June.
                3 if week > 26 => continue,
                _ => {}
            }
            lines.push(format!(
                r#"{{"at": "{sunday}T12:00", "from": "{mentee}", "answer": "agenda", "meeting": "{tuesday}", "text": "Week {week}: my next steps."}}"#
            ));
            lines.push(format!(
                r#"{{"at": "{tuesday}T15:00", "from": "{mentee}", "answer": "action_items", "meeting": "{tuesday}", "text": "Do the thing."}}"#
            ));
        }
        if week == 48 {
            lines.push(r#"{"at": "2030-12-02T10:00", "from": "m2", "answer": "bounce"}"#.into());
        }
        tuesday = tuesday.checked_add(7.days()).unwrap();
        week += 1;
    }
    lines.sort_by_key(|l| l[8..24].to_string());
    let out = dir.path().join("out");
    let (code, stderr) = simulate(&config, "2030-01-01", "2031-01-01", &out, &lines.join("\n"));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let report = report(&out);
    assert_eq!(report.len(), 100);

    let troubled: HashMap<&str, &str> = [
        ("m0-e0", "of them late"),
        ("m1-e1", "cancelled or declined"),
        ("m2-e2", "mail to M2 bounces"),
        (
            "m3-e3",
            "nothing heard from either of them since 2030-07-09",
        ),
    ]
    .into_iter()
    .collect();
    let flagged: Vec<&String> = report
        .iter()
        .filter(|(_, row)| row["health"] != "good")
        .map(|(pair, _)| pair)
        .collect();
    let true_positives = flagged
        .iter()
        .filter(|pair| troubled.contains_key(pair.as_str()))
        .count();
    let precision = true_positives as f64 / flagged.len().max(1) as f64;
    let recall = true_positives as f64 / troubled.len() as f64;
    assert!(
        precision >= 0.9 && recall >= 0.9,
        "precision {precision}, recall {recall}: flagged {flagged:?}"
    );
    for (pair, reason) in &troubled {
        assert!(
            report[*pair]["reasons"].contains(reason),
            "{pair}: {:?}",
            report[*pair]
        );
    }
    // Counted exactly: 52 Tuesdays from 2030-01-08 to 2030-12-31.
    for (pair, row) in &report {
        let cancelled = expected_cancelled.get(pair).copied().unwrap_or(0);
        assert_eq!(row["planned"], "52", "{pair}");
        assert_eq!(row["cancelled"], cancelled.to_string(), "{pair}");
        assert_eq!(row["held"], (52 - cancelled).to_string(), "{pair}");
    }
    assert_eq!(report["m0-e0"]["cancelled_late"], "3");
    assert_eq!(report["m5-e5"]["agenda_rate"], "1.00");

    // The Monday digests: never more than 10 pairs, never a healthy one, and by the
    // year's last the four troubled pairs, each with one-click answers (no links
    // without `public_url`: the words are there).
    let digests: Vec<String> = index(&out)
        .iter()
        .filter(|e| e["kind"] == "digest")
        .map(|e| {
            std::fs::read_to_string(out.join(e["file"].as_str().unwrap()))
                .unwrap()
                .replace("=\r\n", "")
        })
        .collect();
    assert_eq!(digests.len(), 52);
    let listed = |digest: &str| -> Vec<String> {
        digest
            .lines()
            .filter_map(|l| l.strip_prefix("- m"))
            .filter_map(|l| l.split_once(':'))
            .map(|(pair, _)| format!("m{pair}"))
            .filter(|pair| pair.contains("-e"))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let mut every_item = 0;
    let mut healthy_items = 0;
    for digest in &digests {
        let pairs = listed(digest);
        assert!(pairs.len() <= 10, "{digest}");
        every_item += pairs.len();
        healthy_items += pairs
            .iter()
            .filter(|p| !troubled.contains_key(p.as_str()))
            .count();
    }
    assert!(
        every_item > 0 && healthy_items * 10 <= every_item,
        "{healthy_items} of {every_item} digest items were healthy pairs"
    );
    let last = listed(digests.last().unwrap());
    for pair in troubled.keys() {
        assert!(last.contains(&pair.to_string()), "{pair} not in {last:?}");
    }
    assert!(
        digests[1].contains("nothing needs you this week"),
        "{}",
        digests[1]
    );
}

/// A weekly program of 100 pairs (mentor `mN`, mentee `eN`) in UTC from 2030-01-07,
/// replies read through `reply_to`, reviews and digests off.
fn hundred_pairs(dir: &Path) -> PathBuf {
    let mut text = String::from(
        r#"[program]
name = "A hundred pairs"
timezone = "UTC"
start = 2030-01-07
end = 2030-12-31
coordinator = "ada"
organizer = { name = "Mentoring", email = "mentoring@example.org" }

[defaults]
every = "week"
on = "tue"
at = "10:00"
duration = "30m"
quiet_hours = "off"
review_every = "off"
digest = "0 8 * * MON"

[mail]
reply_to = "mentoring+{token}@example.org"

[people.ada]
name = "Ada Coordinator"
email = "ada@example.org"
"#,
    );
    for p in 0..100 {
        text.push_str(&format!(
            "\n[people.m{p}]\nname = \"M{p} Mentor\"\nemail = \"m{p}@example.org\"\n\n[people.e{p}]\nname = \"E{p} Mentee\"\nemail = \"e{p}@example.org\"\n"
        ));
    }
    for p in 0..100 {
        text.push_str(&format!(
            "\n[[pairs]]\nmentor = \"m{p}\"\nmentee = \"e{p}\"\n"
        ));
    }
    let config = dir.join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    config
}

/// `mentord report --html`: a page a steering committee opens anywhere — the totals in
/// words, SVG charts, no script — where a name that looks like markup stays text.
#[test]
fn the_html_report_has_charts_no_script_and_inert_names() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(example()).unwrap().replace(
        "name = \"Grace Hopper\"",
        "name = \"Grace <b>Hopper</b> & co\"",
    );
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    let page = dir.path().join("report.html");
    let output = mentord()
        .env("MENTORD_NOW", "2027-04-01T00:00:00Z")
        .arg("-c")
        .arg(&config)
        .args([
            "report",
            "--from",
            "2027-01-01",
            "--until",
            "2027-03-31",
            "--html",
        ])
        .arg(&page)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<svg"), "{html}");
    assert!(!html.to_lowercase().contains("<script"), "{html}");
    assert!(
        html.contains("Grace &lt;b&gt;Hopper&lt;&#x2f;b&gt; &amp; co"),
        "{html}"
    );
    assert!(
        html.contains("Report for 2027-01-01 – 2027-03-31"),
        "{html}"
    );
    assert!(
        html.contains("30 meetings planned for 6 pairs, 30 were held"),
        "{html}"
    );

    // The same record as CSV and as text.
    let csv = mentord()
        .env("MENTORD_NOW", "2027-04-01T00:00:00Z")
        .arg("-c")
        .arg(&config)
        .args([
            "report",
            "--from",
            "2027-01-01",
            "--until",
            "2027-03-31",
            "--csv",
        ])
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.starts_with("pair,mentor,mentee,status,planned,held,cancelled,cancelled_late"));
    assert!(
        csv.contains("grace-alan,Grace <b>Hopper</b> & co,Alan Turing,active,6,6,0,0,"),
        "{csv}"
    );
}

/// `mentord status` tells the coordinator each pair's health with its reasons — in the
/// table, `--json` and `--csv` — from the live store: Linus's address bounces after the
/// daemon's first week, so margaret-linus is at risk and says why; grace-alan is good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_each_pairs_health_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let meeting: jiff::Timestamp = "2030-01-08T10:00:00Z".parse().unwrap();
    let config = common::program_meeting_at(dir.path(), "Health", meeting, "", "");
    let location = mentord::store::Location::Sqlite(dir.path().join("mentord.db"));
    let from: jiff::Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
    let (mut daemon, store) =
        common::virtual_daemon::file_daemon(&config, &location, &dir.path().join("outbox"), from)
            .await;
    common::virtual_daemon::run(&mut daemon, from, meeting).await;
    store.deregister().await.unwrap();
    drop(daemon);
    drop(store);

    // A hard bounce of a mail mentord sent to Linus, as his server returns it.
    let sent = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|mail| {
            mail.lines()
                .any(|l| l.starts_with("To:") && l.contains("<linus@example.org>"))
        })
        .unwrap();
    let id = sent
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .unwrap()
        .to_string();
    let bounce = format!(
        "From: MAILER-DAEMON@example.org\r\nTo: mentoring@example.org\r\nSubject: Undelivered\r\n\
         Message-ID: <bounce-1@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
         --r\r\nContent-Type: text/plain\r\n\r\nNot delivered.\r\n\
         --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
         Final-Recipient: rfc822; linus@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {id}\r\nTo: linus@example.org\r\n\r\n--r--\r\n"
    );
    let (code, said) = common::deliver(&config, bounce.as_bytes());
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("taken in: bounce"), "{said}");

    let status = |format: &[&str]| {
        let output = mentord()
            .env("MENTORD_NOW", "2030-01-09T12:00:00Z")
            .arg("-c")
            .arg(&config)
            .arg("status")
            .args(format)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&status(&["--json"])).unwrap();
    let pairs = json["pairs"].as_array().unwrap();
    let pair = |id: &str| pairs.iter().find(|p| p["pair"] == id).unwrap().clone();
    assert_eq!(pair("margaret-linus")["health"], "at risk", "{json}");
    assert!(
        pair("margaret-linus")["health_reasons"][0]
            .as_str()
            .unwrap()
            .contains("mail to Linus bounces"),
        "{json}"
    );
    assert_eq!(pair("grace-alan")["health"], "good", "{json}");
    let table = status(&[]);
    assert!(table.contains("health: 1 at risk, 0 to watch"), "{table}");
    assert!(table.contains("AT RISK: margaret-linus"), "{table}");
    let csv = status(&["--csv"]);
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",health,health_reasons"),
        "{csv}"
    );
    assert!(csv.contains(",at risk,mail to Linus bounces"), "{csv}");
}

/// The digest's one-click answers, through a live `mentord run` over HTTP: Ada nudges
/// grace-alan (both get a check-in within seconds; a second nudge in the fortnight sends
/// nothing and says so), snoozes and handles it (the store remembers both); a GET changes
/// nothing, and the same link signed for Grace, who is no coordinator, is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinators_answers_nudge_snooze_and_handle() {
    use common::http;
    use mentord::vocab::links::{Action, Claim, Signer};
    const SECRET: &str = "a test secret that is long enough to sign links with";
    let dir = tempfile::tempdir().unwrap();
    let port = http::free_port();
    let meeting: jiff::Timestamp = "2030-01-08T10:00:00Z".parse().unwrap();
    let config = common::program_meeting_at(
        dir.path(),
        "Answers",
        meeting,
        "",
        &format!(
            "[http]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\nsecret_env = \"TEST_LINK_SECRET\"\n"
        ),
    );
    let location = mentord::store::Location::Sqlite(dir.path().join("mentord.db"));
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    let now = jiff::Timestamp::now();
    {
        let store = mentord::store::Store::open(&location).await.unwrap();
        store
            .note_flags(
                now,
                &[(
                    "grace-alan".into(),
                    "at risk".into(),
                    "mail to Grace bounces".into(),
                )],
            )
            .await
            .unwrap();
    }
    let log = dir.path().join("daemon.log");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(&config)
        .arg("run")
        .env("TEST_LINK_SECRET", SECRET)
        .env_remove("MENTORD_NOW")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut daemons = common::Daemons(vec![Some(child)]);
    let signer = Signer::new(SECRET.as_bytes(), &format!("http://127.0.0.1:{port}")).unwrap();
    let path = |action, person: &str| {
        let link = signer.link(&Claim {
            action,
            person: person.into(),
            pair: "grace-alan".into(),
            subject: String::new(),
            expires: now
                .checked_add(jiff::SignedDuration::from_hours(24))
                .unwrap(),
        });
        link[link.find("/a/").unwrap()..].to_string()
    };
    // Wait for the server.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "no server");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let checkins = || {
        std::fs::read_dir(dir.path().join("outbox"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with("checkin-"))
                    .count()
            })
            .unwrap_or(0)
    };

    let nudge = path(Action::Nudge, "ada");
    let shown = http::get(port, &nudge);
    assert_eq!(shown.status, 200, "{shown:?}");
    assert!(shown.body.contains("Nudge the pair"), "{}", shown.body);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(checkins(), 0, "a GET sends nothing");

    let nudged = http::post_form(port, &nudge, "");
    assert!(nudged.body.contains("get a check-in"), "{}", nudged.body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while checkins() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no check-ins after the nudge"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let again = http::post_form(port, &nudge, "");
    assert!(
        again.body.contains("nudged in the last two weeks"),
        "{}",
        again.body
    );

    let refused = http::post_form(port, &path(Action::Snooze, "grace"), "");
    assert_eq!(refused.status, 410, "{refused:?}");

    let snoozed = http::post_form(port, &path(Action::Snooze, "ada"), "");
    assert!(snoozed.body.contains("for two weeks"), "{}", snoozed.body);
    let handled = http::post_form(port, &path(Action::Handled, "ada"), "");
    assert!(
        handled.body.contains("until something new"),
        "{}",
        handled.body
    );
    daemons.stop();

    let store = mentord::store::Store::open(&location).await.unwrap();
    let flags = store.flags().await.unwrap();
    assert_eq!(flags.len(), 1);
    assert!(flags[0].snoozed_until.is_some_and(|until| until > now));
    assert_eq!(flags[0].snoozed_level.as_deref(), Some("at risk"));
    assert_eq!(
        flags[0].handled_reasons.as_deref(),
        Some("mail to Grace bounces")
    );
    assert_eq!(checkins(), 2, "one nudge, one check-in each");
}
