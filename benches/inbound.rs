//! Benchmark: mail taken in per second, through each way it reaches mentord.
//!
//! Run with `cargo bench --bench inbound` (or `-- MAILS`, default 1,000). A program of
//! MAILS pairs meeting weekly (UTC, quiet hours off) runs on a virtual clock over a fresh
//! SQLite store until every mentee's agenda prompt is sent (as files); each mentee then
//! answers it through its Reply-To token, a short agenda under a quoted prompt, as a mail
//! client writes it. Measured:
//!
//! - *take_in*: the library call both ways share, in one process, one mail after another;
//! - *deliver*: the real release binary, `mentord deliver` once per mail as a mail
//!   server's pipe runs it (a process start, the store opened, the mail stored for the
//!   daemon: since issue 27 `deliver` no longer takes it in; `benches/handoff.rs`
//!   measures the hand-off and the daemon's take-in);
//! - *IMAP*: every mail appended to a Dovecot the bench starts, then `mentord run` with
//!   `[inbound]` started: from its start until the last mail is in the done folder.
//!
//! Each way gets a store of its own, holding the same sent prompts.

#![allow(clippy::unwrap_used)] // a benchmark that fails should stop loudly

#[path = "../tests/common/mod.rs"]
mod common;
mod replies;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::imap::{ImapServer, PASSWORD};
use mentord::app::{Source, take_in};
use mentord::program;
use mentord::store::{Location, Store};

use replies::{DONE, prepared};

fn release_binary() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--locked", "--release", "--bin", "mentord"])
        .status()
        .unwrap();
    assert!(status.success());
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/mentord")
}

fn report(way: &str, mails: usize, took: Duration) {
    println!(
        "{way:<10} {mails:>6} mails in {:>7.2} s: {:>8.1} mails/s",
        took.as_secs_f64(),
        mails as f64 / took.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let mails: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000);
    let binary = release_binary();
    let server = ImapServer::start().await.unwrap();

    // take_in, in process.
    let dir = tempfile::tempdir().unwrap();
    let (config, replies) = prepared(dir.path(), mails, Some(server.port)).await;
    assert_eq!(replies.len(), mails);
    let program = program::load(&config).unwrap();
    let store = Store::open(Location::Sqlite(dir.path().join("mentord.db")))
        .await
        .unwrap();
    let now = "2027-01-10T13:00:00Z".parse().unwrap();
    let started = Instant::now();
    for raw in &replies {
        let verdict = take_in(&program, &store, raw, Source::Pipe, now)
            .await
            .unwrap();
        assert!(!verdict.is_set_aside(), "{verdict:?}");
    }
    report("take_in", mails, started.elapsed());

    // mentord deliver, a process per mail.
    let dir = tempfile::tempdir().unwrap();
    let (config, replies) = prepared(dir.path(), mails, Some(server.port)).await;
    let started = Instant::now();
    for raw in &replies {
        let mut child = Command::new(&binary)
            .arg("-c")
            .arg(&config)
            .arg("deliver")
            .env("MENTORD_NOW", "2027-01-10T13:00:00Z")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(raw).unwrap();
        assert!(child.wait().unwrap().success());
    }
    report("deliver", mails, started.elapsed());

    // IMAP: the mailbox filled first, then the daemon started.
    let dir = tempfile::tempdir().unwrap();
    let (config, replies) = prepared(dir.path(), mails, Some(server.port)).await;
    for raw in &replies {
        server.append("INBOX", raw).await.unwrap();
    }
    let started = Instant::now();
    let mut daemon = Command::new(&binary)
        .arg("-c")
        .arg(&config)
        .arg("run")
        .env("MENTORD_NOW", "2027-01-10T13:00:00Z")
        .env("BENCH_IMAP_PASSWORD", PASSWORD)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    loop {
        if server.list(DONE).await.map(|l| l.len()).unwrap_or(0) >= mails {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "IMAP too slow"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    report("IMAP", mails, started.elapsed());
    let _ = daemon.kill();
    let _ = daemon.wait();
}
