//! Invites and agenda prompts link the person's calendar feed (SPEC §9), through the
//! real binary on the real clock: `mentord run` with `[http]` writes its mail as files.
//!
//! Linus lost his invite, or his calendar hides invites from senders it does not know.
//! The invite and this week's agenda prompt both say "add all your mentoring meetings
//! to your calendar" with his own feed, as an `https://` address and its `webcal://`
//! form beside it; Alan's mail carries Alan's, another address. Fetched from the live
//! daemon, Linus's address answers his feed: a calendar named for him that parsers read
//! (Python's `icalendar` and ical.js), holding his meeting under his invite's UID.
//! Then he can't make this week's meeting: he presses the prompt's link, and within a
//! minute his feed (and its ETag) no longer has that meeting, under the cancel's
//! SEQUENCE, as his calendar app will see on its next poll.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::http;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

const SECRET: &str = "a test secret that is long enough to sign links with";

fn program(meeting: Timestamp, dir: &Path, port: u16) -> String {
    let zoned = meeting.to_zoned_datetime(TimeZone::UTC);
    format!(
        r#"[program]
name = "Feed links"
timezone = "UTC"
start = {date}
coordinator = "ada"
organizer = {{ name = "Mentoring", email = "mentoring@example.org" }}

[defaults]
every = "week"
on = "{weekday}"
at = "{at}"
duration = "30m"
agenda_before = "2h"
reminder_before = "1m"
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

{two_pairs}"#,
        two_pairs = common::TWO_PAIRS,
        date = zoned.date(),
        weekday = zoned.strftime("%a").to_string().to_lowercase(),
        at = zoned.strftime("%H:%M"),
        db = dir.join("mentord.db").display(),
        outbox = dir.join("outbox").display(),
    )
}

/// The first `.eml` of `kind` to `to`, within 30 seconds, as Python's email reads it.
fn mail(outbox: &Path, kind: &str, to: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found: Option<PathBuf> = std::fs::read_dir(outbox).ok().and_then(|entries| {
            entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{kind}-")))
                    && std::fs::read_to_string(p)
                        .unwrap()
                        .lines()
                        .any(|l| l.starts_with("To:") && l.contains(&format!("<{to}>")))
            })
        });
        if let Some(found) = found {
            return common::read_eml(&found);
        }
        assert!(Instant::now() < deadline, "no {kind} to {to}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every address in `text` starting with `prefix`, up to the first character no
/// address here has.
fn addresses(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let after = &rest[at..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || "/-_.:".contains(c)))
            .unwrap_or(after.len());
        out.push(after[..end].to_string());
        rest = &after[end..];
    }
    out
}

/// The feed a mail links under `base` (`http://host:port`): its path
/// (`/ics/TOKEN.ics`), checked to be there in both forms, in the text part and as links
/// of the HTML part.
fn feed_of(mail: &serde_json::Value, base: &str) -> String {
    let text = mail["text"].as_str().unwrap();
    let html = mail["html"].as_str().unwrap();
    let host = base.split_once("://").unwrap().1;
    let https: Vec<String> = addresses(text, &format!("{base}/ics/"));
    let webcal: Vec<String> = addresses(text, &format!("webcal://{host}/ics/"));
    assert!(!https.is_empty() && !webcal.is_empty(), "{text}");
    let path = https[0][base.len()..].to_string();
    assert!(
        path.ends_with(".ics") && path.len() > "/ics/.ics".len() + 30,
        "{path}"
    );
    assert!(https.iter().all(|a| a.ends_with(&path)), "{text}");
    assert!(webcal.iter().all(|a| a.ends_with(&path)), "{text}");
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words
            .to_lowercase()
            .contains("add all your mentoring meetings to your calendar"),
        "{text}"
    );
    assert!(
        html.contains(&format!("href=\"webcal://{host}{path}\"")),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"{base}{path}\"")), "{html}");
    path
}

/// The UID and SEQUENCE of a calendar mail's part.
fn identity(mail: &serde_json::Value) -> (String, u32) {
    let ics = mail["calendar"].as_str().unwrap().replace("\r\n ", "");
    let field = |name: &str| {
        ics.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .to_string()
    };
    (field("UID:"), field("SEQUENCE:").parse().unwrap())
}

