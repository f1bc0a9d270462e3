//! Calendar feeds (SPEC §9), through the real binary on the real clock: `mentord run`
//! with `[http]` sends its invites as files and serves `/ics/…`.
//!
//! Grace mentors Alan and Linus (two weekdays), 16:00 in New York, from today; the
//! sixteen weeks compared start on the next 1 February (`plan` with `MENTORD_NOW`), so
//! they cross the March DST change whatever the day the test runs, and a skip date in
//! them drops one of Alan's meetings. She
//! subscribes to her feed instead of keeping every invite: parsed by Python's
//! `icalendar` + `recurring-ical-events` and, independently, by ical.js (what web
//! calendar clients use), it must give exactly the meetings `mentord
//! plan --json --days 112` gives for her, under the invites' own UIDs and SEQUENCEs, or
//! her calendar and the invites disagree (or show meetings twice); so must Alan's and
//! Linus's, reached by the link in their invites (Linus's is empty once his pair is
//! paused). Polled hourly by
//! thousands, it answers 304 to a client that has it; an edit (a pair paused, a new
//! time) changes it and its ETag, and a new skip date leaves that meeting out under the
//! cancel's SEQUENCE. A leaked address is replaced with `mentord feed
//! reset`: the old one answers the same 404 as any unknown path. The program's feed is
//! the coordinator's, behind the page's password.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::http;
use jiff::Timestamp;

const SECRET: &str = "a test secret that is long enough to sign links with";
const PASSWORD: &str = "correct horse battery staple";

/// The program; `alan` and `linus` are more lines for each of Grace's pairs.
fn program(dir: &Path, port: u16, today: jiff::civil::Date, alan: &str, linus: &str) -> String {
    let skip = skip_date(today);
    format!(
        r#"[program]
name = "Feeds"
timezone = "America/New_York"
start = {today}
coordinator = "ada"
organizer = {{ name = "Mentoring", email = "mentoring@example.org" }}
skip = [{skip}]

[defaults]
every = "week"
on = "{weekday}"
at = "16:00"
duration = "45m"
quiet_hours = "off"
digest = "off"

[store]
url = "sqlite://{db}"

[mail]
transport = "file"
dir = "{outbox}"

[http]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
secret_env = "TEST_FEED_SECRET"
password_env = "TEST_FEED_PASSWORD"

{people}
[[pairs]]
mentor = "grace"
mentee = "alan"
{alan}
[[pairs]]
mentor = "grace"
mentee = "linus"
on = "{thursday}"
{linus}"#,
        weekday = today.strftime("%a").to_string().to_lowercase(),
        thursday = (today + jiff::Span::new().days(2))
            .strftime("%a")
            .to_string()
            .to_lowercase(),
        people = common::TWO_PAIRS
            .split("[[pairs]]")
            .next()
            .unwrap()
            .trim_end(),
        db = dir.join("mentord.db").display(),
        outbox = dir.join("outbox").display(),
    )
}

/// Where the sixteen weeks compared start: the next 1 February (today in February),
/// so the March DST change is in them.
fn window_start(today: jiff::civil::Date) -> jiff::civil::Date {
    let february = jiff::civil::date(today.year(), 2, 1);
    if today >= february && today < jiff::civil::date(today.year(), 3, 1) {
        today
    } else if today < february {
        february
    } else {
        jiff::civil::date(today.year() + 1, 2, 1)
    }
}

/// A day of Alan's (today's weekday) three weeks into the window.
fn skip_date(today: jiff::civil::Date) -> jiff::civil::Date {
    let mut day = window_start(today) + jiff::Span::new().days(14);
    while day.weekday() != today.weekday() {
        day = day.tomorrow().unwrap();
    }
    day
}

/// `mentord -c CONFIG` with the program's secrets in its environment.
fn mentord(config: &Path) -> assert_cmd::Command {
    let mut command = common::mentord();
    command
        .arg("-c")
        .arg(config)
        .env("TEST_FEED_SECRET", SECRET)
        .env("TEST_FEED_PASSWORD", PASSWORD);
    command
}

/// The outbox's `.eml` files of `kind`.
fn emls(outbox: &Path, kind: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(outbox) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{kind}-")))
        })
        .collect();
    found.sort();
    found
}

