//! No dead ends (SPEC §5, issue 24 items 6 and 8), through the real binary on a real
//! SQLite store and the file transport:
//!
//! - Grace answers her mentor reminder "Thanks, see you tomorrow!": mentord read only
//!   agendas and action items, so her mail sat set aside and Alan never heard it. A
//!   proven reply now goes on to the other person, marked forwarded, once however often
//!   the mail server hands it over; an unproven one (anyone can write `From:`) does not,
//!   and no more than three of one person's replies an hour.
//! - A stranger writes to the program's address: the mail was set aside with its sender
//!   and subject only. It is kept whole now, and the coordinator lists, reads and marks
//!   it handled with `mentord inbox`, its subject's bidi override made visible.
//! - A typo in the program file made `mentord status` print nothing at all, hiding the
//!   outbox and the kept mail; it shows them now beside the file's error, and exits 1.
//! - Unsubscribes and cancelled meetings were in the store and nowhere else to be seen.
//! - The coordinator's page lists kept mail with a "handled" button that works from the
//!   page itself only.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};

/// A program whose two pairs meet tomorrow at this hour, with the mentor's reminder due
/// two days before: late on the first start, so `mentord run` sends it at once. Replies
/// are proven by the reply token or by the receiving server `mx.example.org`.
fn program_meeting_tomorrow(dir: &Path) -> PathBuf {
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    let meeting = Timestamp::now()
        .checked_add(SignedDuration::from_hours(25))
        .unwrap();
    let on_the_hour = Timestamp::from_second(meeting.as_second() / 3600 * 3600).unwrap();
    common::program_meeting_at(
        dir,
        "No dead ends",
        on_the_hour,
        "agenda_before = \"1h\"\nreminder_before = \"48h\"\n",
        "[inbound]\nauthserv_id = \"mx.example.org\"\n",
    )
}

/// The files in `outbox` whose names start with `kind`, as text.
fn mails(outbox: &Path, kind: &str) -> Vec<String> {
    let mut found: Vec<(String, String)> = std::fs::read_dir(outbox)
        .into_iter()
        .flatten()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(kind)
        })
        .map(|path| {
            let name = path.display().to_string();
            (name, std::fs::read_to_string(&path).unwrap_or_default())
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, text)| text).collect()
}

/// The first mail of `kind` to `to`, waiting up to 30 s for the daemon to write it.
fn wait_for_mail(outbox: &Path, kind: &str, to: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let to_them = mails(outbox, kind)
            .into_iter()
            .find(|text| text.lines().any(|l| l.starts_with("To:") && l.contains(to)));
        if let Some(text) = to_them {
            return text;
        }
        assert!(Instant::now() < deadline, "no {kind} to {to} within 30 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn header<'m>(mail: &'m str, name: &str) -> &'m str {
    mail.lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(": "))
        })
        .unwrap_or_else(|| panic!("no {name} in {mail}"))
        .trim()
}

/// The text of a mail written by the file transport, quoted-printable undone.
fn body_text(mail: &str) -> String {
    mail.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=E2=80=99", "’")
}

