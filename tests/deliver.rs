//! `mentord deliver` end to end, through the real binary on the real clock: `mentord run`
//! writes mail as files; a mentee's reply to the agenda prompt is piped into `mentord
//! deliver`, and the mentor's reminder that goes out a minute later carries the agenda;
//! a meeting declined in the calendar is piped in, the `CANCEL` goes to both, and that
//! meeting's reminder is never sent. Before this, the reminder said "has not sent an
//! agenda yet" forever and a declined meeting still got its prompt and reminder.
//!
//! A reply in another language (here Portuguese, from Gmail) reaches the reminder as the
//! new text only.
//!
//! `deliver` only stores the mail; the running daemon takes it in (`common::deliver`
//! waits for the verdict). The exit codes a mail server acts on, and the hand-off
//! without a daemon, are in tests/handoff.rs.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mail_parser::MessageParser;

/// The first meeting, 2 to 3 minutes from the real clock (on the minute).
fn meeting_soon() -> Timestamp {
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    let at = Timestamp::now()
        .checked_add(SignedDuration::from_mins(3))
        .unwrap();
    Timestamp::from_second(at.as_second() / 60 * 60).unwrap()
}

/// A program in UTC with two pairs meeting at `meeting`: the agenda prompt is late on
/// the first start (so it goes at once), the reminder one minute before the meeting.
fn program(meeting: Timestamp, dir: &Path) -> String {
    let zoned = meeting.to_zoned_datetime(TimeZone::UTC);
    let weekday = zoned.strftime("%a").to_string().to_lowercase();
    format!(
        r#"[program]
name = "Deliver"
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
reply_to = "mentoring+{{token}}@example.org"

{two_pairs}"#,
        two_pairs = common::TWO_PAIRS,
        date = zoned.date(),
        at = zoned.strftime("%H:%M"),
        db = dir.join("mentord.db").display(),
        outbox = dir.join("outbox").display(),
    )
}

/// `mentord deliver` with `mail` on stdin: its exit code and what it said.
fn deliver(config: &Path, mail: &str) -> (i32, String) {
    common::deliver(config, mail.as_bytes())
}

/// The files of one kind (by name) to one address, as parsed text.
fn mails(outbox: &Path, kind: &str, to: &str) -> Vec<(PathBuf, String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(outbox) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with(&format!("{kind}-")) {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        let message = MessageParser::default().parse(&raw).unwrap();
        let address = message
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_string();
        if address == to {
            let text = message
                .body_text(0)
                .unwrap_or_default()
                .replace("\r\n", "\n");
            let raw = String::from_utf8_lossy(&raw).into_owned();
            out.push((path, text, raw));
        }
    }
    out
}

/// Waits (up to `limit`) for `count` mails of a kind to an address.
fn wait_for(
    outbox: &Path,
    kind: &str,
    to: &str,
    count: usize,
    limit: Duration,
) -> Vec<(PathBuf, String, String)> {
    let deadline = Instant::now() + limit;
    loop {
        let found = mails(outbox, kind, to);
        if found.len() >= count {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} to {to} within {limit:?}; outbox: {:?}",
            std::fs::read_dir(outbox).map(|d| d.count()).unwrap_or(0)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn header<'a>(raw: &'a str, name: &str) -> &'a str {
    raw.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap()
        .trim()
}

