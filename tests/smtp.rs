//! The daemon against a real SMTP server (Python's aiosmtpd, started here on loopback),
//! on a virtual clock: temporary failures are retried until delivered, a permanent
//! rejection is recorded without holding up the rest, and every message the server
//! accepts arrives once, with the Message-ID the store holds.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Stdio};

use jiff::Timestamp;
use mentord::daemon::smtp::Smtp;
use mentord::daemon::{Daemon, Transport};
use mentord::program;
use mentord::render::Templates;
use mentord::store::Store;

mod common;

use common::smtp::{
    Server, example_over_smtp, free_port, generated_program, header, run_until_quiet, smtp_daemon,
    start_server, start_server_on, status_at,
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// How many different messages (by Message-ID) the server accepted; fewer than it
/// accepted in all means doubles.
fn distinct(server: &Server) -> usize {
    let mut ids = server.message_ids();
    ids.dedup();
    ids.len()
}

async fn daemon(dir: &Path, port: u16) -> Daemon {
    let config = example_over_smtp(dir, port, "", "");
    smtp_daemon(&config, &dir.join("mentord.db")).await
}

/// `mentord status --json` on the test's program, at the virtual `now`.
fn status(dir: &Path, now: Timestamp) -> serde_json::Value {
    status_at(&dir.join("mentord.toml"), now)
}

#[tokio::test]
async fn temporary_failures_retry_and_a_rejection_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    // The first three deliveries are refused for now (451); vint's address does not exist (550).
    let server = start_server(
        dir.path(),
        &["--tempfail", "3", "--reject", "vint@example.org"],
    );
    let mut d = daemon(dir.path(), server.port).await;
    let start: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();
    run_until_quiet(&mut d, start, "2027-01-04T12:00:00Z".parse().unwrap()).await;

    let mail = server.received();
    // Ten invites, one of them rejected for good: nine arrive, each exactly once.
    assert_eq!(mail.len(), 9, "{}", mail.len());
    assert_eq!(distinct(&server), 9, "a message arrived twice");
    assert!(
        mail.iter()
            .all(|m| header(m, "X-Envelope-To") != Some("vint@example.org"))
    );
    assert!(
        mail.iter()
            .all(|m| m.contains("text/calendar; method=REQUEST"))
    );

    let store = Store::open(&dir.path().join("mentord.db")).await.unwrap();
    let summary = store.summary().await.unwrap();
    assert_eq!((summary.sent, summary.failed, summary.pending), (9, 1, 0));
    assert!(
        summary.failures[0].recipient == "vint@example.org"
            && summary.failures[0].error.contains("550"),
        "{:?}",
        summary.failures
    );
    // `mentord status` shows it: in the outbox counts, the failure list and the pair.
    let report = status(dir.path(), "2027-01-04T12:00:00Z".parse().unwrap());
    assert_eq!(
        (report["sent"].as_u64(), report["failed"].as_u64()),
        (Some(9), Some(1))
    );
    assert_eq!(
        report["failures"][0]["recipient"], "vint@example.org",
        "{report:#}"
    );
    let pair = report["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pair"] == "barbara-vint")
        .unwrap();
    assert_eq!(pair["failures"], 1, "{report:#}");
}

/// 421 is a server going away (overloaded, restarting): it answers 421 and closes the
/// connection. For the first twelve deliveries it does, so every one of the ten invites
/// is refused at least once; then it accepts. Each arrives exactly once, none is given up.
#[tokio::test]
async fn a_server_answering_421_for_a_while_gets_everything_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &["--tempfail", "12", "--tempfail-code", "421"]);
    let mut d = daemon(dir.path(), server.port).await;
    let start: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();
    let total = run_until_quiet(&mut d, start, "2027-01-04T12:00:00Z".parse().unwrap()).await;
    // Each refusal costs one attempt (a closed connection is not used again), and
    // none is mistaken for a permanent failure.
    assert_eq!(
        (total.sent, total.retried, total.failed),
        (10, 12, 0),
        "{total:?}"
    );
    let mail = server.received();
    assert_eq!(mail.len(), 10);
    assert_eq!(distinct(&server), 10, "a message arrived twice");
    let store = Store::open(&dir.path().join("mentord.db")).await.unwrap();
    let summary = store.summary().await.unwrap();
    assert_eq!((summary.sent, summary.failed, summary.pending), (10, 0, 0));
}

