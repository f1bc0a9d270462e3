//! Action links in mail (SPEC §6), through the real binary on the real clock: `mentord
//! run` with `[http]` writes its mail as files; the links are taken from those `.eml`
//! files and followed over HTTP.
//!
//! - A GET changes nothing (`status --json` is the same before and after), as mail
//!   scanners fetch every link; only the POST acts, once: a replay changes nothing and
//!   says so.
//! - An altered byte gets 403, an expired token 410; neither changes anything.
//! - "Can't make it" sends the two `CANCEL`s with `RECURRENCE-ID` (read by Python's
//!   email and icalendar packages), and that meeting's reminder never goes.
//! - One-click unsubscribe (RFC 8058: `List-Unsubscribe` + `List-Unsubscribe-Post`, a POST
//!   with exactly `List-Unsubscribe=One-Click`) is recorded for that person and kind.
//! - The agenda written in the form reaches the mentor's reminder.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::http;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mentord::vocab::links::{Action, Claim, Signer};

const SECRET: &str = "a test secret that is long enough to sign links with";

fn program(meeting: Timestamp, dir: &Path, port: u16) -> String {
    let zoned = meeting.to_zoned_datetime(TimeZone::UTC);
    format!(
        r#"[program]
name = "Links"
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
secret_env = "TEST_LINK_SECRET"

{two_pairs}"#,
        two_pairs = common::TWO_PAIRS,
        date = zoned.date(),
        weekday = zoned.strftime("%a").to_string().to_lowercase(),
        at = zoned.strftime("%H:%M"),
        db = dir.join("mentord.db").display(),
        outbox = dir.join("outbox").display(),
    )
}

/// `.eml` files of one kind to one address.
fn emls(outbox: &Path, kind: &str, to: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(outbox) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{kind}-")))
        })
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .any(|l| l.starts_with("To:") && l.contains(&format!("<{to}>")))
        })
        .collect()
}

fn wait_for(outbox: &Path, kind: &str, to: &str, limit: Duration) -> PathBuf {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = emls(outbox, kind, to).into_iter().next() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} to {to} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The paths of the action links (`/a/…`, `/u/…`) in a mail's text part, in order: not
/// the person's calendar feed (`/ics/…`, tests/feed_links.rs).
fn link_paths(mail: &serde_json::Value, port: u16) -> Vec<String> {
    let text = mail["text"].as_str().unwrap();
    let prefix = format!("http://127.0.0.1:{port}");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(&prefix) {
        let after = &rest[at + prefix.len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || "/-_.".contains(c)))
            .unwrap_or(after.len());
        if !after.starts_with("/ics/") {
            out.push(after[..end].to_string());
        }
        rest = &after[end..];
    }
    out
}

fn status(config: &Path) -> serde_json::Value {
    let output = common::mentord()
        .arg("-c")
        .arg(config)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let mut json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // What moves by itself between two readings.
    json["now"] = serde_json::Value::Null;
    json["daemons"] = serde_json::Value::Null;
    json
}