#[test]
fn a_proven_thanks_reaches_the_other_person_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = program_meeting_tomorrow(dir.path());
    let outbox = dir.path().join("outbox");
    let mut daemons = common::Daemons(vec![Some(common::start_daemon(
        &config,
        dir.path().join("daemon-1.log"),
    ))]);
    let reminder = wait_for_mail(&outbox, "mentor_reminder", "grace@example.org");
    daemons.stop();
    let id = header(&reminder, "Message-ID");

    // Grace's "thanks" as her mail server hands it over: vouched for by mx.example.org.
    let thanks = format!(
        "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n\
         From: Grace Hopper <grace@example.org>\r\nTo: mentoring@example.org\r\n\
         Subject: Re: your meeting tomorrow\r\nMessage-ID: <thanks-1@example.org>\r\n\
         In-Reply-To: {id}\r\nReferences: {id}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Thanks, see you tomorrow!\r\n\r\nOn Monday, Mentoring wrote:\r\n> Hello Grace, the quoted reminder\r\n"
    );
    let (code, said) = common::deliver(&config, thanks.as_bytes());
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("taken in: forwarded"), "{said}");
    // The mail server hands the same mail over again (a retry after a timeout).
    let (code, said) = common::deliver(&config, thanks.as_bytes());
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("taken in before: forwarded"), "{said}");

    // Someone else writes Grace's address into From: nothing vouches for it.
    let forged = format!(
        "From: Grace Hopper <grace@example.org>\r\nTo: mentoring@example.org\r\n\
         Subject: Re: your meeting tomorrow\r\nMessage-ID: <forged-1@evil.example>\r\n\
         In-Reply-To: {id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Unproven: click http://evil.example/ now\r\n"
    );
    let (code, said) = common::deliver(&config, forged.as_bytes());
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("set aside"), "{said}");

    let mut daemons = common::Daemons(vec![Some(common::start_daemon(
        &config,
        dir.path().join("daemon-2.log"),
    ))]);
    let forwarded = wait_for_mail(&outbox, "forwarded", "alan@example.org");
    // A moment more, for a second copy to show if there were one.
    std::thread::sleep(Duration::from_secs(2));
    daemons.stop();

    let subject = header(&forwarded, "Subject");
    assert!(subject.contains("Forwarded from Grace Hopper"), "{subject}");
    let text = body_text(&forwarded);
    assert!(text.contains("Thanks, see you tomorrow!"), "{text}");
    // Only the new text: the quoted reminder stays out.
    assert!(!text.contains("the quoted reminder"), "{text}");
    assert!(text.contains("grace@example.org"), "{text}");
    let all = mails(&outbox, "forwarded");
    assert_eq!(all.len(), 1, "forwarded once: {all:#?}");
    assert!(
        !all.iter().any(|m| m.contains("Unproven")),
        "the forged reply went on"
    );
    // Grace is not sent her own words.
    assert!(
        !all[0]
            .lines()
            .any(|l| l.starts_with("To:") && l.contains("grace@"))
    );

    // Three of Grace's replies an hour go on; a fourth waits for the coordinator.
    for n in 2..=4 {
        let again = thanks
            .replace(
                "<thanks-1@example.org>",
                &format!("<thanks-{n}@example.org>"),
            )
            .replace(
                "Thanks, see you tomorrow!",
                &format!("And one more thing, {n}."),
            );
        let (code, said) = common::deliver(&config, again.as_bytes());
        assert_eq!(code, 0, "{said}");
        if n < 4 {
            assert!(said.contains("taken in: forwarded"), "{n}: {said}");
        } else {
            assert!(said.contains("set aside"), "{said}");
            assert!(said.contains("at most 3 an hour"), "{said}");
        }
    }
}

/// A stranger's mail: its subject carries a right-to-left override (U+202E), which would
/// turn "gnp.exe" around on a terminal.
fn stranger_mail() -> Vec<u8> {
    "From: Someone <someone@example.net>\r\nTo: mentoring@example.org\r\n\
     Subject: Invoice \u{202E}gnp.exe\r\nMessage-ID: <stranger-1@example.net>\r\n\
     Date: Mon, 7 Jan 2030 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
     Content-Type: text/plain; charset=utf-8\r\n\r\nCan I join the mentoring program?\r\n"
        .as_bytes()
        .to_vec()
}

fn inbox(config: &Path, args: &[&str]) -> (i32, String, String) {
    let output = common::mentord()
        .arg("-c")
        .arg(config)
        .arg("inbox")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn mail_from_outside_is_kept_listed_shown_and_handled() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::program_in_2030(dir.path(), common::TWO_PAIRS);
    let (code, said) = common::deliver(&config, &stranger_mail());
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("kept for the coordinator"), "{said}");
    // Twice is once.
    let (code, said) = common::deliver(&config, &stranger_mail());
    assert_eq!(code, 0, "{said}");

    let (code, list, _) = inbox(&config, &["list"]);
    assert_eq!(code, 0);
    let rows: Vec<&str> = list.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{list}");
    assert!(rows[0].starts_with("1 "), "the ID first: {list}");
    assert!(rows[0].contains("someone@example.net"), "{list}");
    assert!(rows[0].contains("Invoice <U+202E>gnp.exe"), "{list}");
    assert!(
        !list.contains('\u{202E}'),
        "the override went out as it came"
    );

    let (code, json, _) = inbox(&config, &["list", "--json"]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json[0]["id"], 1);
    assert_eq!(json[0]["subject"], "Invoice <U+202E>gnp.exe");
    assert_eq!(json[0]["handled"], false);

    let (code, shown, _) = inbox(&config, &["show", "1"]);
    assert_eq!(code, 0);
    assert!(
        shown.contains("From: Someone <someone@example.net>"),
        "{shown}"
    );
    assert!(
        shown.contains("Subject: Invoice <U+202E>gnp.exe"),
        "{shown}"
    );
    assert!(
        shown.contains("Can I join the mentoring program?"),
        "{shown}"
    );
    assert!(!shown.contains('\u{202E}'));

    // It is not mail set aside: the status names it as kept, for the coordinator.
    let status = common::mentord()
        .arg("-c")
        .arg(&config)
        .arg("status")
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        status.contains("mail kept for the coordinator (1 not handled"),
        "{status}"
    );
    assert!(!status.contains("mail set aside"), "{status}");

    let (code, said, _) = inbox(&config, &["done", "1"]);
    assert_eq!(code, 0);
    assert!(said.contains("kept mail 1 marked handled"), "{said}");
    let (_, json, _) = inbox(&config, &["list", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json[0]["handled"], true, "{json}");
    let (_, list, _) = inbox(&config, &["list"]);
    assert!(list.contains("(handled)"), "{list}");

    let (code, _, error) = inbox(&config, &["done", "99"]);
    assert_eq!(code, 1);
    assert!(error.contains("no kept mail with ID 99"), "{error}");
}

