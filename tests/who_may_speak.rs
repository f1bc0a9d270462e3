//! Who may speak for a person (SPEC §5), through the real binary: `mentord run` sends,
//! forged mail is piped into `mentord deliver`.
//!
//! The story (issue 22, defect 2): a `From:` header was all it took. Message-IDs were
//! `uuid5(program name + delivery key)` and series UIDs `uuid5("mentord:program:pair")`,
//! so anyone who knew the program's name, a pair id and a meeting time computed them. A
//! forged `From:` of the mentee with a computed `In-Reply-To`, sent to the program's
//! plain address, became the agenda, and the mentor's reminder, from the program's own
//! address, carried the forger's link. A forged iTIP decline naming a computed UID
//! cancelled a meeting for both.
//!
//! Now Message-IDs and UIDs carry the store's secret; a mail changes a pair's state only
//! when it came to an address carrying a token given to its sender (a Reply-To, or the
//! ORGANIZER of their own copy of the invite), or the receiving server named by
//! `[inbound] authserv_id` vouches for it (`dmarc=pass`). Everything else is set aside
//! with the reason.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mail_parser::MessageParser;

const NAME: &str = "Who may speak";

/// The first meeting, three hours from now on the minute: the agenda prompt (4 h
/// before) is late on the first start and goes at once.
fn meeting_soon() -> Timestamp {
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    let at = Timestamp::now()
        .checked_add(SignedDuration::from_hours(3))
        .unwrap();
    Timestamp::from_second(at.as_second() / 60 * 60).unwrap()
}

fn program(meeting: Timestamp, dir: &Path) -> PathBuf {
    let zoned = meeting.to_zoned_datetime(TimeZone::UTC);
    let text = format!(
        r#"[program]
name = "{NAME}"
timezone = "UTC"
start = {date}
coordinator = "ada"
organizer = {{ name = "Mentoring", email = "mentoring@example.org" }}

[defaults]
every = "week"
on = "{weekday}"
at = "{at}"
duration = "30m"
agenda_before = "4h"
reminder_before = "1h"
quiet_hours = "off"
digest = "off"

[store]
url = "sqlite://{db}"

[mail]
transport = "file"
dir = "{outbox}"
reply_to = "mentoring+{{token}}@example.org"

[inbound]
authserv_id = "mx.example.org"

{two_pairs}"#,
        two_pairs = common::TWO_PAIRS,
        date = zoned.date(),
        weekday = zoned.strftime("%a").to_string().to_lowercase(),
        at = zoned.strftime("%H:%M"),
        db = dir.join("mentord.db").display(),
        outbox = dir.join("outbox").display(),
    );
    let config = dir.join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    config
}