#[test]
fn an_agenda_by_reply_reaches_the_reminder_and_a_declined_meeting_is_not_reminded() {
    let dir = tempfile::tempdir().unwrap();
    let meeting = meeting_soon();
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, program(meeting, dir.path())).unwrap();
    let outbox = dir.path().join("outbox");
    let mut daemons = common::Daemons(vec![Some(common::start_daemon(
        &config,
        dir.path().join("daemon.log"),
    ))]);

    // The late prompts go at once, a second after the invites.
    let prompt = wait_for(
        &outbox,
        "agenda_prompt",
        "alan@example.org",
        1,
        Duration::from_secs(30),
    );
    let (_, _, raw) = &prompt[0];
    let reply_to = header(raw, "Reply-To");
    let reply_to =
        reply_to[reply_to.find('<').unwrap() + 1..reply_to.find('>').unwrap()].to_string();
    let reply = format!(
        "From: Alan Turing <alan@example.org>\r\nTo: <{reply_to}>\r\nSubject: Re: agenda\r\n\
         Message-ID: <reply-1@mail.example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         - Walk through the on-call runbook\r\n- Decide on the design review date\r\n\r\n\
         Sent from my iPhone\r\n\r\n> On Tue, Grace wrote:\r\n> old text\r\n"
    );
    let (code, said) = deliver(&config, &reply);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("taken in: agenda"), "{said}");

    // Linus declines the first meeting in his calendar.
    let invite = wait_for(
        &outbox,
        "invite",
        "linus@example.org",
        1,
        Duration::from_secs(10),
    );
    let uid = invite[0]
        .2
        .lines()
        .find(|l| l.starts_with("Content-Type: application/ics"))
        .map(|_| ())
        .and_then(|()| {
            let message = MessageParser::default()
                .parse(invite[0].2.as_bytes())
                .unwrap();
            message
                .parts
                .iter()
                .filter_map(|p| p.text_contents())
                .find_map(|t| {
                    t.lines()
                        .find_map(|l| l.strip_prefix("UID:"))
                        .map(|u| u.trim().to_string())
                })
        })
        .unwrap();
    // Linus's calendar answers the ORGANIZER of his own copy: an address with a token
    // only he was given.
    let organizer = MessageParser::default()
        .parse(invite[0].2.as_bytes())
        .unwrap()
        .parts
        .iter()
        .filter_map(|p| p.text_contents())
        .find_map(|t| {
            t.replace("\r\n ", "")
                .lines()
                .find(|l| l.starts_with("ORGANIZER"))
                .and_then(|l| l.split_once("mailto:"))
                .map(|(_, a)| a.trim().to_string())
        })
        .unwrap();
    assert!(organizer.starts_with("mentoring+"), "{organizer}");
    let recurrence = meeting
        .to_zoned_datetime(TimeZone::UTC)
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let decline = format!(
        "From: linus@example.org\r\nTo: {organizer}\r\nSubject: Declined: Mentoring\r\n\
         Message-ID: <decline-1@mail.example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/calendar; charset=utf-8; method=REPLY\r\n\r\n\
         BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n\
         BEGIN:VEVENT\r\nUID:{uid}\r\nRECURRENCE-ID:{recurrence}\r\n\
         ATTENDEE;PARTSTAT=DECLINED;CN=Linus Torvalds:mailto:linus@example.org\r\n\
         ORGANIZER:mailto:mentoring@example.org\r\nDTSTAMP:20270101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let (code, said) = deliver(&config, &decline);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("taken in: rsvp"), "{said}");
    // The same mail again, as a retrying server would: taken once.
    let (code, said) = deliver(&config, &decline);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("taken in before"), "{said}");

    // Both get the cancel of that one meeting, within seconds.
    for to in ["margaret@example.org", "linus@example.org"] {
        let cancel = wait_for(&outbox, "occurrence_cancel", to, 1, Duration::from_secs(20));
        assert!(cancel[0].2.contains("method=CANCEL"), "{}", cancel[0].2);
    }
    let to_margaret = &mails(&outbox, "occurrence_cancel", "margaret@example.org")[0].1;
    assert!(
        to_margaret.contains("Linus Torvalds can't make"),
        "{to_margaret}"
    );

    // `status` says Alan's agenda is in, and nothing of what it says.
    let status = common::mentord()
        .arg("-c")
        .arg(&config)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(status.status.success());
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let alan = json["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pair"] == "grace-alan")
        .unwrap();
    assert_eq!(alan["agenda_in"], true, "{json}");
    assert!(!String::from_utf8_lossy(&status.stdout).contains("runbook"));

    // The reminder, a minute before the meeting, carries the agenda.
    let reminder = wait_for(
        &outbox,
        "mentor_reminder",
        "grace@example.org",
        1,
        Duration::from_secs(200),
    );
    let text = &reminder[0].1;
    assert!(
        text.contains("Walk through the on-call runbook")
            && text.contains("Decide on the design review date"),
        "{text}"
    );
    assert!(
        !text.contains("Sent from my iPhone") && !text.contains("old text"),
        "{text}"
    );
    // Margaret's reminder for the declined meeting never goes: the meeting has started.
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    while Timestamp::now() < meeting.checked_add(SignedDuration::from_secs(5)).unwrap() {
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        mails(&outbox, "mentor_reminder", "margaret@example.org").is_empty(),
        "a reminder for a declined meeting went out"
    );
    daemons.stop();
}

