//! A year of a 50,000-pair program sends about four million messages; kept whole (8.7 KB
//! each) that is over 30 GB on the coordinator's one disk. `[store] keep_sent` (default
//! 30 days) drops a sent message's body once it is older than that and keeps its row for
//! ever (key, Message-ID, state, times, recipient). These tests run the daemon's own loop
//! on a virtual clock over a real SQLite file (and PostgreSQL when `MENTORD_TEST_POSTGRES`
//! is set) for three months and read the store with the database's own client.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::process::Command;

use common::postgres::backends;
use common::virtual_daemon::{file_daemon, run};
use jiff::{SignedDuration, Timestamp};
use mentord::store::Location;

/// A weekly program of two pairs from 2030-01-07 on the store at `store_url`, with
/// `store_lines` more lines in `[store]`.
fn program(dir: &Path, store_url: &str, store_lines: &str) -> std::path::PathBuf {
    let text = format!(
        r#"[program]
name = "Keep sent"
timezone = "UTC"
start = 2030-01-07
coordinator = "ada"
organizer = {{ name = "Mentoring", email = "mentoring@example.org" }}

[defaults]
every = "week"
on = "tue"
at = "10:00"
duration = "30m"
quiet_hours = "off"
digest = "off"

[store]
url = "{store_url}"
{store_lines}

[mail]
transport = "file"
dir = "{outbox}"

{two_pairs}"#,
        outbox = dir.join("outbox").display(),
        two_pairs = common::TWO_PAIRS,
    );
    let config = dir.join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    config
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Answers `sql` with the database's own client: `sqlite3` or `psql`.
fn query(location: &Location, sql: &str) -> i64 {
    let output = match location {
        Location::Sqlite(path) => Command::new("sqlite3").arg(path).arg(sql).output(),
        Location::Postgres(url) => Command::new("psql")
            .args(["-tA", "-d", url, "-c", sql])
            .output(),
    }
    .unwrap();
    assert!(output.status.success(), "{sql}: {output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Sent messages with a body, sent before (`older`) or from (`!older`) `cut`.
fn bodies(location: &Location, cut: Timestamp, older: bool) -> i64 {
    let compare = if older { "<" } else { ">=" };
    let cut = cut.as_second();
    let sql = match location {
        Location::Sqlite(_) => format!(
            "SELECT COUNT(*) FROM messages JOIN bodies USING (key) \
             WHERE state = 'sent' AND sent_at {compare} {cut}"
        ),
        Location::Postgres(_) => format!(
            "SELECT COUNT(*) FROM messages WHERE state = 'sent' AND body IS NOT NULL \
             AND sent_at {compare} {cut}"
        ),
    };
    query(location, &sql)
}

fn url(location: &Location) -> String {
    match location {
        Location::Sqlite(path) => format!("sqlite://{}", path.display()),
        Location::Postgres(url) => url.clone(),
    }
}

/// Three months of the daemon with `keep_sent = "14d"`: every body older than a
/// fortnight is gone, the last fortnight's are there, and every sent message still has
/// its row (one per file the transport wrote).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_bodies_are_dropped_after_keep_sent_and_their_rows_stay() {
    let dir = tempfile::tempdir().unwrap();
    for (location, _database) in backends(dir.path()) {
        let work = tempfile::tempdir_in(dir.path()).unwrap();
        let config = program(work.path(), &url(&location), "keep_sent = \"14d\"");
        let (from, until) = (at("2030-01-01T00:00:00Z"), at("2030-04-01T00:00:00Z"));
        let (mut daemon, _store) =
            file_daemon(&config, &location, &work.path().join("outbox"), from).await;
        run(&mut daemon, from, until).await;

        let files = std::fs::read_dir(work.path().join("outbox"))
            .unwrap()
            .count() as i64;
        let sent = query(
            &location,
            "SELECT COUNT(*) FROM messages WHERE state = 'sent'",
        );
        assert_eq!(
            sent, files,
            "{location:?}: every sent message keeps its row"
        );
        assert!(sent > 50, "{location:?}: {sent} messages in three months");
        let last = query(&location, "SELECT MAX(sent_at) FROM messages");
        let last = Timestamp::from_second(last).unwrap();
        let fortnight = SignedDuration::from_hours(14 * 24);
        assert_eq!(
            bodies(&location, last - fortnight, true),
            0,
            "{location:?}: no body older than 14 days before the last send"
        );
        let recent = bodies(&location, until - fortnight, false);
        let recent_rows = query(
            &location,
            &format!(
                "SELECT COUNT(*) FROM messages WHERE state = 'sent' AND sent_at >= {}",
                (until - fortnight).as_second()
            ),
        );
        assert!(recent_rows > 0, "{location:?}");
        assert_eq!(
            recent, recent_rows,
            "{location:?}: the last fortnight's bodies are kept"
        );
    }
}

/// `keep_sent = "off"` keeps every body; the daemon's three months leave them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_sent_off_keeps_every_body() {
    let dir = tempfile::tempdir().unwrap();
    let location = Location::Sqlite(dir.path().join("mentord.db"));
    let config = program(dir.path(), &url(&location), "keep_sent = \"off\"");
    let (from, until) = (at("2030-01-01T00:00:00Z"), at("2030-04-01T00:00:00Z"));
    let (mut daemon, _store) =
        file_daemon(&config, &location, &dir.path().join("outbox"), from).await;
    run(&mut daemon, from, until).await;
    let sent = query(
        &location,
        "SELECT COUNT(*) FROM messages WHERE state = 'sent'",
    );
    assert!(sent > 50);
    assert_eq!(bodies(&location, until, true), sent);
}

/// A coordinator who writes `keep_sent = "2h"` (a retry or a reply could no longer find
/// its mail) or `"forever"` is told where and why, and nothing runs.
#[test]
fn a_keep_sent_shorter_than_a_day_or_not_a_duration_is_refused_where_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    for (value, says) in [
        ("\"2h\"", "less than a day"),
        ("\"forever\"", "keep_sent"),
        ("30", "keep_sent"),
    ] {
        let config = program(
            dir.path(),
            "sqlite://mentord.db",
            &format!("keep_sent = {value}"),
        );
        let output = common::mentord()
            .args(["--config"])
            .arg(&config)
            .arg("check")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{value}: {stderr}");
        assert!(stderr.contains("mentord.toml:18:"), "{value}: {stderr}");
        assert!(stderr.contains(says), "{value}: {stderr}");
    }
    // The default and a longer period are fine.
    for line in ["", "keep_sent = \"90d\""] {
        let config = program(dir.path(), "sqlite://mentord.db", line);
        common::mentord()
            .args(["--config"])
            .arg(&config)
            .arg("check")
            .assert()
            .success();
    }
}