#[test]
fn links_act_on_post_only_once_and_never_when_forged_or_expired() {
    let dir = tempfile::tempdir().unwrap();
    let port = http::free_port();
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    let meeting = Timestamp::from_second(
        Timestamp::now()
            .checked_add(SignedDuration::from_mins(3))
            .unwrap()
            .as_second()
            / 60
            * 60,
    )
    .unwrap();
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, program(meeting, dir.path(), port)).unwrap();
    let outbox = dir.path().join("outbox");
    let log = dir.path().join("daemon.log");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(&config)
        .arg("run")
        .env("TEST_LINK_SECRET", SECRET)
        .env("RUST_LOG", "info")
        .env_remove("MENTORD_NOW")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut daemons = common::Daemons(vec![Some(child)]);

    // The prompts carry their links and RFC 8058's headers.
    let to_linus = common::read_eml(&wait_for(
        &outbox,
        "agenda_prompt",
        "linus@example.org",
        Duration::from_secs(30),
    ));
    let to_alan = common::read_eml(&wait_for(
        &outbox,
        "agenda_prompt",
        "alan@example.org",
        Duration::from_secs(30),
    ));
    let headers = &to_linus["headers"];
    let unsubscribe_header = headers["List-Unsubscribe"]
        .as_str()
        .unwrap_or_else(|| panic!("{headers}"));
    assert!(
        unsubscribe_header.contains(&format!("<http://127.0.0.1:{port}/u/")),
        "{unsubscribe_header}"
    );
    assert!(
        unsubscribe_header.contains("<mailto:mentoring@example.org?subject=unsubscribe"),
        "{unsubscribe_header}"
    );
    assert_eq!(
        headers["List-Unsubscribe-Post"],
        "List-Unsubscribe=One-Click"
    );
    let linus_links = link_paths(&to_linus, port);
    let alan_links = link_paths(&to_alan, port);
    // The agenda form, "can't make it", and the unsubscribe link, in that order.
    assert_eq!(
        linus_links.len(),
        3,
        "{linus_links:?} in {}",
        to_linus["text"]
    );
    let (cancel, unsubscribe) = (&linus_links[1], &alan_links[2]);
    assert!(cancel.starts_with("/a/") && unsubscribe.starts_with("/u/"));

    // A GET (a mail scanner's) changes nothing.
    let before = status(&config);
    for path in linus_links.iter().chain(&alan_links) {
        let page = http::get(port, path);
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(
            page.body.contains("<form method=\"post\">"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("<script"), "{}", page.body);
    }
    assert_eq!(status(&config), before, "a GET changed something");

    // An altered byte, and a token that expired: refused, nothing changed.
    let mut altered = cancel.clone().into_bytes();
    let last = altered.len() - 3;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    assert_eq!(http::post_form(port, &altered, "").status, 403);
    let signer = Signer::new(SECRET.as_bytes(), &format!("http://127.0.0.1:{port}")).unwrap();
    let expired = signer.link(&Claim {
        action: Action::CantMakeIt,
        person: "linus".into(),
        pair: "margaret-linus".into(),
        subject: meeting.to_string(),
        expires: "2020-01-01T00:00:00Z".parse().unwrap(),
    });
    let expired = &expired[expired.find("/a/").unwrap()..];
    assert_eq!(http::get(port, expired).status, 410);
    assert_eq!(http::post_form(port, expired, "").status, 410);
    assert_eq!(http::post_form(port, "/a/garbage", "").status, 403);
    assert_eq!(status(&config), before, "a refused link changed something");

    // Alan writes his agenda in the form.
    let agenda = &alan_links[0];
    let written = http::post_form(port, agenda, "text=Ship+the+runbook%0AReview+date%3F");
    assert_eq!(written.status, 200, "{}", written.body);
    let again = http::post_form(port, agenda, "text=Ship+the+runbook%0AReview+date%3F");
    assert!(again.body.contains("Already received"), "{}", again.body);

    // Linus can't make it: POST once, and again.
    let done = http::post_form(port, cancel, "");
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Cancelled"), "{}", done.body);
    let replay = http::post_form(port, cancel, "");
    assert_eq!(replay.status, 200);
    assert!(replay.body.contains("Already cancelled"), "{}", replay.body);
    let recurrence = meeting
        .to_zoned_datetime(TimeZone::UTC)
        .strftime("%Y%m%dT%H%M%S")
        .to_string();
    for to in ["margaret@example.org", "linus@example.org"] {
        let cancel = common::read_eml(&wait_for(
            &outbox,
            "occurrence_cancel",
            to,
            Duration::from_secs(20),
        ));
        let calendar = cancel["calendar"]
            .as_str()
            .unwrap_or_else(|| panic!("{cancel}"));
        assert!(calendar.contains("METHOD:CANCEL"), "{calendar}");
        // libical's iTIP check, as for every invite.
        let ics = dir.path().join(format!("cancel-{to}.ics"));
        std::fs::write(&ics, calendar).unwrap();
        let checked = std::process::Command::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/ical/libical_check"
        ))
        .arg(&ics)
        .output()
        .unwrap();
        assert!(
            checked.status.success(),
            "libical: {}",
            String::from_utf8_lossy(&checked.stdout)
        );
        assert!(
            calendar.contains(&format!("RECURRENCE-ID;TZID=UTC:{recurrence}")),
            "{calendar}"
        );
    }

    // One-click unsubscribe, exactly as RFC 8058 has the client send it.
    let one_click = http::request(
        port,
        "POST",
        unsubscribe,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"List-Unsubscribe=One-Click",
    );
    assert_eq!(one_click.status, 200, "{}", one_click.body);
    assert!(
        one_click.body.contains("Unsubscribed"),
        "{}",
        one_click.body
    );
    let again = http::post_form(port, unsubscribe, "List-Unsubscribe=One-Click");
    assert!(
        again.body.contains("Already unsubscribed"),
        "{}",
        again.body
    );

    // Grace's reminder carries the agenda from the form; Margaret's never goes.
    let reminder = common::read_eml(&wait_for(
        &outbox,
        "mentor_reminder",
        "grace@example.org",
        Duration::from_secs(200),
    ));
    let text = reminder["text"].as_str().unwrap().replace("\r\n", "\n");
    assert!(text.contains("Ship the runbook\nReview date?"), "{text}");
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    while Timestamp::now() < meeting.checked_add(SignedDuration::from_secs(5)).unwrap() {
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        emls(&outbox, "mentor_reminder", "margaret@example.org").is_empty(),
        "a reminder for a cancelled meeting went out"
    );
    daemons.stop();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(!log.contains(SECRET), "the secret reached the log");
    assert!(
        !log.contains("Ship the runbook"),
        "agenda text reached the log"
    );
}