#[test]
fn status_with_a_typo_shows_the_store_and_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::program_in_2030(dir.path(), common::TWO_PAIRS);
    let (code, said) = common::deliver(&config, &stranger_mail());
    assert_eq!(code, 0, "{said}");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("every = \"week\"", "evry = \"week\"")).unwrap();

    let output = common::mentord()
        .arg("-c")
        .arg(&config)
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The file's error, with where it is: line 9, column 1 of the file.
    let at = format!("{}:9:1", config.display());
    assert!(stdout.contains(&at), "{stdout}");
    assert!(stderr.contains(&at), "{stderr}");
    assert!(stdout.contains("evry"), "{stdout}");
    assert!(stdout.contains("THE PROGRAM FILE IS INVALID"), "{stdout}");
    // And what the store holds.
    assert!(
        stdout.contains("outbox: 0 pending, 0 sent, 0 failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("mail kept for the coordinator (1 not handled"),
        "{stdout}"
    );
    assert!(stdout.contains("no daemon running"), "{stdout}");

    let output = common::mentord()
        .arg("-c")
        .arg(&config)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        json["program_error"].as_str().unwrap().contains(&at),
        "{json}"
    );
    assert_eq!(json["kept_total"], 1);
}

#[test]
fn status_shows_unsubscribes_and_cancelled_meetings() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::program_in_2030(dir.path(), common::TWO_PAIRS);
    // Alan stopped his agenda prompts (the link in one of them); Grace can't make the
    // meeting of 15 January, and said so late.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let program = mentord::program::load(&config).unwrap();
        let store = mentord::store::Store::open(&program.store.location)
            .await
            .unwrap();
        let at: Timestamp = "2030-01-14T20:00:00Z".parse().unwrap();
        mentord::app::unsubscribe::unsubscribe(
            &store,
            "alan",
            mentord::vocab::MessageKind::AgendaPrompt,
            at,
        )
        .await
        .unwrap();
        let cancelled = mentord::store::Cancellation {
            pair: "grace-alan".into(),
            date: "2030-01-15".parse().unwrap(),
            occurrence: "2030-01-15T10:00:00Z".into(),
            person: "grace".into(),
            at,
            late: true,
        };
        assert!(store.record_cancellation(&cancelled).await.unwrap());
    });

    let output = common::mentord()
        .arg("-c")
        .arg(&config)
        .arg("status")
        .env("MENTORD_NOW", "2030-01-14T21:00:00Z")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("unsubscribed: Alan Turing: agenda prompts"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cancelled: 2030-01-15, Grace Hopper can't make it (late)"),
        "{stdout}"
    );
    let output = common::mentord()
        .arg("-c")
        .arg(&config)
        .args(["status", "--json"])
        .env("MENTORD_NOW", "2030-01-14T21:00:00Z")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let pair = &json["pairs"][0];
    assert_eq!(pair["pair"], "grace-alan");
    assert_eq!(pair["unsubscribed"][0], "Alan Turing: agenda prompts");
    assert_eq!(
        pair["cancelled"][0],
        "2030-01-15, Grace Hopper can't make it (late)"
    );
    assert_eq!(json["pairs"][1]["cancelled"], serde_json::json!([]));
}

