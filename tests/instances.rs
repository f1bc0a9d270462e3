//! Several daemons on one PostgreSQL store, sending to one real SMTP server (aiosmtpd):
//! 10,000 invites, each accepted exactly once, the work shared; then the same with one
//! daemon killed with `kill -9` mid-run: nothing lost, its claims taken over after its
//! lease, and a duplicate only for what it had in flight, with the same Message-ID.
//!
//! Needs `MENTORD_TEST_POSTGRES` (set by `.ci/run`); without it these tests say so and
//! do nothing.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::postgres::{self, Database};
use common::smtp::{Server, generated_program, start_server};
use common::{Daemons, start_daemon as start};

const PAIRS: usize = 5_000;
const MESSAGES: usize = 2 * PAIRS;

fn setup(dir: &Path, database: &Database) -> (Server, PathBuf) {
    let server = start_server(dir, &[]);
    let config = dir.join("mentord.toml");
    let text = generated_program(
        PAIRS,
        &format!(
            "[mail]\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{}\"\ntls = \"none\"\n",
            server.port
        ),
        &format!("[store]\nurl = \"{}\"\n", database.url),
    );
    std::fs::write(&config, text).unwrap();
    (server, config)
}

/// Waits until the server holds every message at least once and the store has marked
/// each sent; the accepted Message-IDs.
fn wait_for_all(server: &Server, database: &Database, dir: &Path, limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    loop {
        // Every message arrived and is marked sent. A killed daemon's claims are marked
        // only once its lease has run out and another daemon has taken them over (and
        // sent again those it had sent without marking): until then every message may
        // have arrived while the dead daemon still holds its claims.
        if server.accepted() >= MESSAGES
            && sent_by(database).values().sum::<i64>() >= MESSAGES as i64
        {
            let ids = server.message_ids();
            let mut distinct = ids.clone();
            distinct.sort();
            distinct.dedup();
            if distinct.len() >= MESSAGES {
                return ids;
            }
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {MESSAGES} messages arrived in {limit:?}; logs in {}",
            server.accepted(),
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn status(config: &Path) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(config)
        .args(["status", "--json"])
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(output.status.success());
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Sent messages per daemon, from the store.
fn sent_by(database: &Database) -> HashMap<String, i64> {
    let url = database.url.clone();
    postgres::blocking(async move {
        sqlx::query_as::<_, (String, i64)>(
            "SELECT claimed_by, COUNT(*) FROM messages WHERE state = 'sent' GROUP BY claimed_by",
        )
        .fetch_all(&mut postgres::connect(&url).await)
        .await
        .unwrap()
        .into_iter()
        .collect()
    })
}

/// `count` daemons on `config`, each logging to `daemon-N.log` in `dir`.
fn start_daemons(count: usize, config: &Path, dir: &Path) -> Daemons {
    Daemons(
        (0..count)
            .map(|i| Some(start(config, dir.join(format!("daemon-{i}.log")))))
            .collect(),
    )
}

/// Waits until the server has accepted `count` messages (mid-run, for a fault).
fn wait_for_accepted(server: &Server, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while server.accepted() < count {
        assert!(Instant::now() < deadline, "sending never got going");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn duplicates(ids: &[String]) -> usize {
    let mut distinct = ids.to_vec();
    distinct.dedup();
    assert_eq!(distinct.len(), MESSAGES, "lost messages");
    ids.len() - distinct.len()
}

#[test]
#[cfg_attr(
    not(mentord_test_postgres),
    ignore = "needs a PostgreSQL server: set MENTORD_TEST_POSTGRES (.ci/run does)"
)]
fn three_daemons_send_ten_thousand_messages_once() {
    let Some(database) = postgres::database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (server, config) = setup(dir.path(), &database);
    let mut daemons = start_daemons(3, &config, dir.path());
    let ids = wait_for_all(&server, &database, dir.path(), Duration::from_secs(600));

    let report = status(&config);
    let alive = report["daemons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["alive"] == true)
        .count();
    assert_eq!(alive, 3, "{report:#}");
    assert_eq!(report["sent"], MESSAGES as u64, "{report:#}");
    daemons.stop();

    assert_eq!(duplicates(&ids), 0, "a message was accepted twice");
    let shares = sent_by(&database);
    assert_eq!(shares.len(), 3, "every daemon sends: {shares:?}");
    assert_eq!(shares.values().sum::<i64>(), MESSAGES as i64);
    // Nothing arrives after the stop.
    assert_eq!(server.accepted(), MESSAGES);
}

#[test]
#[cfg_attr(
    not(mentord_test_postgres),
    ignore = "needs a PostgreSQL server: set MENTORD_TEST_POSTGRES (.ci/run does)"
)]
fn a_daemon_killed_mid_run_loses_nothing() {
    let Some(database) = postgres::database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (server, config) = setup(dir.path(), &database);
    let mut daemons = start_daemons(3, &config, dir.path());
    // Mid-run: a fifth of the mail is out.
    wait_for_accepted(&server, MESSAGES / 5);
    // The victim: a daemon that is sending (not one still rendering the invites).
    let sending = sent_by(&database);
    let busiest = sending.iter().max_by_key(|(_, n)| **n).unwrap().0;
    let victim_pid: u32 = busiest.split(':').nth(1).unwrap().parse().unwrap();
    let index = daemons
        .0
        .iter()
        .position(|c| c.as_ref().is_some_and(|c| c.id() == victim_pid))
        .unwrap();
    let mut victim = daemons.0[index].take().unwrap();
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();
    let ids = wait_for_all(&server, &database, dir.path(), Duration::from_secs(600));

    let report = status(&config);
    let daemons_seen = report["daemons"].as_array().unwrap();
    let alive = daemons_seen.iter().filter(|d| d["alive"] == true).count();
    assert_eq!(alive, 2, "{report:#}");
    // The dead one is reported as such, holding nothing any more.
    let dead: Vec<_> = daemons_seen
        .iter()
        .filter(|d| d["alive"] == false)
        .collect();
    assert_eq!(dead.len(), 1, "{report:#}");
    assert_eq!(dead[0]["holding"], 0, "{report:#}");
    daemons.stop();

    // Only messages in flight at the kill may arrive twice: sent, their marks not yet
    // committed, at most `SENT_UNMARKED` of one daemon (same Message-ID: the duplicate
    // is found by its Message-ID).
    let doubled = duplicates(&ids);
    assert!(
        doubled <= mentord::daemon::SENT_UNMARKED,
        "{doubled} messages accepted twice after one kill"
    );
    let shares = sent_by(&database);
    assert_eq!(shares.values().sum::<i64>(), MESSAGES as i64);
    let victim_sent = shares
        .iter()
        .find(|(id, _)| id.split(':').nth(1) == Some(&victim_pid.to_string()))
        .map_or(0, |(_, n)| *n);
    assert!(
        victim_sent > 0,
        "the killed daemon had sent nothing: {shares:?}"
    );
    eprintln!("sent per daemon: {shares:?}; accepted twice: {doubled}");
}

/// The database drops every connection of the daemons mid-run (as in a restart of the
/// server): they log it, give back their claims, carry on, and everything arrives, a
/// duplicate only for a message whose mark was lost with its connection (at most
/// `SENT_UNMARKED` a daemon).
#[test]
#[cfg_attr(
    not(mentord_test_postgres),
    ignore = "needs a PostgreSQL server: set MENTORD_TEST_POSTGRES (.ci/run does)"
)]
fn daemons_ride_out_lost_database_connections() {
    let Some(database) = postgres::database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (server, config) = setup(dir.path(), &database);
    let mut daemons = start_daemons(2, &config, dir.path());
    wait_for_accepted(&server, MESSAGES / 4);
    let dropped = terminate_connections(&database.url);
    assert!(dropped >= 2, "only {dropped} connections to drop");
    let ids = wait_for_all(&server, &database, dir.path(), Duration::from_secs(600));
    daemons.stop();
    let logs: String = (0..2)
        .map(|i| std::fs::read_to_string(dir.path().join(format!("daemon-{i}.log"))).unwrap())
        .collect();
    assert!(logs.contains("trying again"), "{logs}");
    let doubled = duplicates(&ids);
    assert!(
        doubled <= 2 * mentord::daemon::SENT_UNMARKED,
        "{doubled} messages accepted twice"
    );
}

/// Ends every connection the daemons have to their database; how many.
fn terminate_connections(url: &str) -> u64 {
    let url = url.to_string();
    postgres::blocking(async move {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
               AND application_name LIKE 'mentord%') AS ended",
        )
        .fetch_one(&mut postgres::connect(&url).await)
        .await
        .unwrap() as u64
    })
}
