//! Several SMTP sessions per daemon, and a relay's daily budget, against a real SMTP
//! server (Python's aiosmtpd on loopback), the daemon on a virtual clock.
//!
//! - `[mail] connections = N`: the daemon keeps N sessions open at once, and a session
//!   whose server answer is slow (then a 4xx) holds up only the mail queued behind it
//!   on that session: the others go on.
//! - `rate = "2/day"`: at most two messages in any 24 hours; the rest wait in order,
//!   calendar mail first; `status` and the digest say so; a prompt or reminder held
//!   until its meeting has started is dropped, not sent late.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;

use jiff::{SignedDuration, Timestamp};
use mentord::program;
use mentord::render::Templates;

mod common;

use common::smtp::{
    example_over_smtp, header, run_until_quiet, smtp_daemon, start_server, status_at,
};

/// One recipient's RCPT is held three seconds, then refused for now (451). With three
/// sessions the others deliver meanwhile; with one, everything waits behind it.
#[tokio::test]
async fn a_slow_session_holds_up_no_other() {
    let start: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();
    let mut got_through = Vec::new();
    for connections in [3, 1] {
        let dir = tempfile::tempdir().unwrap();
        let server = start_server(dir.path(), &["--hold", "alan@example.org"]);
        let config = example_over_smtp(
            dir.path(),
            server.port,
            &format!("connections = {connections}"),
            "",
        );
        let mut d = smtp_daemon(&config, &dir.path().join("mentord.db")).await;
        let tick = d.tick(start, &|| false).await.unwrap();
        // Ten invites: nine taken, Alan's to be tried again.
        assert_eq!((tick.sent, tick.retried), (9, 1), "{tick:?}");
        assert_eq!(server.received().len(), 9);
        assert_eq!(
            server.most_sessions_at_once(),
            connections,
            "sessions open at once"
        );
        got_through.push(server.accepted_while_held()[0]);
    }
    let [with_three, with_one] = got_through[..] else {
        panic!("{got_through:?}")
    };
    assert!(
        with_three >= 1,
        "nothing got through on the other sessions while one was held"
    );
    // The contrast: one session waits behind the held message, so the test can tell.
    assert_eq!(with_one, 0);
}