/// lettre's client sent MAIL, RCPT and DATA one at a time, each waiting for its reply,
/// then the message: four round trips a message, and the end of DATA dot-stuffed a byte
/// at a time. A server that offers PIPELINING (Postfix, the big relays) now gets the
/// three commands in one write; one that does not still gets them one by one. Both get
/// every message exactly as the store holds it.
#[tokio::test]
async fn pipelining_is_used_where_offered_and_the_mail_is_the_same_without() {
    let start: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();
    let until: Timestamp = "2027-01-04T12:00:00Z".parse().unwrap();
    // A server that refuses a second EHLO (OpenSMTPD) is not asked what it offers
    // beyond lettre's reading: it gets the commands one by one, and all of its mail.
    for (args, pipelined) in [
        (&[][..], 10),
        (&["--no-pipelining"][..], 0),
        (&["--one-ehlo"][..], 0),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let server = start_server(dir.path(), args);
        let mut d = daemon(dir.path(), server.port).await;
        let total = run_until_quiet(&mut d, start, until).await;
        assert_eq!((total.sent, total.failed), (10, 0), "{args:?}: {total:?}");
        assert_eq!(server.pipelined(), pipelined, "{args:?}");

        let mut options = sqlx::sqlite::SqliteConnectOptions::new();
        options = options.filename(dir.path().join("mentord.db"));
        let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options)
            .await
            .unwrap();
        let stored: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT m.message_id, b.body FROM messages m JOIN bodies b ON b.key = m.key",
        )
        .fetch_all(&mut db)
        .await
        .unwrap();
        let stored: std::collections::HashMap<String, String> = stored
            .into_iter()
            .map(|(id, body)| (id, String::from_utf8(body).unwrap()))
            .collect();
        let received = server.received();
        assert_eq!(received.len(), 10, "{args:?}");
        for mail in received {
            let id = header(&mail, "Message-ID").unwrap().to_string();
            let (_, content) = mail.split_once("\r\n").unwrap();
            assert_eq!(
                content.trim_end_matches("\r\n"),
                stored[&id].trim_end_matches("\r\n"),
                "{args:?}: {id} arrived other than stored"
            );
        }
    }
}

#[tokio::test]
async fn a_server_that_is_down_is_caught_up_with() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // No server yet: every attempt fails to connect, so sending pauses rather than storms.
    let mut d = daemon(dir.path(), port).await;
    let start: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();
    let tick = d.tick(start, &|| false).await.unwrap();
    assert_eq!(tick.sent, 0);
    assert!(tick.retried >= 5 && tick.retried < 10, "{tick:?}");
    // `status` says so, with the reason.
    let report = status(dir.path(), start);
    let daemon = &report["daemons"][0];
    assert_eq!(daemon["alive"], true, "{report:#}");
    assert!(daemon["paused_until"].is_string(), "{report:#}");
    assert!(
        daemon["pause_reason"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}")),
        "{report:#}"
    );
    // The server comes up on that port; the daemon delivers everything, once.
    let server = start_server_on(dir.path(), port, &[]);
    run_until_quiet(
        &mut d,
        tick.next.unwrap(),
        "2027-01-04T12:00:00Z".parse().unwrap(),
    )
    .await;
    let mail = server.received();
    assert_eq!(mail.len(), 10);
    // Sending resumed: the pause is gone from `status`.
    let report = status(dir.path(), "2027-01-04T12:00:00Z".parse().unwrap());
    assert!(report["daemons"][0]["paused_until"].is_null(), "{report:#}");
}

