//! The hand-off (SPEC §3 `mentord deliver`, §5): the mail server's pipe only stores the
//! mail in the store; the daemon, which holds the program, takes it in. Before, each
//! `deliver` read and checked the whole program file (0.6 s at 50,000 pairs) and took
//! the mail in itself: a morning of agenda replies queued up at the mail server, which
//! defers and then bounces. These tests drive the real binary: a running daemon takes a
//! delivered agenda in within seconds and logs the verdict (SQLite and PostgreSQL);
//! without a daemon the mail waits and `status` says how much and since when; a store
//! that cannot take the mail gives 75 and keeps nothing; a program file broken in its
//! pairs still lets mail in; the same Message-ID twice is taken in once.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mail_parser::MessageParser;

/// The first meeting, 3 minutes from the real clock (on the minute): the agenda prompt
/// is late on the first start, so it goes at once.
fn meeting_soon() -> Timestamp {
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    let at = Timestamp::now()
        .checked_add(SignedDuration::from_mins(3))
        .unwrap();
    Timestamp::from_second(at.as_second() / 60 * 60).unwrap()
}

/// A program in UTC with two pairs meeting at `meeting`, its store at `store` (a URL),
/// mail written as files into `dir/outbox`.
pub fn program(meeting: Timestamp, dir: &Path, store: &str) -> String {
    let zoned = meeting.to_zoned_datetime(TimeZone::UTC);
    let weekday = zoned.strftime("%a").to_string().to_lowercase();
    format!(
        r#"[program]
name = "Hand-off"
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
url = "{store}"

[mail]
transport = "file"
dir = "{outbox}"
reply_to = "mentoring+{{token}}@example.org"

{two_pairs}"#,
        two_pairs = common::TWO_PAIRS,
        date = zoned.date(),
        at = zoned.strftime("%H:%M"),
        outbox = dir.join("outbox").display(),
    )
}

/// The Reply-To of the agenda prompt to Alan, once the daemon has sent it.
pub fn alans_reply_to(outbox: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for entry in std::fs::read_dir(outbox).into_iter().flatten() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with("agenda_prompt-") {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let message = MessageParser::default().parse(&raw).unwrap();
            let to = message
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address());
            if to == Some("alan@example.org") {
                let reply_to = message.header_raw("Reply-To").unwrap();
                let start = reply_to.find('<').unwrap() + 1;
                return reply_to[start..reply_to.find('>').unwrap()].to_string();
            }
        }
        assert!(Instant::now() < deadline, "no agenda prompt to Alan");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Alan's agenda, a reply to his prompt, as mail message `n`.
pub fn agenda(reply_to: &str, n: usize) -> String {
    format!(
        "From: Alan Turing <alan@example.org>\r\nTo: <{reply_to}>\r\nSubject: Re: agenda\r\n\
         Message-ID: <agenda-{n}@mail.example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n- Walk through the runbook ({n})\r\n"
    )
}