/// `mentord run` at a fixed instant (`MENTORD_NOW`): it sends what is due then and waits.
fn run_at(config: &Path, now: &str, log: PathBuf) -> common::Daemons {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(config)
        .arg("run")
        .env("MENTORD_NOW", now)
        .env("RUST_LOG", "warn")
        .env_remove("MENTORD_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    common::wait_until_it_handles_sigterm(&child);
    common::Daemons(vec![Some(child)])
}

/// Alan answers his agenda prompt from Gmail set to Portuguese. Gmail writes its quote
/// header in the reader's language and wraps it: "Em dom., 13 de jan. de 2030 às
/// 12:00, Mentoring <mentoring+…@example.org>" and, on the next line, "escreveu:". Only
/// "On … wrote:" and a few languages were known, so the header became part of the agenda
/// Grace read in her reminder (issue 25). Now her reminder carries Alan's two points and
/// nothing of the quote header, the quoted prompt or his phone's signature.
#[test]
fn a_portuguese_reply_reaches_the_reminder_without_its_quote() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::program_in_2030(dir.path(), common::TWO_PAIRS);
    let outbox = dir.path().join("outbox");

    // Sunday 13 January 2030, noon: the invites go, and the prompt for Tuesday's meeting,
    // late, is queued for the next second, which a fixed clock never reaches; a minute
    // later it goes.
    let mut daemon = run_at(&config, "2030-01-13T12:00:00Z", dir.path().join("run1.log"));
    wait_for(
        &outbox,
        "invite",
        "alan@example.org",
        1,
        Duration::from_secs(30),
    );
    daemon.stop();
    let mut daemon = run_at(&config, "2030-01-13T12:01:00Z", dir.path().join("run2.log"));
    let prompt = wait_for(
        &outbox,
        "agenda_prompt",
        "alan@example.org",
        1,
        Duration::from_secs(30),
    );
    daemon.stop();
    let (_, prompt_text, raw) = &prompt[0];
    let reply_to = header(raw, "Reply-To");
    let reply_to =
        reply_to[reply_to.find('<').unwrap() + 1..reply_to.find('>').unwrap()].to_string();
    let message_id = header(raw, "Message-ID").to_string();
    let quoted: String = prompt_text
        .lines()
        .map(|l| {
            if l.is_empty() {
                ">\r\n".to_string()
            } else {
                format!("> {l}\r\n")
            }
        })
        .collect();
    let body = format!(
        "Oi, Grace,\r\n\r\n- Revisão do capítulo 3\r\n- Escola de verão: sim ou não?\r\n\r\n\
         Abraços,\r\nAlan\r\n\r\nEnviado do meu iPhone\r\n\r\n\
         Em dom., 13 de jan. de 2030 às 12:00, Mentoring <{reply_to}>\r\nescreveu:\r\n\r\n{quoted}"
    );
    let reply = format!(
        "From: Alan Turing <alan@example.org>\r\nTo: <{reply_to}>\r\n\
         Subject: Re: Agenda\r\nMessage-ID: <pt-reply-1@mail.example.org>\r\n\
         In-Reply-To: {message_id}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        base64::engine::general_purpose::STANDARD.encode(body.as_bytes())
    );
    let (code, said) = common::deliver_with(
        &config,
        reply.as_bytes(),
        &[("MENTORD_NOW", "2030-01-13T13:00:00Z")],
    );
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("taken in: agenda"), "{said}");

    // Monday 10:00, when it is due: Grace's reminder carries the agenda, only the agenda.
    let mut daemon = run_at(&config, "2030-01-14T10:00:00Z", dir.path().join("run3.log"));
    let reminder = wait_for(
        &outbox,
        "mentor_reminder",
        "grace@example.org",
        1,
        Duration::from_secs(30),
    );
    daemon.stop();
    let text = &reminder[0].1;
    assert!(
        text.contains("Oi, Grace,\n\n- Revisão do capítulo 3\n- Escola de verão: sim ou não?\n\nAbraços,\nAlan"),
        "{text}"
    );
    for quoted in [
        "escreveu",
        "Em dom.",
        "Enviado do meu iPhone",
        "reply above this line",
        prompt_text
            .lines()
            .find(|l| l.starts_with("Hello "))
            .unwrap(),
    ] {
        assert!(
            !text.contains(quoted),
            "{quoted:?} in the reminder:\n{text}"
        );
    }
}
