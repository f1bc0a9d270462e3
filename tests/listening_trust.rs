//! What comes back is hostile until it proves otherwise, through the real binary:
//! `mentord run` sends, mail is piped into `mentord deliver` (SPEC §5).
//!
//! Who may speak (issue 22, defect 2): a `From:` header was all it took. Message-IDs
//! were `uuid5(program name + delivery key)` and series UIDs
//! `uuid5("mentord:program:pair")`, so anyone who knew the program's name, a pair id and
//! a meeting time computed them. A forged `From:` of the mentee with a computed
//! `In-Reply-To`, sent to the program's plain address, became the agenda, and the
//! mentor's reminder, from the program's own address, carried the forger's link. A
//! forged iTIP decline naming a computed UID cancelled a meeting for both. Now
//! Message-IDs and UIDs carry the store's secret; a mail changes a pair's state only
//! when it came to an address carrying a token given to its sender (a Reply-To, or the
//! ORGANIZER of their own copy of the invite), or the receiving server named by
//! `[inbound] authserv_id` vouches for it (`dmarc=pass`).
//!
//! Flooding (defect 3): after the mentor's reminder had gone, every reply with new text
//! sent the mentor one more mail: replies gave 138 mails for one meeting. Now at most one
//! such mail goes per meeting per hour, and a repeated text sends nothing.
//!
//! Forged bounces (defect 6): anyone could mark any program address as bouncing. Now a
//! report counts only when it returns the Message-ID of a mail mentord sent there.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
    common::program_meeting_at(
        dir,
        NAME,
        meeting,
        "agenda_before = \"4h\"\nreminder_before = \"4h\"\n",
        "[inbound]\nauthserv_id = \"mx.example.org\"\n",
    )
}

/// `mentord deliver`: its exit code and what it said.
fn deliver(config: &Path, mail: &str) -> (i32, String) {
    common::deliver(config, mail.as_bytes())
}

/// One mail of `kind` to `to`, waited for: (Message-ID, calendar text unfolded).
fn sent(outbox: &Path, kind: &str, to: &str) -> (String, String) {
    let (id, calendar, _) = sent_with_reply_to(outbox, kind, to);
    (id, calendar)
}

/// As [`sent`], with its Reply-To address.
fn sent_with_reply_to(outbox: &Path, kind: &str, to: &str) -> (String, String, String) {
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
            let reply_to = message
                .reply_to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_string();
            return (
                format!("<{}>", message.message_id().unwrap()),
                calendar,
                reply_to,
            );
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

/// The files in the outbox whose names start with `prefix`.
fn count(outbox: &Path, prefix: &str) -> usize {
    std::fs::read_dir(outbox)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(prefix)
        })
        .count()
}

fn status(config: &Path) -> String {
    let output = common::mentord()
        .arg("-c")
        .arg(config)
        .arg("status")
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

fn report(about: &str, returned: &str, id: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: mentoring@example.org\r\nSubject: Undelivered Mail\r\n\
         Message-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
         --r\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n\
         --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
         Final-Recipient: rfc822; {about}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: mentoring@example.org\r\n\
         To: {about}\r\nMessage-ID: {returned}\r\n\r\n--r--\r\n"
    )
}

#[test]
fn one_person_cannot_flood_another_and_a_report_must_be_about_our_mail() {
    let dir = tempfile::tempdir().unwrap();
    let config = program(meeting_soon(), dir.path());
    let outbox = dir.path().join("outbox");
    let mut daemons = common::Daemons(vec![Some(common::start_daemon(
        &config,
        dir.path().join("daemon.log"),
    ))]);
    let (prompt_id, _, reply_to) = sent_with_reply_to(&outbox, "agenda_prompt", "alan@example.org");
    assert!(reply_to.starts_with("mentoring+"), "{reply_to}");
    // The reminder is late on the first start too: it has gone.
    sent(&outbox, "mentor_reminder", "grace@example.org");

    // Replies with new text, each given time to be passed on; a burst of twenty more;
    // and the first text once more.
    for n in 0..25 {
        let (code, said) = deliver(
            &config,
            &agenda(&reply_to, &prompt_id, &format!("r{n}@example.org"), "")
                .replace("Please read", &format!("Version {n}: please read")),
        );
        assert_eq!(code, 0, "{said}");
        assert!(said.contains("taken in: agenda"), "{said}");
        if n < 5 {
            std::thread::sleep(Duration::from_millis(2500));
        }
    }
    let (_, said) = deliver(
        &config,
        &agenda(&reply_to, &prompt_id, "r-again@example.org", "")
            .replace("Please read", "Version 0: please read"),
    );
    assert!(said.contains("taken in: agenda"), "{said}");
    // The daemon passes the first on at once and holds the rest for the hour.
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&outbox, "agenda-") == 0 {
        assert!(Instant::now() < deadline, "no agenda passed on");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        count(&outbox, "agenda-"),
        1,
        "one mail to the mentor in the hour"
    );
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap();
    assert!(!log.contains("panicked"), "{log}");

    // A report about Alan's address that returns nothing of ours marks nothing.
    let (code, said) = deliver(
        &config,
        &report(
            "alan@example.org",
            "<made-up@example.org>",
            "b1@mx.example.org",
        ),
    );
    assert_eq!(code, 0, "{said}");
    set_aside(&said, "names no message mentord sent there");
    assert!(
        !status(&config).contains("alan@example.org (5.1.1"),
        "{}",
        status(&config)
    );
    // One that returns the prompt mentord sent him does.
    let (_, said) = deliver(
        &config,
        &report("alan@example.org", &prompt_id, "b2@mx.example.org"),
    );
    assert!(said.contains("taken in: bounce"), "{said}");
    let shown = status(&config);
    assert!(shown.contains("alan@example.org"), "{shown}");
    daemons.stop();
}
