//! A dead daemon's claims wait for the survivors' next scheduled action, not for the
//! lease. Three daemons on PostgreSQL, one killed with `kill -9` mid-burst: 5 messages
//! it had claimed were still `sending` 70 s later, because the others slept until their
//! next due action (up to an hour).
//!
//! A daemon claims a batch of messages before it sends them; if it dies, the claims are
//! taken over by another daemon once the dead one has missed its heartbeat for a lease
//! (`store::instances::LEASE`, 30 s). But only a daemon that looks for work takes them:
//! the survivors finish the burst, find nothing `pending`, and sleep until their next
//! scheduled action, which for a program whose meetings are far off is an hour away.
//! Nothing wakes them when the lease runs out, so the dead daemon's claims sit in
//! `sending` meanwhile. SPEC §4: "nothing due is ever lost"; with several instances each
//! due message is claimed by exactly one of them, and a crash must not hold mail back
//! for longer than the lease.
//!
//! Here: a fresh PostgreSQL database, 2,000 pairs whose meetings are years away (the only
//! mail is the 4,000 first-start invites), three `mentord run` against one aiosmtpd
//! server; once half the mail is out, a daemon holding a batch of claims is killed with
//! `kill -9`. The two survivors finish the rest in seconds. Every message must be
//! accepted within LEASE + 30 s of the kill, none lost, and only the one in flight at
//! the kill may arrive twice (same Message-ID).
//!
//! Needs `MENTORD_TEST_POSTGRES` (set by `.ci/run`); without it the test says so and
//! does nothing.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::postgres::{self, Database};
use common::smtp::{Server, generated_program, start_server};
use common::{Daemons, start_daemon as start};

const PAIRS: usize = 2_000;
const MESSAGES: usize = 2 * PAIRS;

/// `store::instances::LEASE`: how long a dead daemon's claims stay its own.
const LEASE: Duration = Duration::from_secs(30);

/// How long after the lease the survivors have to take over and send.
const GRACE: Duration = Duration::from_secs(30);

/// Distinct Message-IDs the server accepted, and all it accepted.
fn counts(server: &Server) -> (usize, usize) {
    let ids = server.message_ids();
    let all = ids.len();
    let mut distinct = ids;
    distinct.dedup();
    (distinct.len(), all)
}

/// One query's rows of (text, count) on the test's database.
fn grouped(database: &Database, query: &'static str) -> HashMap<String, i64> {
    let url = database.url.clone();
    postgres::blocking(async move {
        sqlx::query_as::<_, (String, i64)>(query)
            .fetch_all(&mut postgres::connect(&url).await)
            .await
            .unwrap()
            .into_iter()
            .collect()
    })
}

/// Messages claimed and not yet marked, per daemon.
fn sending_by(database: &Database) -> HashMap<String, i64> {
    grouped(
        database,
        "SELECT claimed_by, COUNT(*) FROM messages WHERE state = 'sending' GROUP BY claimed_by",
    )
}

/// Messages per state.
fn states(database: &Database) -> HashMap<String, i64> {
    grouped(
        database,
        "SELECT state, COUNT(*) FROM messages GROUP BY state",
    )
}

#[test]
#[cfg_attr(
    not(mentord_test_postgres),
    ignore = "needs a PostgreSQL server: set MENTORD_TEST_POSTGRES (.ci/run does)"
)]
fn a_dead_daemons_claims_are_sent_soon_after_its_lease() {
    let Some(database) = postgres::database() else {
        eprintln!("skipped: {} not set", postgres::VARIABLE);
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &[]);
    let config = dir.path().join("mentord.toml");
    let text = generated_program(
        PAIRS,
        &format!(
            "[mail]\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{}\"\ntls = \"none\"\n",
            server.port
        ),
        // No digest: nothing but the invites is ever due while the test runs.
        &format!(
            "[store]\nurl = \"{}\"\n\n[defaults]\ndigest = \"off\"\n",
            database.url
        ),
    );
    std::fs::write(&config, text).unwrap();
    let mut daemons = Daemons(
        (0..3)
            .map(|i| Some(start(&config, dir.path().join(format!("daemon-{i}.log")))))
            .collect(),
    );

    // Mid-burst: half the mail is out, so the survivors finish the rest well within the
    // lease and then have nothing scheduled for hours. The victim is a daemon holding a
    // good part of a batch of claims (so it is sending, and the kill lands mid-batch).
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.accepted() < MESSAGES / 2 {
        assert!(Instant::now() < deadline, "sending never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    let victim_id = loop {
        let holding = sending_by(&database);
        if let Some((id, _)) = holding
            .into_iter()
            .filter(|(_, n)| *n >= 8)
            .max_by_key(|(_, n)| *n)
        {
            break id;
        }
        assert!(
            Instant::now() < deadline,
            "no daemon ever held a batch of claims"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let victim_pid: u32 = victim_id.split(':').nth(1).unwrap().parse().unwrap();
    let index = daemons
        .0
        .iter()
        .position(|c| c.as_ref().is_some_and(|c| c.id() == victim_pid))
        .unwrap();
    let mut victim = daemons.0[index].take().unwrap();
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();
    let killed = Instant::now();
    let held = sending_by(&database).get(&victim_id).copied().unwrap_or(0);
    eprintln!(
        "killed {victim_id} with {} of {MESSAGES} accepted; it held {held} claims",
        server.accepted()
    );
    // Without claims left behind there is nothing to take over (the kill came between
    // two batches): the test would prove nothing.
    assert!(
        held > 0,
        "the killed daemon held no claims; nothing to test"
    );

    // Everything arrives within the lease and a little more.
    let limit = LEASE + GRACE;
    loop {
        let (distinct, _) = counts(&server);
        if distinct >= MESSAGES {
            break;
        }
        if killed.elapsed() >= limit {
            let still = sending_by(&database);
            panic!(
                "{distinct} of {MESSAGES} messages accepted {limit:?} after one of three \
                 daemons was killed (lease {LEASE:?}); still `sending`, claimed by the dead \
                 daemon: {} (it held {held} at the kill); messages per state: {:?}; \
                 claims per daemon: {still:?}; logs in {}",
                still.get(&victim_id).copied().unwrap_or(0),
                states(&database),
                dir.path().display()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let took = killed.elapsed();

    // The survivors stop cleanly.
    daemons.stop();

    // None lost; only messages in flight at the kill (sent, marks not yet committed:
    // at most `SENT_UNMARKED`) may have arrived twice.
    let (distinct, all) = counts(&server);
    assert_eq!(distinct, MESSAGES, "lost messages");
    assert!(
        all - distinct <= mentord::daemon::SENT_UNMARKED,
        "{} messages accepted twice after one kill",
        all - distinct
    );
    assert_eq!(
        states(&database),
        HashMap::from([("sent".to_string(), MESSAGES as i64)]),
        "every message is marked sent"
    );
    eprintln!(
        "all {MESSAGES} accepted {took:?} after the kill; accepted twice: {}",
        all - distinct
    );
}