/// `mentord deliver` alone: its exit code and what it said.
fn deliver_only(config: &Path, mail: &str) -> (i32, String) {
    let output = common::mentord()
        .arg("-c")
        .arg(config)
        .arg("deliver")
        .write_stdin(mail.as_bytes().to_vec())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `mentord ARGS`: exit code, stdout and stderr.
fn mentord(config: &Path, args: &[&str]) -> (i32, String, String) {
    let output = common::mentord()
        .arg("-c")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// How many of the verdicts `mentord intake` printed say `what`.
fn verdicts(said: &str, what: &str) -> usize {
    said.lines()
        .filter(|l| l.starts_with("mentord intake: #") && l.contains(what))
        .count()
}

/// Waits (up to `limit`) for `needle` in the file at `log`.
fn wait_in_log(log: &Path, needle: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the log:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A coordinator runs the daemon; Alan answers his agenda prompt through the mail
/// server's pipe. The daemon takes the agenda in within a few seconds of the hand-off
/// and its log says so (not what the agenda says); `status` then has it in.
#[test]
fn a_running_daemon_takes_a_delivered_agenda_in_within_seconds() {
    let backends = tempfile::tempdir().unwrap();
    for (location, database) in common::postgres::backends(backends.path()) {
        let dir = tempfile::tempdir().unwrap();
        let store = match &location {
            mentord::store::Location::Sqlite(_) => {
                format!("sqlite://{}", dir.path().join("mentord.db").display())
            }
            mentord::store::Location::Postgres(url) => url.clone(),
        };
        let config = dir.path().join("mentord.toml");
        std::fs::write(&config, program(meeting_soon(), dir.path(), &store)).unwrap();
        let log = dir.path().join("daemon.log");
        let mut daemons = common::Daemons(vec![Some(common::start_daemon_logging(
            &config,
            log.clone(),
            "info",
        ))]);
        let reply_to = alans_reply_to(&dir.path().join("outbox"));

        let handed = Instant::now();
        let (code, said) = deliver_only(&config, &agenda(&reply_to, 1));
        assert_eq!(code, 0, "{said}");
        assert!(said.contains("stored for the daemon"), "{said}");
        let text = wait_in_log(
            &log,
            "handed-off mail: taken in: agenda",
            Duration::from_secs(5),
        );
        assert!(
            handed.elapsed() < Duration::from_secs(5),
            "{store}: taken in after {:?}",
            handed.elapsed()
        );
        assert!(!text.contains("runbook"), "the agenda's text in the log");
        let (_, status, _) = mentord(&config, &["status", "--json"]);
        let json: serde_json::Value = serde_json::from_str(&status).unwrap();
        let alan = json["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pair"] == "grace-alan")
            .unwrap();
        assert_eq!(alan["agenda_in"], true, "{json}");
        assert!(json["mail_waiting"].is_null(), "{json}");
        daemons.stop();
        drop(database);
    }
}

/// No daemon runs (stopped for an upgrade, say): mail the server pipes in waits in the
/// store, and `status` tells the coordinator how much and since when, and that no
/// daemon takes it in. `mentord intake` (or the daemon, once started) takes it in.
#[test]
fn without_a_daemon_mail_waits_and_status_says_how_much_since_when() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mentord.toml");
    let store = format!("sqlite://{}", dir.path().join("mentord.db").display());
    std::fs::write(&config, program(meeting_soon(), dir.path(), &store)).unwrap();
    for n in 0..3 {
        let mail = format!(
            "From: stranger@example.net\r\nTo: mentoring@example.org\r\nSubject: Hello {n}\r\n\
             Message-ID: <wait-{n}@example.net>\r\n\r\nWho are you?\r\n"
        );
        let (code, said) = deliver_only(&config, &mail);
        assert_eq!(code, 0, "{said}");
    }
    let (_, out, _) = mentord(&config, &["status"]);
    assert!(
        out.contains("mail handed off: 3 wait(s) to be taken in, the oldest since")
            && out.contains("no daemon runs to take them in"),
        "{out}"
    );
    let (_, json, _) = mentord(&config, &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["mail_waiting"]["count"], 3, "{json}");
    assert!(json["mail_waiting"]["since"].is_string(), "{json}");

    let (code, _, said) = mentord(&config, &["intake"]);
    assert_eq!(code, 0, "{said}");
    assert_eq!(verdicts(&said, "kept for the coordinator"), 3, "{said}");
    let (_, out, _) = mentord(&config, &["status"]);
    assert!(!out.contains("mail handed off"), "{out}");
    assert!(out.contains("Hello 2"), "{out}");
}

/// A mail server retries mail `deliver` could not store (exit 75), so nothing may be
/// half-written then: a PostgreSQL store nobody listens at, a SQLite store whose folder
/// cannot be made. Once the store is back, the retry is stored and taken in.
#[test]
fn deliver_exits_75_and_writes_nothing_while_the_store_cannot_take_the_mail() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mentord.toml");
    let meeting = meeting_soon();
    let mail = "From: stranger@example.net\r\nTo: mentoring@example.org\r\nSubject: Hello there\r\n\
                Message-ID: <s1@example.net>\r\n\r\nWho are you?\r\n";
    std::fs::write(
        &config,
        program(meeting, dir.path(), "postgres://postgres@127.0.0.1:1/none"),
    )
    .unwrap();
    let (code, said) = deliver_only(&config, mail);
    assert_eq!(code, 75, "{said}");
    assert!(said.contains("will try again"), "{said}");

    // The store's folder is in the way of a file (even root cannot make it).
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, "not a folder").unwrap();
    let store: PathBuf = blocked.join("mentord.db");
    let url = format!("sqlite://{}", store.display());
    std::fs::write(&config, program(meeting, dir.path(), &url)).unwrap();
    let (code, said) = deliver_only(&config, mail);
    assert_eq!(code, 75, "{said}");
    assert!(!store.exists());

    // Fixed: the server's retry is stored, once, and taken in.
    std::fs::remove_file(&blocked).unwrap();
    let (code, said) = common::deliver(&config, mail.as_bytes());
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("kept for the coordinator"), "{said}");
    let (_, out, _) = mentord(&config, &["status"]);
    assert!(out.contains("Hello there"), "{out}");
    assert!(!out.contains("Who are you"), "{out}");
}