/// `mentord deliver`: its exit code and what it said.
fn deliver(config: &Path, mail: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(config)
        .arg("deliver")
        .env_remove("MENTORD_NOW")
        .env_remove("MENTORD_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(mail.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// One mail of `kind` to `to`, waited for: (Message-ID, calendar text unfolded).
fn sent(outbox: &Path, kind: &str, to: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        for entry in std::fs::read_dir(outbox).into_iter().flatten() {
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
            if address != to {
                continue;
            }
            let calendar = message
                .parts
                .iter()
                .filter_map(|p| p.text_contents())
                .find(|t| t.contains("BEGIN:VCALENDAR"))
                .unwrap_or_default()
                .replace("\r\n ", "");
            return (format!("<{}>", message.message_id().unwrap()), calendar);
        }
        assert!(Instant::now() < deadline, "no {kind} to {to}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn field(calendar: &str, name: &str) -> String {
    calendar
        .lines()
        .find(|l| l.starts_with(name))
        .map(|l| l.split_once(':').unwrap().1.trim().to_string())
        .unwrap()
}

/// What a forger computed before: the Message-ID of Alan's prompt and the pair's UID.
fn computed(meeting: Timestamp) -> (String, String) {
    let key = format!("agenda_prompt/grace-alan/{meeting}/0/alan");
    let id = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("{NAME}\n{key}").as_bytes(),
    );
    let uid = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("mentord:{NAME}:grace-alan").as_bytes(),
    );
    (format!("<{id}@example.org>"), format!("{uid}@mentord"))
}

fn agenda(to: &str, answers: &str, id: &str, extra_headers: &str) -> String {
    format!(
        "{extra_headers}From: Alan Turing <alan@example.org>\r\nTo: {to}\r\nSubject: Re: agenda\r\n\
         Message-ID: <{id}>\r\nIn-Reply-To: {answers}\r\nReferences: {answers}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Please read https://evil.example/login before we meet\r\n"
    )
}

fn decline(from: &str, to: &str, uid: &str, recurrence: &str, id: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Declined: Mentoring\r\nMessage-ID: <{id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/calendar; charset=utf-8; method=REPLY\r\n\r\n\
         BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nVERSION:2.0\r\nPRODID:-//Forger//EN\r\n\
         BEGIN:VEVENT\r\nUID:{uid}\r\nRECURRENCE-ID:{recurrence}\r\n\
         ATTENDEE;PARTSTAT=DECLINED:mailto:{from}\r\nDTSTAMP:20270101T000000Z\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn set_aside(said: &str, why: &str) {
    assert!(said.contains("set aside"), "{said}");
    assert!(said.contains(why), "{said}");
}

#[test]
fn a_from_header_alone_speaks_for_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let meeting = meeting_soon();
    let config = program(meeting, dir.path());
    let outbox = dir.path().join("outbox");
    let mut daemons = common::Daemons(vec![Some(common::start_daemon(
        &config,
        dir.path().join("daemon.log"),
    ))]);
    let (prompt_id, _) = sent(&outbox, "agenda_prompt", "alan@example.org");
    let (_, alan_invite) = sent(&outbox, "invite", "alan@example.org");
    let (_, grace_invite) = sent(&outbox, "invite", "grace@example.org");
    let uid = field(&alan_invite, "UID");

    // Nothing mentord mints can be computed from the program any more.
    let (computed_id, computed_uid) = computed(meeting);
    assert_ne!(prompt_id, computed_id);
    assert_ne!(uid, computed_uid);
    // Each attendee's copy names an ORGANIZER address of its own.
    let alan_organizer = field(&alan_invite, "ORGANIZER");
    let grace_organizer = field(&grace_invite, "ORGANIZER");
    assert!(
        alan_organizer.starts_with("mailto:mentoring+"),
        "{alan_organizer}"
    );
    assert_ne!(alan_organizer, grace_organizer);
    let alan_organizer = alan_organizer.trim_start_matches("mailto:").to_string();

    // The forger's agenda, threaded by the computed Message-ID: answers nothing.
    let (code, said) = deliver(
        &config,
        &agenda("mentoring@example.org", &computed_id, "f1@evil.example", ""),
    );
    assert_eq!(code, 0, "{said}");
    set_aside(&said, "answers no mail");
    // Threaded by the real Message-ID (leaked, say, in a forwarded mail), still from
    // nothing but a From: header.
    let (code, said) = deliver(
        &config,
        &agenda("mentoring@example.org", &prompt_id, "f2@evil.example", ""),
    );
    assert_eq!(code, 0, "{said}");
    set_aside(&said, "nothing proves it comes from alan@example.org");
    // Another server's word, or our server's written below its own, is no proof.
    let (_, said) = deliver(
        &config,
        &agenda(
            "mentoring@example.org",
            &prompt_id,
            "f3@evil.example",
            "Authentication-Results: mx.example.org; dmarc=fail header.from=example.org\r\n\
             Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n",
        ),
    );
    set_aside(&said, "nothing proves");
    let (_, said) = deliver(
        &config,
        &agenda(
            "mentoring@example.org",
            &prompt_id,
            "f4@evil.example",
            "Authentication-Results: mx.evil.example; dmarc=pass header.from=example.org\r\n",
        ),
    );
    set_aside(&said, "nothing proves");

    // The forged decline with the computed UID, and with the real one, to the plain
    // address; and Linus answering with the ORGANIZER address given to Alan.
    let recurrence = meeting.strftime("%Y%m%dT%H%M%SZ").to_string();
    let (_, said) = deliver(
        &config,
        &decline(
            "alan@example.org",
            "mentoring@example.org",
            &computed_uid,
            &recurrence,
            "d1@evil.example",
        ),
    );
    set_aside(&said, "answers no mail");
    let (_, said) = deliver(
        &config,
        &decline(
            "alan@example.org",
            "mentoring@example.org",
            &uid,
            &recurrence,
            "d2@evil.example",
        ),
    );
    set_aside(&said, "nothing proves");
    let (_, said) = deliver(
        &config,
        &decline(
            "margaret@example.org",
            &alan_organizer,
            &uid,
            &recurrence,
            "d3@evil.example",
        ),
    );
    set_aside(&said, "neither the mentor nor the mentee");
    let (_, said) = deliver(
        &config,
        &decline(
            "grace@example.org",
            &alan_organizer,
            &uid,
            &recurrence,
            "d4@evil.example",
        ),
    );
    set_aside(&said, "given to alan@example.org");

    // Nothing of it reached anyone: no cancel, and after a few seconds of the daemon's
    // ticks no agenda passed on and no cancellation queued.
    std::thread::sleep(Duration::from_secs(3));
    let names: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("occurrence_cancel-") || n.starts_with("agenda-")),
        "{names:?}"
    );

    // What does prove the sender: the receiving server's dmarc=pass, topmost; and
    // Alan's calendar answering the ORGANIZER of his own copy.
    let (_, said) = deliver(
        &config,
        &agenda(
            "mentoring@example.org",
            &prompt_id,
            "a1@example.org",
            "Authentication-Results: mx.example.org;\r\n dkim=pass header.d=example.org;\r\n \
             dmarc=pass (p=reject) header.from=example.org\r\n",
        ),
    );
    assert!(said.contains("taken in: agenda"), "{said}");
    let (_, said) = deliver(
        &config,
        &decline(
            "ALAN@example.org",
            &alan_organizer,
            &uid,
            &recurrence,
            "a2@example.org",
        ),
    );
    assert!(said.contains("taken in: rsvp"), "{said}");
    sent(&outbox, "occurrence_cancel", "grace@example.org");
    daemons.stop();
}