#[test]
fn invites_and_prompts_link_the_persons_feed_which_follows_cant_make_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = http::free_port();
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    let now = Timestamp::now();
    let meeting = Timestamp::from_second(
        now.checked_add(SignedDuration::from_mins(3))
            .unwrap()
            .as_second()
            / 60
            * 60,
    )
    .unwrap();
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, program(meeting, dir.path(), port)).unwrap();
    let outbox = dir.path().join("outbox");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(&config)
        .arg("run")
        .env("TEST_FEED_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .env_remove("MENTORD_NOW")
        .stderr(std::fs::File::create(dir.path().join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    let mut daemons = common::Daemons(vec![Some(child)]);

    // Linus's invite and prompt link his feed; Alan's link another.
    let invite = mail(&outbox, "invite", "linus@example.org");
    let prompt = mail(&outbox, "agenda_prompt", "linus@example.org");
    let base = format!("http://127.0.0.1:{port}");
    let path = feed_of(&invite, &base);
    assert_eq!(feed_of(&prompt, &base), path, "the same feed in both");
    let alans = feed_of(&mail(&outbox, "agenda_prompt", "alan@example.org"), &base);
    assert_ne!(alans, path);

    // The address answers his feed: named for him, his meeting under his invite's UID.
    let feed = http::get(port, &path);
    assert_eq!(feed.status, 200, "{}", feed.body);
    assert!(
        feed.body
            .contains("X-WR-CALNAME:Feed links (Linus Torvalds)\r\n"),
        "{}",
        feed.body
    );
    let week = meeting
        .checked_add(SignedDuration::from_hours(24 * 7))
        .unwrap();
    let (uid, sequence) = identity(&invite);
    for meetings in common::feeds::expanded_by_both(&feed.body, meeting, week) {
        assert_eq!(
            meetings,
            vec![
                (meeting, uid.clone(), sequence),
                (week, uid.clone(), sequence)
            ]
        );
    }
    let etag = feed.header("etag").unwrap().to_string();

    // He can't make this week's: his feed leaves it out within the minute, under the
    // cancel's SEQUENCE, with a new ETag.
    let cant_make_it = addresses(
        prompt["text"].as_str().unwrap(),
        &format!("http://127.0.0.1:{port}/a/"),
    );
    // The agenda form's link comes first, then "can't make it".
    let done = http::post_form(
        port,
        &cant_make_it[1][format!("http://127.0.0.1:{port}").len()..],
        "",
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Cancelled"), "{}", done.body);
    let cancel = mail(&outbox, "occurrence_cancel", "linus@example.org");
    let (_, cancelled) = identity(&cancel);
    assert!(cancelled > sequence);
    let deadline = Instant::now() + Duration::from_secs(60);
    let changed = loop {
        let now = http::get(port, &path);
        if now.header("etag") != Some(etag.as_str()) {
            break now;
        }
        assert!(Instant::now() < deadline, "the feed still has the meeting");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(changed.status, 200);
    for meetings in common::feeds::expanded_by_both(&changed.body, meeting, week) {
        assert_eq!(meetings, vec![(week, uid.clone(), cancelled)]);
    }
    let stale = http::request(port, "GET", &path, &[("If-None-Match", &etag)], b"");
    assert_eq!(stale.status, 200, "the old ETag gets the new feed");

    daemons.stop();
}

/// A coordinator previews a term with `simulate`: the invites and prompts show the feed
/// links people will get, each person's own, the same in every run (made with the
/// simulation's key, never stored or served), so two previews can be compared.
#[test]
fn a_simulation_shows_the_same_feed_links_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let meeting: Timestamp = "2030-01-07T10:00:00Z".parse().unwrap();
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, program(meeting, dir.path(), 8025)).unwrap();
    let run = |out: &str| {
        let out = dir.path().join(out);
        let status = common::mentord()
            .arg("-c")
            .arg(&config)
            .args([
                "simulate",
                "--from",
                "2030-01-01",
                "--until",
                "2030-01-15",
                "--out",
            ])
            .arg(&out)
            .env("TEST_FEED_SECRET", SECRET)
            .output()
            .unwrap();
        assert!(status.status.success(), "{status:?}");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
    };
    let (first, second) = (run("first"), run("second"));
    // Each mail of `kind` about `pair`, as Python's email reads it.
    let named = |kind: &str, pair: &str| -> Vec<serde_json::Value> {
        (first.iter())
            .filter(|f| {
                let name = f.file_name().unwrap().to_string_lossy().to_string();
                name.contains(&format!("-{kind}-{pair}"))
            })
            .map(|f| common::read_eml(f))
            .collect()
    };
    let base = "http://127.0.0.1:8025";
    let prompt = named("agenda_prompt", "margaret-linus").remove(0);
    let invite = (named("invite", "margaret-linus").into_iter())
        .find(|m| m["to"] == prompt["to"])
        .unwrap();
    let linus = feed_of(&prompt, base);
    assert_eq!(feed_of(&invite, base), linus);
    let alan = named("agenda_prompt", "grace-alan").remove(0);
    assert_ne!(feed_of(&alan, base), linus);
    assert_eq!(first.len(), second.len());
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(
            std::fs::read(a).unwrap(),
            std::fs::read(b).unwrap(),
            "{a:?}"
        );
    }
}