fn wait_for(outbox: &Path, kind: &str, count: usize) -> Vec<PathBuf> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = emls(outbox, kind);
        if found.len() >= count {
            return found;
        }
        assert!(Instant::now() < deadline, "fewer than {count} {kind} mails");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// (UID, SEQUENCE) of each invite's calendar part, as Python's email package reads it.
fn invite_identities(files: &[PathBuf]) -> BTreeSet<(String, u32)> {
    files
        .iter()
        .map(|file| {
            let mail = common::read_eml(file);
            let ics = mail["calendar"].as_str().unwrap().replace("\r\n ", "");
            let field = |name: &str| {
                ics.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .unwrap()
                    .trim()
                    .to_string()
            };
            (field("UID:"), field("SEQUENCE:").parse().unwrap())
        })
        .collect()
}

/// The mails among `files` to `email`.
fn to(files: &[PathBuf], email: &str) -> Vec<PathBuf> {
    (files.iter())
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .any(|l| l.starts_with("To:") && l.contains(&format!("<{email}>")))
        })
        .cloned()
        .collect()
}

/// The feed a mail links (its text part's `http://127.0.0.1:PORT/ics/TOKEN.ics`): the path.
fn linked_feed(file: &Path, port: u16) -> String {
    let mail = common::read_eml(file);
    let text = mail["text"].as_str().unwrap();
    let prefix = format!("http://127.0.0.1:{port}");
    let start = text.find(&format!("{prefix}/ics/")).unwrap() + prefix.len();
    let end = start + text[start..].find(".ics").unwrap() + ".ics".len();
    text[start..end].to_string()
}