/// `check` refuses `[http]` settings that cannot work: a public URL that is not https
/// (except on loopback), a secret missing or shorter than 32 bytes.
#[test]
fn check_refuses_links_that_cannot_work() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mentord.toml");
    #[allow(clippy::disallowed_methods)] // any time will do
    let text = program(Timestamp::now(), dir.path(), 8025);
    let check = |text: &str, secret: Option<&str>| {
        std::fs::write(&config, text).unwrap();
        let mut command = common::mentord();
        command.arg("-c").arg(&config).arg("check");
        match secret {
            Some(secret) => command.env("TEST_LINK_SECRET", secret),
            None => command.env_remove("TEST_LINK_SECRET"),
        };
        let output = command.output().unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    assert_eq!(check(&text, Some(SECRET)).0, 0);
    let (code, said) = check(&text, Some("too short"));
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("at least 32"), "{said}");
    let (code, said) = check(&text, None);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("TEST_LINK_SECRET"), "{said}");
    let plain = text.replace(
        "public_url = \"http://127.0.0.1:8025\"",
        "public_url = \"http://mentoring.example.org\"",
    );
    let (code, said) = check(&plain, Some(SECRET));
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("is not https"), "{said}");
    let unsigned = text.replace("secret_env = \"TEST_LINK_SECRET\"\n", "");
    let (code, said) = check(&unsigned, Some(SECRET));
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("no key to sign links"), "{said}");
}

/// Every instance on a shared PostgreSQL store serves every link: what one did, the
/// other knows (the state is in the store, the key in the environment of both).
#[test]
fn two_instances_serve_the_same_links() {
    let Some(database) = common::postgres::database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    #[allow(clippy::disallowed_methods)] // the daemons under test run on the real clock
    let meeting = Timestamp::from_second(
        Timestamp::now()
            .checked_add(SignedDuration::from_hours(2))
            .unwrap()
            .as_second()
            / 60
            * 60,
    )
    .unwrap();
    let ports = [http::free_port(), http::free_port()];
    let mut children = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let config = dir.path().join(format!("mentord-{i}.toml"));
        let text = program(meeting, dir.path(), *port).replace(
            &format!("sqlite://{}", dir.path().join("mentord.db").display()),
            &database.url,
        );
        std::fs::write(&config, text).unwrap();
        children.push(Some(
            std::process::Command::new(env!("CARGO_BIN_EXE_mentord"))
                .arg("-c")
                .arg(&config)
                .arg("run")
                .env("TEST_LINK_SECRET", SECRET)
                .env_remove("MENTORD_NOW")
                .stderr(std::fs::File::create(dir.path().join(format!("{i}.log"))).unwrap())
                .spawn()
                .unwrap(),
        ));
    }
    let mut daemons = common::Daemons(children);
    let deadline = Instant::now() + Duration::from_secs(30);
    for port in ports {
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "not serving on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // The invites went first (a link comes in mail sent after them): cancelling a
    // meeting nobody was invited to yet needs no CANCEL, the invite leaves it out.
    let outbox = dir.path().join("outbox");
    for to in ["margaret@example.org", "linus@example.org"] {
        wait_for(&outbox, "invite", to, Duration::from_secs(60));
    }
    // A link as the mail carries it (both instances hold the same key).
    let signer = Signer::new(SECRET.as_bytes(), "http://127.0.0.1").unwrap();
    let token = signer.token(&Claim {
        action: Action::CantMakeIt,
        person: "linus".into(),
        pair: "margaret-linus".into(),
        subject: meeting.to_string(),
        expires: meeting,
    });
    let path = format!("/a/{token}");
    assert_eq!(http::get(ports[0], &path).status, 200);
    assert_eq!(http::get(ports[1], &path).status, 200);
    let done = http::post_form(ports[0], &path, "");
    assert!(done.body.contains("Cancelled"), "{}", done.body);
    let replay = http::post_form(ports[1], &path, "");
    assert!(replay.body.contains("Already cancelled"), "{}", replay.body);
    // Both CANCELs go, once, whichever daemon sends them.
    for to in ["margaret@example.org", "linus@example.org"] {
        wait_for(&outbox, "occurrence_cancel", to, Duration::from_secs(90));
        assert_eq!(emls(&outbox, "occurrence_cancel", to).len(), 1);
    }
    daemons.stop();
    drop(database);
}