const PASSWORD: &str = "correct horse battery staple";

fn coordinator() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("coordinator:{PASSWORD}"))
    )
}

#[test]
fn the_page_lists_kept_mail_and_marks_it_handled_from_the_page_only() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::http::free_port();
    let http = format!(
        "[http]\nlisten = \"127.0.0.1:{port}\"\npassword_env = \"TEST_KEPT_PASSWORD\"\n\n{}",
        common::TWO_PAIRS
    );
    let config = common::program_in_2030(dir.path(), &http);
    let (code, said) = common::deliver(&config, &stranger_mail());
    assert_eq!(code, 0, "{said}");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(&config)
        .arg("run")
        .env("RUST_LOG", "warn")
        .env("TEST_KEPT_PASSWORD", PASSWORD)
        .env_remove("MENTORD_NOW")
        .env_remove("MENTORD_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    let mut daemons = common::Daemons(vec![Some(child)]);
    let auth = coordinator();
    let page = || common::http::request(port, "GET", "/", &[("Authorization", auth.as_str())], b"");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
        || common::http::get(port, "/readyz").status != 200
    {
        assert!(
            Instant::now() < deadline,
            "the daemon did not serve within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let shown = page();
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("Kept mail"), "{}", shown.body);
    assert!(shown.body.contains("someone@example.net"), "{}", shown.body);
    assert!(
        shown.body.contains("Invoice &lt;U+202E&gt;gnp.exe"),
        "{}",
        shown.body
    );
    assert!(!shown.body.contains('\u{202E}'));
    assert!(
        shown.body.contains("action=\"/kept/1/handled\""),
        "{}",
        shown.body
    );

    // Another site's form, posted by the coordinator's signed-in browser: refused.
    let evil = common::http::request(
        port,
        "POST",
        "/kept/1/handled",
        &[
            ("Authorization", auth.as_str()),
            ("Origin", "https://evil.example"),
        ],
        b"",
    );
    assert_eq!(evil.status, 403);
    // Without the password: refused too.
    let origin = format!("http://127.0.0.1:{port}");
    let anonymous = common::http::request(
        port,
        "POST",
        "/kept/1/handled",
        &[("Origin", origin.as_str())],
        b"",
    );
    assert_eq!(anonymous.status, 401);
    assert!(page().body.contains("action=\"/kept/1/handled\""));

    // The page's own button.
    let pressed = common::http::request(
        port,
        "POST",
        "/kept/1/handled",
        &[
            ("Authorization", auth.as_str()),
            ("Origin", origin.as_str()),
        ],
        b"",
    );
    assert_eq!(pressed.status, 303);
    let after = page();
    assert!(
        !after.body.contains("action=\"/kept/1/handled\""),
        "{}",
        after.body
    );
    assert!(after.body.contains("None waiting."), "{}", after.body);
    daemons.stop();
}

/// The mail server is down: the coordinator's page said `Delivery: ok` and `Sending:
/// on` while nothing went. Now `status` and the page say since when mail cannot go and
/// the last error, and the pair's delivery shows its mail waiting.
#[test]
fn status_and_the_page_say_since_when_mail_cannot_go() {
    let dir = tempfile::tempdir().unwrap();
    let config = program_meeting_tomorrow(dir.path());
    let smtp_port = common::http::free_port();
    let port = common::http::free_port();
    let text = std::fs::read_to_string(&config).unwrap();
    let outbox_line = format!("dir = \"{}\"\n", dir.path().join("outbox").display());
    // SMTP to a port nobody listens at, and the page, in the sections before the people.
    let text = text.replace(&outbox_line, "").replace(
        "transport = \"file\"",
        &format!("transport = \"smtp\"\nurl = \"smtp://127.0.0.1:{smtp_port}\"\ntls = \"none\""),
    );
    let text = text.replace(
        "[inbound]\n",
        &format!(
            "[http]\nlisten = \"127.0.0.1:{port}\"\npassword_env = \"TEST_KEPT_PASSWORD\"\n\n[inbound]\n"
        ),
    );
    std::fs::write(&config, &text).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(&config)
        .arg("run")
        .env("RUST_LOG", "warn")
        .env("TEST_KEPT_PASSWORD", PASSWORD)
        .env_remove("MENTORD_NOW")
        .env_remove("MENTORD_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    let mut daemons = common::Daemons(vec![Some(child)]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let table = loop {
        let output = common::mentord()
            .arg("-c")
            .arg(&config)
            .arg("status")
            .output()
            .unwrap();
        let table = String::from_utf8_lossy(&output.stdout).into_owned();
        if table.contains("MAIL CANNOT GO") {
            break table;
        }
        assert!(
            Instant::now() < deadline,
            "status never said mail cannot go: {table}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let line = table
        .lines()
        .find(|l| l.starts_with("MAIL CANNOT GO since"))
        .unwrap();
    assert!(
        line.contains("wait to be tried again; the last error: "),
        "{line}"
    );
    assert!(
        table.contains("message(s) could not go yet and wait to be tried again"),
        "{table}"
    );
    let auth = coordinator();
    let page = common::http::request(port, "GET", "/", &[("Authorization", auth.as_str())], b"");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<strong>cannot go</strong> since"),
        "{}",
        page.body
    );
    assert!(page.body.contains("waiting to retry"), "{}", page.body);
    daemons.stop();
}

/// The store's side of both, on SQLite and PostgreSQL: kept mail once per Message-ID,
/// its bytes whole (a NUL in the subject stops nothing on PostgreSQL), listed unhandled
/// first, marked handled once; and the count that bounds forwarding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_keeps_mail_and_counts_forwards_in_both_dialects() {
    use mentord::store::{Handled, InboundKind, InboundRecord, Store};
    let dir = tempfile::tempdir().unwrap();
    for (location, _database) in common::postgres::backends(dir.path()) {
        let backend = location.describe();
        let store = Store::open(location).await.unwrap();
        let at: Timestamp = "2030-01-07T09:00:00Z".parse().unwrap();
        let raw = b"From: a@example.net\r\nSubject: x\r\n\r\n\x00\xff binary\r\n";
        assert!(
            store
                .keep_mail("<k1@x>", "a@example.net", "hi\0 there", raw, at)
                .await
                .unwrap()
        );
        assert!(
            !store
                .keep_mail("<k1@x>", "a@example.net", "again", raw, at)
                .await
                .unwrap()
        );
        let later = at.checked_add(SignedDuration::from_hours(1)).unwrap();
        assert!(
            store
                .keep_mail("<k2@x>", "b@example.net", "second", b"x", later)
                .await
                .unwrap()
        );
        let listed = store.kept_mail(false, 10).await.unwrap();
        assert_eq!(listed.len(), 2, "{backend}");
        assert_eq!(listed[0].subject, "second", "{backend}: newest first");
        assert_eq!(listed[1].subject, "hi there", "{backend}");
        let first = listed[1].id;
        let (kept, bytes) = store.kept_mail_whole(first).await.unwrap().unwrap();
        assert_eq!(bytes, raw.to_vec(), "{backend}");
        assert_eq!(kept.size, raw.len() as i64, "{backend}");
        assert_eq!(
            store.mark_kept_handled(first, later).await.unwrap(),
            Handled::Marked
        );
        assert_eq!(
            store.mark_kept_handled(first, later).await.unwrap(),
            Handled::Already(later),
            "{backend}"
        );
        assert_eq!(
            store.mark_kept_handled(9999, later).await.unwrap(),
            Handled::Unknown
        );
        assert_eq!(store.kept_unhandled().await.unwrap(), 1, "{backend}");
        let all = store.kept_mail(false, 10).await.unwrap();
        assert_eq!(all[1].id, first, "{backend}: handled last");
        assert_eq!(
            store.kept_mail(true, 10).await.unwrap().len(),
            1,
            "{backend}"
        );

        for i in 0..2 {
            let mut record =
                InboundRecord::received(format!("<f{i}@x>"), "grace@example.org".into(), "Re");
            record.kind = InboundKind::Forwarded;
            record.pair = Some("grace-alan".into());
            record.person = Some("grace".into());
            record.body = Some("Thanks".into());
            record.pending = true;
            assert!(
                store.record_inbound(&record, at).await.unwrap(),
                "{backend}"
            );
        }
        assert_eq!(
            store
                .forwards_since("grace-alan", "grace", at)
                .await
                .unwrap(),
            2,
            "{backend}"
        );
        assert_eq!(
            store
                .forwards_since("grace-alan", "grace", later)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .forwards_since("grace-alan", "alan", at)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store.inbound_body("<f0@x>").await.unwrap().as_deref(),
            Some("Thanks")
        );
    }
}
