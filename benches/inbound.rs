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
//!   server's pipe runs it (a process start, the program file read, the store opened);
//! - *IMAP*: every mail appended to a Dovecot the bench starts, then `mentord run` with
//!   `[inbound]` started: from its start until the last mail is in the done folder.
//!
//! Each way gets a store of its own, holding the same sent prompts.

#![allow(clippy::unwrap_used)] // a benchmark that fails should stop loudly

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::imap::{ImapServer, PASSWORD, USER};
use mentord::app::{Source, take_in};
use mentord::clock::VirtualClock;
use mentord::daemon::{self, Control, Daemon, Silent, Transport};
use mentord::program;
use mentord::render::Templates;
use mentord::store::{Location, Store};

const FROM: &str = "2027-01-10T00:00:00Z";
const UNTIL: &str = "2027-01-10T12:00:00Z";
const DONE: &str = "mentord";

fn program_text(pairs: usize, db: &Path, outbox: &Path, imap_port: u16) -> String {
    let mut text = format!(
        "[program]\nname = \"Inbound bench\"\ntimezone = \"UTC\"\nstart = 2027-01-11\ncoordinator = \"coord\"\n\
         organizer = {{ name = \"Mentoring\", email = \"mentoring@example.org\" }}\n\n\
         [defaults]\nevery = \"week\"\non = \"tue\"\nat = \"10:00\"\nquiet_hours = \"off\"\ndigest = \"off\"\n\n\
         [store]\nurl = \"sqlite://{db}\"\n\n\
         [mail]\ntransport = \"file\"\ndir = \"{outbox}\"\nreply_to = \"mentoring+{{token}}@example.org\"\n\n\
         [inbound]\nimap = \"imap://{USER}@127.0.0.1:{imap_port}\"\ntls = \"none\"\n\
         password_env = \"BENCH_IMAP_PASSWORD\"\ndone_folder = \"{DONE}\"\n\n\
         [people.coord]\nname = \"Coordinator\"\nemail = \"coord@example.org\"\n",
        db = db.display(),
        outbox = outbox.display(),
    );
    for i in 0..pairs {
        text += &format!(
            "\n[people.mentor{i}]\nname = \"Mentor {i}\"\nemail = \"mentor{i}@example.org\"\n\
             \n[people.mentee{i}]\nname = \"Mentee {i}\"\nemail = \"mentee{i}@example.org\"\n\
             \n[[pairs]]\nmentor = \"mentor{i}\"\nmentee = \"mentee{i}\"\n"
        );
    }
    text
}

/// A store in `dir` whose daemon has sent every agenda prompt; the replies to them.
async fn prepared(dir: &Path, pairs: usize, imap_port: u16) -> (PathBuf, Vec<Vec<u8>>) {
    let config = dir.join("mentord.toml");
    let outbox = dir.join("outbox");
    std::fs::write(
        &config,
        program_text(pairs, &dir.join("mentord.db"), &outbox, imap_port),
    )
    .unwrap();
    let program = program::load(&config).unwrap();
    let store = Store::open(Location::Sqlite(dir.join("mentord.db")))
        .await
        .unwrap();
    let mut daemon = Daemon::new(
        program,
        Templates::load(None).unwrap(),
        store,
        Transport::File {
            dir: outbox.clone(),
            connections: mentord::program::DEFAULT_CONNECTIONS,
        },
    );
    let clock = VirtualClock::new(FROM.parse().unwrap(), UNTIL.parse().unwrap());
    let (mut control, _wake) = Control::unattended();
    daemon::run(&mut daemon, &clock, &mut control, &mut Silent)
        .await
        .unwrap();
    let mut replies = Vec::new();
    for entry in std::fs::read_dir(&outbox).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("agenda_prompt-")
        {
            continue;
        }
        let raw = std::fs::read_to_string(&path).unwrap();
        let field = |name: &str| {
            let line = raw
                .lines()
                .find(|l| l.starts_with(&format!("{name}:")))
                .unwrap();
            line[line.find('<').unwrap() + 1..line.find('>').unwrap()].to_string()
        };
        let (to, reply_to, id) = (field("To"), field("Reply-To"), field("Message-ID"));
        replies.push(
            format!(
                "From: <{to}>\r\nTo: <{reply_to}>\r\nSubject: Re: Agenda\r\n\
                 Message-ID: <reply-{id}>\r\nIn-Reply-To: <{id}>\r\nDate: Sun, 10 Jan 2027 12:00:00 +0000\r\n\
                 MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
                 1. Progress on the runbook\r\n2. The design review\r\n\r\n\
                 On Sun, 10 Jan 2027 at 10:00, Mentoring <mentoring@example.org> wrote:\r\n\
                 > Hello,\r\n> you meet your mentor on Tuesday.\r\n> \u{2014} reply above this line \u{2014}\r\n"
            )
            .into_bytes(),
        );
    }
    (config, replies)
}

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
    let (config, replies) = prepared(dir.path(), mails, server.port).await;
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
    let (config, replies) = prepared(dir.path(), mails, server.port).await;
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
    let (config, replies) = prepared(dir.path(), mails, server.port).await;
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
