//! What strangers and unlucky clients send to `mentord deliver`, through the real binary
//! and a real SQLite store (issue 22, points 2, 4 and 10):
//!
//! - A mail listing 300,000 `References` ids (3.2 MB) took 47 s in `deliver`, one with
//!   100,000 `To:` addresses 6.9 s: every id and address was checked against all those
//!   kept before it, and the IMAP watcher runs the same reading inside the daemon. Now
//!   each takes well under a second (the bound asserted here is generous; the figures
//!   measured are in the report of the change).
//! - A reply with two `From:` headers (or one `From:` naming two people): mentord took
//!   the last one as the sender, while DMARC judges the first, so a forger's mail with
//!   the mentee's address second became the mentee's agenda. It is set aside now.
//! - A 12.7 MB mail from a stranger was kept as its 168 bytes of headers, though mail
//!   from outside the pairs is kept whole up to 25 MB for the coordinator (SPEC §5).
//! - Outlook's "Propose new time" (`METHOD:COUNTER`) and a client's `REFRESH` were set
//!   aside as "it answers no mail of a pair that mentord sent", which sends the
//!   coordinator looking for a mistake in the wrong place.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

/// A program in UTC whose two pairs meet tomorrow at this hour, with agenda prompts
/// due two days before: late on the first start, so `mentord run` sends them at once.
fn program(dir: &Path) -> PathBuf {
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    let meeting = Timestamp::now()
        .checked_add(SignedDuration::from_hours(25))
        .unwrap();
    let on_the_hour = Timestamp::from_second(meeting.as_second() / 3600 * 3600).unwrap();
    common::program_meeting_at(
        dir,
        "Trust",
        on_the_hour,
        "agenda_before = \"48h\"\nreminder_before = \"1h\"\n",
        "",
    )
}

/// `mentord deliver` with `mail` on stdin: its exit code, what it said, how long it took.
fn deliver(config: &Path, mail: &[u8]) -> (i32, String, Duration) {
    let started = Instant::now();
    let (code, said) = common::deliver(config, mail);
    (code, said, started.elapsed())
}

/// A stranger's mail with `head` among its headers.
fn stranger(head: &str, id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: someone@example.net\r\nSubject: Hello\r\nMessage-ID: <{id}@example.net>\r\n{head}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Generous: these took 47 s and 6.9 s; a loaded test machine is not a failure.
const QUICK: Duration = Duration::from_secs(5);

#[test]
fn thousands_of_references_or_recipients_are_read_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let config = program(dir.path());

    let ids: Vec<String> = (0..300_000).map(|i| format!("<{i:06}@ex.org>")).collect();
    let references = format!("To: mentoring@example.org\r\nReferences: {}", ids.join(" "));
    let mail = stranger(&references, "many-references", "Hello");
    assert!(mail.len() > 3_000_000, "{}", mail.len());
    let (code, said, took) = deliver(&config, &mail);
    eprintln!("300,000 References: {took:?}");
    assert_eq!(code, 0, "{said}");
    // From outside the pairs: kept for the coordinator.
    assert!(said.contains("kept for the coordinator"), "{said}");
    assert!(took < QUICK, "300,000 References took {took:?}");

    let addresses: Vec<String> = (0..100_000).map(|i| format!("p{i}@ex.org")).collect();
    let to = format!("To: {}", addresses.join(", "));
    let (code, said, took) = deliver(&config, &stranger(&to, "many-recipients", "Hello"));
    eprintln!("100,000 To: addresses: {took:?}");
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("kept for the coordinator"), "{said}");
    assert!(took < QUICK, "100,000 To: addresses took {took:?}");
}