/// `rate = "2/day"` on the example program, started a week before the program:
///
/// - the first start sends two of the ten invites; the rest wait a day, and `status`
///   says how many wait and until when;
/// - no 24 hours ever carry more than two messages;
/// - the digest written while mail waits says so;
/// - a pair added while reminders wait gets its invites first, before those reminders;
/// - reminders still waiting when their meeting starts are dropped, not sent late.
#[tokio::test]
async fn a_daily_budget_holds_mail_to_the_next_day_calendar_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &[]);
    let config = example_over_smtp(dir.path(), server.port, "rate = \"2/day\"", "");
    let db = dir.path().join("mentord.db");
    let mut d = smtp_daemon(&config, &db).await;
    let start: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();

    let tick = d.tick(start, &|| false).await.unwrap();
    assert_eq!(tick.sent, 2, "{tick:?}");
    // The next tick finds the budget used, and sleeps until it frees a place.
    let tick = d.tick(tick.next.unwrap(), &|| false).await.unwrap();
    assert_eq!(tick.sent, 0, "{tick:?}");
    let next = tick.next.unwrap();
    assert!(
        next >= start + SignedDuration::from_hours(24),
        "woke at {next}, before the budget frees a place"
    );
    assert_eq!(
        tick.next_what.as_deref(),
        Some("mail the relay's daily budget held back")
    );
    let report = status_at(&config, start + SignedDuration::from_hours(1));
    let budget = &report["daily_budget"];
    assert_eq!(budget["per_day"], 2, "{report:#}");
    assert_eq!(budget["used"], 2, "{report:#}");
    assert_eq!(budget["waiting"], 8, "{report:#}");
    assert_eq!(budget["held_until"], "Tue 2027-01-05 09:00", "{report:#}");
    let table = Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(&config)
        .arg("status")
        .env(
            "MENTORD_NOW",
            (start + SignedDuration::from_hours(1)).to_string(),
        )
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains(
            "daily budget: 2 a day, all used in the last 24 hours: 8 message(s) wait; the next goes at Tue 2027-01-05 09:00"
        ),
        "{table}"
    );

    // To Monday 11 January 10:30 in Berlin: the invites two a day, then the first
    // prompts and reminders as the budget allows; the rest wait.
    let monday = "2027-01-11T09:30:00Z".parse().unwrap();
    run_until_quiet(&mut d, next, monday).await;
    let before = server.received().len();

    // A new pair while reminders wait: its invites go first once a place frees.
    let added = "\n[people.tony]\nname = \"Tony Hoare\"\nemail = \"tony@example.org\"\n\n\
                 [people.donald]\nname = \"Donald Knuth\"\nemail = \"donald@example.org\"\n\n\
                 [[pairs]]\nmentor = \"tony\"\nmentee = \"donald\"\nstart = 2027-01-25\n";
    let config = example_over_smtp(dir.path(), server.port, "rate = \"2/day\"", added);
    d.replace_program(
        program::load(&config).unwrap(),
        Templates::load(None).unwrap(),
    );
    run_until_quiet(&mut d, monday, "2027-01-14T00:00:00Z".parse().unwrap()).await;
    let after: Vec<String> = server.received().split_off(before);
    let to = |m: &String| header(m, "X-Envelope-To").unwrap_or_default().to_string();
    assert!(after.len() >= 2, "{} after the change", after.len());
    let first_two: Vec<String> = after[..2].iter().map(to).collect();
    assert!(
        first_two.contains(&"tony@example.org".to_string())
            && first_two.contains(&"donald@example.org".to_string()),
        "calendar mail first; the first two after the change went to {first_two:?}"
    );
    assert!(
        after[..2].iter().all(|m| m.contains("method=REQUEST")),
        "the first two are the invites"
    );

    // The digest of Monday 07:00, written while mail waited, says so (it went out
    // later, as the budget allowed).
    let digests: Vec<String> = server
        .received()
        .into_iter()
        .filter(|m| header(m, "Subject").is_some_and(|s| s.contains("digest")))
        .collect();
    assert!(!digests.is_empty(), "no digest by Wednesday");
    let text = mail_parser::MessageParser::default()
        .parse(digests[0].as_bytes())
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap();
    assert!(
        text.contains(
            "Sending is held by the relay's daily budget: 2 a day, all used in the last 24 hours; 1 message(s) wait, the next goes at Mon 11 Jan 11:30 Europe/Berlin."
        ),
        "{text}"
    );

    // No rolling day carried more than two; nothing went twice; reminders that waited
    // past their meeting's start were dropped, with the reason.
    let sent = sent_times(&db).await;
    for (i, first) in sent.iter().enumerate() {
        let within = sent[i..]
            .iter()
            .take_while(|t| **t < first + 86_400)
            .count();
        assert!(within <= 2, "{within} messages in the day from {first}");
    }
    let mut ids = server.message_ids();
    let all = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), all, "a message went twice");
    let dropped = dropped_reasons(&db).await;
    assert!(
        dropped.iter().any(|(kind, why)| kind == "mentor_reminder"
            && why == "its meeting had started before it could go"),
        "{dropped:?}"
    );
}

/// The store read-only, beside the test's daemon.
async fn read_only(db: &Path) -> sqlx::SqliteConnection {
    use sqlx::Connection as _;
    sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .unwrap()
}

/// When each sent message went (unix seconds), in order.
async fn sent_times(db: &Path) -> Vec<i64> {
    sqlx::query_scalar("SELECT sent_at FROM messages WHERE state = 'sent' ORDER BY sent_at")
        .fetch_all(&mut read_only(db).await)
        .await
        .unwrap()
}

/// The kind and reason of each dropped message.
async fn dropped_reasons(db: &Path) -> Vec<(String, String)> {
    sqlx::query_as("SELECT kind, COALESCE(last_error, '') FROM messages WHERE state = 'dropped'")
        .fetch_all(&mut read_only(db).await)
        .await
        .unwrap()
}
