//! Benchmark (issue 27): genuine replies handed off by `mentord deliver` as a mail server
//! runs it, several at once, and taken in by a running daemon.
//!
//! Run with `cargo bench --bench handoff` (or `-- PAIRS MAILS`, default 50,000 pairs and
//! 10,000 mails). A program of PAIRS pairs runs on a virtual clock over a fresh store
//! until every agenda prompt is sent ([`replies::prepared_at`]); `mentord run` (the
//! release binary) is started on it, and MAILS replies, each answering a prompt by its
//! Reply-To token, go through 8 parallel `deliver` processes (a process per mail, as
//! Postfix's `pipe` runs it). Measured: mails accepted per second (from the first
//! hand-off to the last `deliver`'s exit), and for each mail the time from its hand-off
//! to its take-in by the daemon (the store's queue keeps both instants), and that every
//! agenda is recorded once. On SQLite with one daemon; on PostgreSQL with two daemons
//! when `MENTORD_TEST_POSTGRES` names a server. Targets: ≥ 500 mails/s accepted, each
//! taken in within 5 s.
//!
//! With `MENTORD_BENCH_OLD=PATH` (a release binary of an older build, whose `deliver`
//! takes the mail in itself), 400 other replies go through that binary's `deliver` the
//! same way first, on the same SQLite store with this build's queue table taken out
//! (the older binary refuses a store with a migration it does not know).

#![allow(clippy::unwrap_used)] // a benchmark that fails should stop loudly

#[path = "../tests/common/mod.rs"]
mod common;
mod replies;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mentord::store::{Location, Store};

/// The `deliver` processes at once.
const PARALLEL: usize = 8;

fn release_binary() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--locked", "--release", "--bin", "mentord"])
        .status()
        .unwrap();
    assert!(status.success());
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/mentord")
}

/// Hands every reply off through PARALLEL workers, each running `deliver` once per
/// mail; the time it took.
fn hand_off(binary: &Path, config: &Path, replies: Vec<Vec<u8>>) -> Duration {
    let replies = Arc::new(replies);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..PARALLEL)
        .map(|_| {
            let (binary, config) = (binary.to_path_buf(), config.to_path_buf());
            let (replies, next) = (replies.clone(), next.clone());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(raw) = replies.get(i) else {
                        return;
                    };
                    let mut child = Command::new(&binary)
                        .arg("-c")
                        .arg(&config)
                        .arg("deliver")
                        .env("RUST_LOG", "warn")
                        .stdin(Stdio::piped())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .unwrap();
                    child.stdin.take().unwrap().write_all(raw).unwrap();
                    let status = child.wait().unwrap();
                    assert!(status.success(), "deliver exited {status}");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    started.elapsed()
}

/// Starts `mentord run` on `config`, its log in `log`, and waits until it has started.
fn start_daemon(binary: &Path, config: &Path, log: &Path) -> std::process::Child {
    let child = Command::new(binary)
        .arg("-c")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    while !std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains("mentord started")
    {
        assert!(Instant::now() < deadline, "the daemon did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Its first tick (the reconcile of every pair) before the clock starts.
    std::thread::sleep(Duration::from_secs(5));
    child
}

/// The replies the older build's `deliver` gets.
const OLD_MAILS: usize = 400;

/// The older build's `deliver`, on the store at `db` (this build's migration taken out
/// first): mails per second.
async fn old_deliver(old: &Path, config: &Path, db: &Path, replies: Vec<Vec<u8>>) {
    use sqlx::Connection as _;
    let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    for statement in [
        "DROP TABLE mail_queue",
        "DELETE FROM _sqlx_migrations WHERE description = 'mail queue'",
    ] {
        sqlx::query(statement)
            .execute(&mut connection)
            .await
            .unwrap();
    }
    drop(connection);
    let mails = replies.len();
    let took = hand_off(old, config, replies);
    println!(
        "SQLite     the older build's deliver (takes each in itself, {PARALLEL} at once): {mails} mails in {:.2} s = {:.1} mails/s",
        took.as_secs_f64(),
        mails as f64 / took.as_secs_f64()
    );
}

/// Runs the measurement on the store at `location` with `daemons` daemons.
async fn measure(binary: &Path, pairs: usize, mails: usize, location: Location, daemons: usize) {
    let dir = tempfile::tempdir().unwrap();
    let prepared = Instant::now();
    let (config, mut replies) =
        replies::prepared_at(dir.path(), pairs, None, location.clone()).await;
    assert!(replies.len() >= mails, "{} prompts sent", replies.len());
    let mut before = 0;
    if let (Ok(old), Location::Sqlite(db)) = (std::env::var("MENTORD_BENCH_OLD"), &location) {
        let others: Vec<_> = replies
            .iter()
            .skip(mails)
            .take(OLD_MAILS)
            .cloned()
            .collect();
        before = others.len();
        old_deliver(Path::new(&old), &config, db, others).await;
    }
    replies.truncate(mails);
    eprintln!(
        "{}: {pairs} pairs prepared in {:.0} s",
        location.describe(),
        prepared.elapsed().as_secs_f64()
    );
    let mut children: Vec<_> = (0..daemons)
        .map(|n| start_daemon(binary, &config, &dir.path().join(format!("daemon-{n}.log"))))
        .collect();
    let took = hand_off(binary, &config, replies);
    let store = Store::open(location.clone()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let waiting = store.mail_waiting().await.unwrap();
        if waiting.count == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{} still wait", waiting.count);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut waits: Vec<i64> = store
        .queue_times()
        .await
        .unwrap()
        .into_iter()
        .map(|(queued, taken)| taken - queued)
        .collect();
    waits.sort_unstable();
    let counts = store.inbound_counts().await.unwrap();
    for child in &mut children {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let _ = child.wait();
    }
    let at = |q: f64| waits[((waits.len() as f64 - 1.0) * q) as usize] as f64 / 1000.0;
    println!(
        "{:<10} {daemons} daemon(s) {pairs:>6} pairs {mails:>6} mails: accepted in {:>6.2} s = {:>6.0} mails/s; \
         hand-off to taken in: median {:.2} s, p99 {:.2} s, max {:.2} s; agendas recorded {}",
        match location {
            Location::Sqlite(_) => "SQLite",
            Location::Postgres(_) => "PostgreSQL",
        },
        took.as_secs_f64(),
        mails as f64 / took.as_secs_f64(),
        at(0.5),
        at(0.99),
        at(1.0),
        counts.get("agenda").copied().unwrap_or(0) - before as i64,
    );
    assert_eq!(waits.len(), mails, "every mail taken in once");
    assert_eq!(
        counts.get("agenda").copied().unwrap_or(0),
        (mails + before) as i64
    );
}

#[tokio::main]
async fn main() {
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let pairs = numbers.first().copied().unwrap_or(50_000);
    let mails = numbers.get(1).copied().unwrap_or(10_000).min(pairs);
    let binary = release_binary();
    let dir = tempfile::tempdir().unwrap();
    measure(
        &binary,
        pairs,
        mails,
        Location::Sqlite(dir.path().join("mentord.db")),
        1,
    )
    .await;
    if let Some(database) = common::postgres::database() {
        measure(&binary, pairs, mails, database.location(), 2).await;
    }
}