/// The first file in `outbox` whose name starts with `kind` and that is to `to`, waiting
/// up to 30 s for the daemon to write it.
fn wait_for_mail(outbox: &Path, kind: &str, to: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        for entry in std::fs::read_dir(outbox).into_iter().flatten() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let to_them = text.lines().any(|l| l.starts_with("To:") && l.contains(to));
            if name.starts_with(kind) && to_them {
                return text;
            }
        }
        assert!(Instant::now() < deadline, "no {kind} to {to} within 30 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_reply_with_more_than_one_sender_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let config = program(dir.path());
    let mut daemons = common::Daemons(vec![Some(common::start_daemon(
        &config,
        dir.path().join("daemon.log"),
    ))]);
    let prompt = wait_for_mail(
        &dir.path().join("outbox"),
        "agenda_prompt",
        "alan@example.org",
    );
    daemons.stop();
    let reply_to = prompt
        .lines()
        .find_map(|l| l.strip_prefix("Reply-To: "))
        .unwrap();
    let reply_to = &reply_to[reply_to.find('<').unwrap() + 1..reply_to.find('>').unwrap()];
    let id = prompt
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .unwrap()
        .trim();
    let reply = |from: &str, message_id: &str| {
        format!(
            "{from}To: <{reply_to}>\r\nSubject: Re: agenda\r\nMessage-ID: <{message_id}@evil.example>\r\n\
             In-Reply-To: {id}\r\nReferences: {id}\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nClick http://evil.example/ first.\r\n"
        )
    };
    // Mallory first (what DMARC checks), Alan second; then both in one header.
    for (from, message_id) in [
        (
            "From: Mallory <mallory@evil.example>\r\nFrom: Alan Turing <alan@example.org>\r\n",
            "two-headers",
        ),
        (
            "From: mallory@evil.example, Alan Turing <alan@example.org>\r\n",
            "two-addresses",
        ),
    ] {
        let (code, said, _) = deliver(&config, reply(from, message_id).as_bytes());
        assert_eq!(code, 0, "{said}");
        assert!(
            said.contains(
                "set aside for the coordinator: it has more than one From: address (2); \
                 a mail speaks for one person"
            ),
            "{said}"
        );
    }
    let status = common::mentord()
        .arg("-c")
        .arg(&config)
        .args(["status", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let alan = json["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pair"] == "grace-alan")
        .unwrap();
    assert_eq!(alan["agenda_in"], false, "{json}");
}

/// The raw mail the store kept for the coordinator, by Message-ID.
fn kept_raw(dir: &Path, message_id: &str) -> Vec<u8> {
    let url = format!("sqlite://{}", dir.join("mentord.db").display());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let raw: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT raw FROM kept_mail WHERE message_id = $1")
                    .bind(message_id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            pool.close().await;
            raw.unwrap_or_default()
        })
}

#[test]
fn a_large_mail_from_a_stranger_is_kept_whole() {
    let dir = tempfile::tempdir().unwrap();
    let config = program(dir.path());
    // 12.7 MB: a scanned form as a base64 attachment.
    let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n";
    let attachment = line.repeat(12_700_000 / line.len());
    let mail = format!(
        "From: someone@example.net\r\nTo: mentoring@example.org\r\nSubject: The signed form\r\n\
         Message-ID: <large@example.net>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nThe form, signed.\r\n--b\r\n\
         Content-Type: application/pdf; name=\"form.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {attachment}--b--\r\n"
    );
    assert!(mail.len() > 12_600_000, "{}", mail.len());
    let (code, said, _) = deliver(&config, mail.as_bytes());
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("kept for the coordinator"), "{said}");
    let kept = kept_raw(dir.path(), "<large@example.net>");
    assert_eq!(kept.len(), mail.len());
    assert!(
        kept == mail.as_bytes(),
        "the kept mail differs from the one delivered"
    );
}

#[test]
fn a_counter_proposal_and_a_refresh_are_set_aside_for_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let config = program(dir.path());
    let calendar = |method: &str| {
        format!(
            "From: alan@example.org\r\nTo: mentoring@example.org\r\nSubject: New Time Proposed: Mentoring\r\n\
             Message-ID: <{method}@mail.example.org>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/calendar; charset=utf-8; method={method}\r\n\r\n\
             BEGIN:VCALENDAR\r\nMETHOD:{method}\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\n\
             BEGIN:VEVENT\r\nUID:some-series@mentord\r\nDTSTART:20270126T110000Z\r\n\
             ATTENDEE;PARTSTAT=TENTATIVE:mailto:alan@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    };
    let (code, said, _) = deliver(&config, calendar("COUNTER").as_bytes());
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains(
            "set aside for the coordinator: a calendar COUNTER (a proposed new time): mentord \
             does not take proposals; the coordinator changes times in the program file"
        ),
        "{said}"
    );
    let (code, said, _) = deliver(&config, calendar("REFRESH").as_bytes());
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains("set aside for the coordinator: a calendar REFRESH request"),
        "{said}"
    );
}