/// The coordinator saves the file with a typo in a pair while replies come in: the mail
/// server must not be told to retry for hours (before, `deliver` checked the whole file
/// and gave 75). `deliver` reads only `[store]`: the mail is stored. Taking it in needs
/// the program, so `intake` says what is wrong with the file and the mail waits until
/// it is fixed.
#[test]
fn a_file_broken_in_its_pairs_still_lets_mail_in_and_the_mail_waits_for_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mentord.toml");
    let store = format!("sqlite://{}", dir.path().join("mentord.db").display());
    let good = program(meeting_soon(), dir.path(), &store);
    let broken = good.replacen("mentor = \"grace\"", "mentor = \"nobody\"", 1);
    assert_ne!(good, broken);
    std::fs::write(&config, &broken).unwrap();
    let mail = "From: stranger@example.net\r\nTo: mentoring@example.org\r\nSubject: Typo day\r\n\
                Message-ID: <typo@example.net>\r\n\r\nhello\r\n";
    let (code, said) = deliver_only(&config, mail);
    assert_eq!(code, 0, "{said}");

    let (code, _, said) = mentord(&config, &["intake"]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("nobody"), "{said}");
    let (_, out, _) = mentord(&config, &["status"]);
    assert!(out.contains("mail handed off: 1 wait(s)"), "{out}");

    std::fs::write(&config, &good).unwrap();
    let (code, _, said) = mentord(&config, &["intake"]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("kept for the coordinator"), "{said}");
}

/// A mail server that lost the answer to its pipe delivers the same mail again, before
/// and after it was taken in: it is taken in once, and the later copy is "taken in
/// before".
#[test]
fn the_same_message_id_twice_is_taken_in_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mentord.toml");
    let store = format!("sqlite://{}", dir.path().join("mentord.db").display());
    std::fs::write(&config, program(meeting_soon(), dir.path(), &store)).unwrap();
    let mail = "From: stranger@example.net\r\nTo: mentoring@example.org\r\nSubject: Twice\r\n\
                Message-ID: <twice@example.net>\r\n\r\nhello\r\n";
    let (code, first) = deliver_only(&config, mail);
    assert_eq!(code, 0, "{first}");
    let (code, again) = deliver_only(&config, mail);
    assert_eq!(code, 0, "{again}");
    assert!(again.contains("waiting already"), "{again}");
    assert_eq!(common::queued_id(&first), common::queued_id(&again));
    let (_, out, _) = mentord(&config, &["status"]);
    assert!(out.contains("mail handed off: 1 wait(s)"), "{out}");
    let (_, _, said) = mentord(&config, &["intake"]);
    assert_eq!(verdicts(&said, "kept for the coordinator"), 1, "{said}");
    // After it was taken in: stored again, and known.
    let (code, said) = common::deliver(&config, mail.as_bytes());
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("taken in before: kept"), "{said}");
    let (_, out, _) = mentord(&config, &["inbox", "list"]);
    assert_eq!(out.matches("Twice").count(), 1, "{out}");
}