/// `kill -9` of the daemon six times while it sends 3,000 invites over its default
/// sessions, each kill once another 400 have arrived (so it lands mid-send), then a
/// clean run: nothing is lost, and a message arrives twice only if it was in flight at
/// a kill (sent, its mark not yet committed: at most `SENT_UNMARKED` per kill), with
/// the same Message-ID.
#[test]
fn kill_9_while_sending_loses_nothing_and_doubles_only_what_was_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &[]);
    let pairs = 1_500;
    let text = generated_program(
        pairs,
        &format!(
            "[mail]\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{}\"\ntls = \"none\"\n",
            server.port
        ),
        "",
    );
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_mentord"))
            .arg("-c")
            .arg(&config)
            .arg("run")
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // Distinct messages received (a duplicate from a kill must not end the wait early).
    let count = || distinct(&server);
    let mut kills = 0;
    for _ in 0..6 {
        let target = server.accepted() + 400;
        let mut child = run();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while server.accepted() < target {
            assert!(std::time::Instant::now() < deadline, "sending stalled");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    assert!(
        count() < 2 * pairs,
        "every kill came after the last message"
    );
    let mut child = run();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while count() < 2 * pairs && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // A clean stop: SIGTERM, exit 0. (Everything may have gone out before this run
    // started; a SIGTERM before it handles the signal would just kill it.)
    common::wait_until_it_handles_sigterm(&child);
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());

    let (accepted, distinct) = (server.accepted(), distinct(&server));
    assert_eq!(distinct, 2 * pairs, "lost messages");
    assert!(
        accepted - distinct <= kills * mentord::daemon::SENT_UNMARKED,
        "{} duplicates after {kills} kills",
        accepted - distinct
    );
    // Several sessions did the sending.
    assert!(server.most_sessions_at_once() > 1, "one session at a time");
}

/// Regression: a relay that answers `530 Authentication required` to MAIL FROM failed
/// every message for good, and once the credentials were fixed nothing went out. The
/// refusal of the sender is the link's fault: sending pauses (status says why), nothing
/// is failed, and once the relay takes mail again every invite goes out once.
#[tokio::test]
async fn a_relay_that_wants_a_login_pauses_sending_and_fails_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("relay-wants-login");
    std::fs::write(&locked, "").unwrap();
    let server = start_server(
        dir.path(),
        &["--refuse-sender-while", locked.to_str().unwrap()],
    );
    let mut d = daemon(dir.path(), server.port).await;
    let start: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();
    let tick = d.tick(start, &|| false).await.unwrap();
    assert_eq!((tick.sent, tick.failed), (0, 0), "{tick:?}");
    let report = status(dir.path(), start);
    assert_eq!(report["failed"], 0, "{report:#}");
    assert!(
        report["daemons"][0]["pause_reason"]
            .as_str()
            .is_some_and(|r| r.contains("530")),
        "{report:#}"
    );
    // The credentials are fixed: everything goes out when the pause ends, once.
    std::fs::remove_file(&locked).unwrap();
    run_until_quiet(
        &mut d,
        tick.next.unwrap(),
        "2027-01-04T12:00:00Z".parse().unwrap(),
    )
    .await;
    assert_eq!(server.received().len(), 10);
    assert_eq!(distinct(&server), 10);
}

/// `mentord retry PAIR` sends a failed message again once its cause is fixed, as it
/// was: same key, same Message-ID. vint's address is refused (550) by the first
/// server; the second takes it.
#[tokio::test]
async fn retry_sends_a_failed_message_again_with_its_message_id() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_server(dir.path(), &["--reject", "vint@example.org"]);
    let port = first.port;
    let mut d = daemon(dir.path(), port).await;
    let start: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();
    run_until_quiet(&mut d, start, "2027-01-04T09:00:00Z".parse().unwrap()).await;
    assert_eq!(first.received().len(), 9);
    drop(first);
    let second = start_server_on(&dir.path().join("second"), port, &[]);
    let config = dir.path().join("mentord.toml");
    let retry = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mentord"))
            .arg("-c")
            .arg(&config)
            .arg("retry")
            .args(args)
            .output()
            .unwrap()
    };
    assert_eq!(retry(&[]).status.code(), Some(2), "nothing named");
    let unknown = retry(&["barbara-vin"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("did you mean \"barbara-vint\""));
    let output = retry(&["barbara-vint"]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("queued 1 failed message again"),
        "{output:?}"
    );
    run_until_quiet(
        &mut d,
        "2027-01-04T09:00:00Z".parse().unwrap(),
        "2027-01-04T10:00:00Z".parse().unwrap(),
    )
    .await;
    let mail = second.received();
    assert_eq!(mail.len(), 1);
    assert_eq!(header(&mail[0], "X-Envelope-To"), Some("vint@example.org"));
    let program = program::load(&config).unwrap();
    // The Message-ID it was first queued with: keyed with the store's secret.
    let store = mentord::store::Store::open(&program.store.location)
        .await
        .unwrap();
    let key = mentord::daemon::store_key(&store).await.unwrap();
    let expected = key.message_id(
        &format!("{}\ninvite/barbara-vint/-/0/vint", program.name),
        "example.org",
    );
    assert_eq!(header(&mail[0], "Message-ID"), Some(expected.as_str()));
    let report = status(dir.path(), "2027-01-04T10:00:00Z".parse().unwrap());
    assert_eq!(
        (report["sent"].as_u64(), report["failed"].as_u64()),
        (Some(10), Some(0))
    );
}