/// The feed at `path` once `ready` says it is (within 30 seconds; `late` says what
/// did not happen otherwise).
fn feed_once(
    port: u16,
    path: &str,
    late: &str,
    ready: impl Fn(&http::Response) -> bool,
) -> http::Response {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = http::get(port, path);
        if ready(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "{late}: {}", now.body);
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `plan --json --days 112`: `person`'s meetings' starts.
fn planned(config: &Path, today: jiff::civil::Date, person: &str) -> BTreeSet<Timestamp> {
    let from = jiff::tz::TimeZone::get("America/New_York")
        .unwrap()
        .to_ambiguous_timestamp(window_start(today).at(0, 0, 0, 0))
        .compatible()
        .unwrap();
    let output = mentord(config)
        .env("MENTORD_NOW", from.to_string())
        .args(["plan", "--json", "--days", "112"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    lines
        .iter()
        .filter(|l| l["kind"] == "meeting")
        .filter(|l| l["to"].as_array().unwrap().iter().any(|p| p == person))
        .map(|l| l["at"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// The new feed path `feed reset grace` prints (`/ics/TOKEN.ics`), checking its
/// webcal:// twin.
fn reset(config: &Path, port: u16) -> String {
    let output = mentord(config)
        .args(["feed", "reset", "grace"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let prefix = format!("http://127.0.0.1:{port}");
    let https = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(&prefix))
        .unwrap()
        .to_string();
    assert!(
        text.contains(&format!("webcal://127.0.0.1:{port}{https}")),
        "{text}"
    );
    assert!(
        https.starts_with("/ics/") && https.ends_with(".ics"),
        "{https}"
    );
    https
}

/// The feed's meetings agree with the plan, over its whole window, and carry the UIDs
/// and SEQUENCEs of `invites`.
fn agrees_with_plan(
    config: &Path,
    today: jiff::civil::Date,
    person: &str,
    feed: &str,
    invites: &BTreeSet<(String, u32)>,
) {
    let plan = planned(config, today, person);
    if plan.is_empty() {
        assert!(!feed.contains("BEGIN:VEVENT"), "{person}: {feed}");
        return;
    }
    let (first, last) = (*plan.first().unwrap(), *plan.last().unwrap());
    let [python, icaljs] = common::feeds::expanded_by_both(feed, first, last);
    for (parser, meetings) in [("python", &python), ("ical.js", &icaljs)] {
        let starts: BTreeSet<Timestamp> = meetings.iter().map(|m| m.0).collect();
        assert_eq!(
            starts.len(),
            meetings.len(),
            "{parser}: a meeting twice: {meetings:?}"
        );
        assert_eq!(starts, plan, "{parser}");
        let identities: BTreeSet<(String, u32)> =
            meetings.iter().map(|m| (m.1.clone(), m.2)).collect();
        assert_eq!(&identities, invites, "{parser}");
    }
    assert_eq!(python, icaljs, "the two parsers disagree");
}

#[test]
fn a_persons_feed_is_their_plan_under_the_invites_identities() {
    let dir = tempfile::tempdir().unwrap();
    let port = http::free_port();
    let new_york = jiff::tz::TimeZone::get("America/New_York").unwrap();
    #[allow(clippy::disallowed_methods)] // the daemon runs on the real clock
    let today = new_york.to_datetime(Timestamp::now()).date();
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, program(dir.path(), port, today, "", "")).unwrap();
    let outbox = dir.path().join("outbox");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(&config)
        .arg("run")
        .env("TEST_FEED_SECRET", SECRET)
        .env("TEST_FEED_PASSWORD", PASSWORD)
        .env("RUST_LOG", "warn")
        .env_remove("MENTORD_NOW")
        .stderr(std::fs::File::create(dir.path().join("run.log")).unwrap())
        .spawn()
        .unwrap();
    let mut daemon = common::Daemons(vec![Some(child)]);
    let invites = wait_for(&outbox, "invite", 4);
    let sent = invite_identities(&invites);
    assert_eq!(sent.len(), 2, "one series per pair: {sent:?}");

    // Her feed: a publication, private, with a validator; exactly her plan.
    let path = reset(&config, port);
    let feed = http::get(port, &path);
    assert_eq!(feed.status, 200, "{}", feed.body);
    assert_eq!(
        feed.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    assert_eq!(feed.header("cache-control"), Some("private"));
    assert!(feed.body.contains("METHOD:PUBLISH\r\n"));
    assert!(
        feed.body
            .contains("BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n")
    );
    let plan = planned(&config, today, "grace");
    assert!(plan.len() >= 30, "sixteen weeks of two pairs: {plan:?}");
    let offsets: BTreeSet<_> = plan.iter().map(|t| new_york.to_offset(*t)).collect();
    assert_eq!(offsets.len(), 2, "the window crosses a DST change");
    agrees_with_plan(&config, today, "grace", &feed.body, &sent);
    // Alan and Linus follow the link in their invites: each feed is exactly their plan.
    let mut theirs = Vec::new();
    for (person, email) in [("alan", "alan@example.org"), ("linus", "linus@example.org")] {
        let invite = to(&invites, email);
        let own = linked_feed(&invite[0], port);
        let feed = http::get(port, &own);
        assert_eq!(feed.status, 200, "{person}: {}", feed.body);
        let identities = invite_identities(&invite);
        agrees_with_plan(&config, today, person, &feed.body, &identities);
        theirs.push((person, email, own));
    }
    let skipped = skip_date(today);
    assert!(
        feed.body.contains(&format!(
            "EXDATE;TZID=America/New_York:{}T160000\r\n",
            skipped.strftime("%Y%m%d")
        )),
        "the skip date is left out: {}",
        feed.body
    );
    let skipped_at = new_york
        .to_ambiguous_timestamp(skipped.at(16, 0, 0, 0))
        .compatible()
        .unwrap();
    assert!(!plan.contains(&skipped_at) && plan.first() < Some(&skipped_at));

    // The coordinator's feed, read now: what it shows after the edits below is not
    // what was computed (and kept) now.
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("coordinator:{PASSWORD}")
        )
    );
    let before = http::request(
        port,
        "GET",
        "/ics/program.ics",
        &[("Authorization", &basic)],
        b"",
    );
    assert_eq!(before.status, 200);
    assert_eq!(before.body.matches("BEGIN:VEVENT").count(), 2);

    // A client that has it gets 304, with the same validator.
    let etag = feed.header("etag").unwrap().to_string();
    let again = http::request(port, "GET", &path, &[("If-None-Match", &etag)], b"");
    assert_eq!(again.status, 304);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert!(again.body.is_empty());

    // An edit: Linus's pair paused, Alan's moved to 17:00. The feed follows the
    // invites: Linus's series gone, Alan's under the update's SEQUENCE, a new ETag.
    let edited = program(
        dir.path(),
        port,
        today,
        "at = \"17:00\"\n",
        "status = \"paused\"\n",
    );
    std::fs::write(&config, edited).unwrap();
    let updates = wait_for(&outbox, "invite_update", 2);
    wait_for(&outbox, "invite_cancel", 2);
    let changed = feed_once(port, &path, "the feed did not change", |now| {
        now.header("etag") != Some(etag.as_str()) && !now.body.contains("Linus")
    });
    assert_eq!(changed.status, 200);
    agrees_with_plan(
        &config,
        today,
        "grace",
        &changed.body,
        &invite_identities(&updates),
    );
    let stale = http::request(port, "GET", &path, &[("If-None-Match", &etag)], b"");
    assert_eq!(stale.status, 200, "an old ETag gets the new feed");
    // Alan's at the new time, under his update's SEQUENCE; Linus's (paused) empty.
    for (person, email, own) in &theirs {
        let now = feed_once(port, own, "their feed did not change", |now| {
            now.body.contains("T170000") || !now.body.contains("BEGIN:VEVENT")
        });
        let identities = invite_identities(&to(&updates, email));
        agrees_with_plan(&config, today, person, &now.body, &identities);
    }

    // One more skip date: a cancel of that one meeting (SEQUENCE + 1) goes out, and the
    // feed leaves that meeting out under the cancel's SEQUENCE.
    let second = skipped + jiff::Span::new().days(7);
    let skipping = program(
        dir.path(),
        port,
        today,
        "at = \"17:00\"\n",
        "status = \"paused\"\n",
    )
    .replace(
        &format!("skip = [{skipped}]"),
        &format!("skip = [{skipped}, {second}]"),
    );
    std::fs::write(&config, skipping).unwrap();
    let cancels = wait_for(&outbox, "occurrence_cancel", 2);
    let exdate = format!("{}T170000", second.strftime("%Y%m%d"));
    let changed = feed_once(port, &path, "the feed kept the meeting", |now| {
        now.body.contains(&exdate)
    });
    agrees_with_plan(
        &config,
        today,
        "grace",
        &changed.body,
        &invite_identities(&cancels),
    );

    // A reset: the old address answers what any unknown path answers; the new one works.
    let unknown = http::get(port, "/ics/not-a-token.ics");
    let fresh = reset(&config, port);
    assert_ne!(fresh, path);
    let old = http::get(port, &path);
    assert_eq!((old.status, &old.body), (404, &unknown.body));
    assert_eq!(
        (old.status, &old.body),
        (404, &http::get(port, "/nothing").body)
    );
    let new = http::get(port, &fresh);
    assert_eq!((new.status, &new.body), (200, &changed.body));

    // The program's feed: the coordinator's password, or 401.
    let refused = http::get(port, "/ics/program.ics");
    assert_eq!(refused.status, 401);
    assert!(!refused.body.contains("BEGIN:VCALENDAR"));
    let all = http::request(
        port,
        "GET",
        "/ics/program.ics",
        &[("Authorization", &basic)],
        b"",
    );
    assert_eq!(all.status, 200);
    assert_eq!(
        all.body.matches("BEGIN:VEVENT").count(),
        1,
        "the active pair only"
    );
    assert!(all.body.contains("Alan Turing") && !all.body.contains("Linus"));

    daemon.stop();
}

/// A coordinator who mistypes a name when replacing a leaked feed address is told who
/// they may have meant, and nothing is changed (exit 2, like any usage error).
#[test]
fn resetting_an_unknown_persons_feed_suggests_the_right_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mentord.toml");
    let today = jiff::civil::date(2030, 1, 7);
    std::fs::write(&config, program(dir.path(), 8025, today, "", "")).unwrap();
    let output = mentord(&config)
        .args(["feed", "reset", "gracee"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("no person \"gracee\""), "{said}");
    assert!(said.contains("did you mean \"grace\"?"), "{said}");
    assert!(output.stdout.is_empty());
    assert!(
        !dir.path().join("mentord.db").exists(),
        "nothing was opened"
    );
}