/// The store at `config`'s `[store]`, read: (mail waiting, agendas recorded, the
/// distinct Message-IDs recorded, mails the queue holds in all).
fn store_counts(store: &Path) -> (i64, i64, i64, i64) {
    let location = mentord::store::Location::Sqlite(store.to_path_buf());
    common::postgres::blocking(async move {
        let store = mentord::store::Store::open_read_only(location)
            .await
            .unwrap()
            .unwrap();
        let waiting = store.mail_waiting().await.unwrap().count;
        let counts = store.inbound_counts().await.unwrap();
        let agendas = counts.get("agenda").copied().unwrap_or(0);
        let recorded = counts.values().sum();
        let queued = i64::try_from(store.queue_times().await.unwrap().len()).unwrap() + waiting;
        (waiting, agendas, recorded, queued)
    })
}

/// A burst of replies arrives while the daemon is down (2,000 agenda replies, piped in
/// by 8 delivery processes at once); it is started, and killed with SIGKILL while it
/// takes them in; started again, it takes in the rest. Every mail is taken in exactly
/// once: 2,000 agendas recorded, none twice, none lost, none waiting, and no agenda
/// passed on twice.
#[test]
fn a_daemon_killed_while_it_takes_a_burst_in_takes_each_mail_in_once() {
    const MAILS: usize = 2000;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mentord.toml");
    let db = dir.path().join("mentord.db");
    let store = format!("sqlite://{}", db.display());
    std::fs::write(&config, program(meeting_soon(), dir.path(), &store)).unwrap();
    let outbox = dir.path().join("outbox");
    let mut first = common::Daemons(vec![Some(common::start_daemon(
        &config,
        dir.path().join("first.log"),
    ))]);
    let reply_to = alans_reply_to(&outbox);
    first.stop();

    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (next, config, reply_to) = (next.clone(), config.clone(), reply_to.clone());
            std::thread::spawn(move || {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if n >= MAILS {
                        return;
                    }
                    let (code, said) = deliver_only(&config, &agenda(&reply_to, n));
                    assert_eq!(code, 0, "{said}");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(store_counts(&db), (MAILS as i64, 0, 0, MAILS as i64));

    let mut killed = common::Daemons(vec![Some(common::start_daemon(
        &config,
        dir.path().join("killed.log"),
    ))]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let at_kill = loop {
        let counts = store_counts(&db);
        if counts.1 >= 100 {
            let mut child = killed.0[0].take().unwrap();
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            break store_counts(&db);
        }
        assert!(Instant::now() < deadline, "nothing taken in: {counts:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(at_kill.0 > 0, "all taken in before the kill: {at_kill:?}");

    let mut again = common::Daemons(vec![Some(common::start_daemon(
        &config,
        dir.path().join("again.log"),
    ))]);
    let deadline = Instant::now() + Duration::from_secs(120);
    while store_counts(&db).0 > 0 {
        assert!(
            Instant::now() < deadline,
            "mail still waits: {:?}",
            store_counts(&db)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    again.stop();
    let (waiting, agendas, recorded, queued) = store_counts(&db);
    assert_eq!(waiting, 0);
    assert_eq!(agendas, MAILS as i64, "agendas recorded");
    assert_eq!(recorded, MAILS as i64, "each mail recorded once");
    assert_eq!(queued, MAILS as i64, "each mail queued once");
    let passed_on = std::fs::read_dir(&outbox)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("agenda-")
        })
        .count();
    assert!(passed_on <= 1, "{passed_on} agendas passed on");
}