/// Regression: against a server that accepts and never answers, the breaker's pause
/// was counted from the tick's start, so it was already over when it began ("sending
/// paused … resume_at=" a time in the past) and sending never really paused. Each
/// failed send here takes the 30 s timeout (on tokio's clock, run fast): the pause
/// must end a minute after the fifth failure, not a minute after the tick began.
#[tokio::test(start_paused = true)]
async fn a_silent_server_pauses_from_the_failures_not_the_tick() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket); // never a word
        }
    });
    let config = mentord::program::MailConfig::Smtp {
        endpoint: mentord::program::SmtpEndpoint {
            implicit_tls: false,
            user: None,
            host: "127.0.0.1".into(),
            port: Some(port),
        },
        tls: false,
        password_env: None,
        password_file: None,
        rate: mentord::program::Rate::default(),
        connections: 1,
    };
    let mut smtp = Smtp::new(&config, "org@example.org").unwrap();
    let message = mentord::store::Queued {
        key: "invite/a-b/-/0/a".into(),
        message_id: "<x@example.org>".into(),
        kind: mentord::vocab::MessageKind::Invite,
        pair: Some("a-b".into()),
        recipient: "a@example.org".into(),
        attempts: 0,
        body: b"Subject: x\r\n\r\nx\r\n".to_vec(),
        uid: None,
        method: None,
        sequence: None,
    };
    let tick: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();
    {
        let (_, mut lanes) = smtp.lanes();
        for _ in 0..5 {
            assert!(lanes[0].send(&message, tick).await.is_err());
        }
    }
    let until = smtp.paused_until(tick).expect("paused after five failures");
    let five_timeouts = jiff::SignedDuration::from_secs(5 * 30);
    assert!(
        until >= tick + five_timeouts + jiff::SignedDuration::from_secs(60),
        "the pause ends at {until}, before the failures ended"
    );
}

/// Regression: a 1,200-character name gave To and Subject lines over 1,000 octets, and a
/// relay enforcing RFC 5321's limit (aiosmtpd does: "500 Line too long") failed both
/// invites for good. Names are now bounded and every header folded, inside a word if
/// need be (RFC 2047): a subject of a 1,200-character word goes through such a relay.
#[tokio::test]
async fn the_longest_names_pass_a_relay_that_enforces_line_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &[]);
    let long = "GraceBrewsterMurrayHopper".repeat(8);
    assert!(long.chars().count() <= 200);
    let text = std::fs::read_to_string(format!("{ROOT}/config/mentord.toml"))
        .unwrap()
        .replace("name = \"Grace Hopper\"", &format!("name = \"{long}\""))
        .replace(
            "skip = [2027-03-26, 2027-04-05, 2027-05-24]",
            "skip = [2027-03-26, 2027-04-05, 2027-05-24]\ntemplates = \"mine\"",
        )
        + &format!(
            "\n[mail]\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{}\"\ntls = \"none\"\n",
            server.port
        );
    std::fs::create_dir_all(dir.path().join("mine")).unwrap();
    std::fs::write(
        dir.path().join("mine/invite.md"),
        // A word of 1,200 characters: nowhere to fold it but inside.
        "subject: {{ other.name }}{{ other.name }}{{ other.name }}{{ other.name }}{{ other.name }}{{ other.name }}\n\nHello {{ recipient.name }}\n",
    )
    .unwrap();
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    let program = program::load(&config).unwrap();
    let smtp = Smtp::new(&program.mail, &program.organizer.email).unwrap();
    let store = Store::open(&dir.path().join("mentord.db")).await.unwrap();
    let templates = Templates::load(program.templates.as_deref()).unwrap();
    let mut d = Daemon::new(program, templates, store, Transport::Smtp(Box::new(smtp)));
    let start: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();
    let total = run_until_quiet(&mut d, start, "2027-01-04T09:00:00Z".parse().unwrap()).await;
    assert_eq!((total.sent, total.failed), (10, 0), "{total:?}");
    let mail = server.received();
    assert!(
        mail.iter()
            .flat_map(|m| m.split("\r\n"))
            .all(|line| line.len() <= 998)
    );
}
