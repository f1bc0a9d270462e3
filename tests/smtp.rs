//! The daemon against a real SMTP server (Python's aiosmtpd, started here on loopback),
//! on a virtual clock: temporary failures are retried until delivered, a permanent
//! rejection is recorded without holding up the rest, and every message the server
//! accepts arrives once, with the Message-ID the store holds.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use jiff::Timestamp;
use mentord::daemon::smtp::Smtp;
use mentord::daemon::{Daemon, Transport};
use mentord::program;
use mentord::render::Templates;
use mentord::store::Store;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The server process, killed when the test ends.
struct Server {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(dir: &Path, args: &[&str]) -> Server {
    start_server_on(dir, free_port(), args)
}

fn start_server_on(dir: &Path, port: u16, args: &[&str]) -> Server {
    let installed = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .unwrap();
    if !installed.success() {
        let status = Command::new("python3")
            .args(["-m", "pip", "install", "-q", "aiosmtpd==1.4.6"])
            .status()
            .unwrap();
        assert!(
            status.success(),
            "pip install aiosmtpd failed: the SMTP tests need a real server"
        );
    }
    let mail = dir.join("received");
    let mut child = Command::new("python3")
        .arg(format!("{ROOT}/tests/smtp/server.py"))
        .args(["--port", &port.to_string(), "--dir"])
        .arg(&mail)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    Server {
        child,
        dir: mail,
        port,
    }
}

fn received(server: &Server) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(&server.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with(&format!("{}:", name.to_ascii_lowercase()))
        })
        .map(|l| l[name.len() + 1..].trim())
}

async fn daemon(dir: &Path, port: u16) -> Daemon {
    let text = std::fs::read_to_string(format!("{ROOT}/config/mentord.toml")).unwrap()
        + &format!(
            "\n[mail]\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{port}\"\ntls = \"none\"\n"
        );
    let config = dir.join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    let program = program::load(&config).unwrap();
    let smtp = Smtp::new(&program.mail, &program.organizer.email).unwrap();
    let templates = Templates::load(None).unwrap();
    let store = Store::open(&dir.join("mentord.db")).await.unwrap();
    Daemon::new(program, templates, store, Transport::Smtp(Box::new(smtp)))
}

/// Ticks the virtual clock from `start` until nothing is left to retry.
async fn run_until_quiet(d: &mut Daemon, start: Timestamp, until: Timestamp) {
    let mut now = start;
    while now < until {
        let tick = d.tick(now, &|| false).await.unwrap();
        let Some(next) = tick.next else { break };
        now = next.max(now.checked_add(jiff::SignedDuration::from_secs(1)).unwrap());
    }
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

    let mail = received(&server);
    // Ten invites, one of them rejected for good: nine arrive, each exactly once.
    assert_eq!(mail.len(), 9, "{}", mail.len());
    let mut ids: Vec<&str> = mail
        .iter()
        .map(|m| header(m, "Message-ID").unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 9, "a message arrived twice");
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
        summary.failures[0].1 == "vint@example.org" && summary.failures[0].2.contains("550"),
        "{:?}",
        summary.failures
    );
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
    // The server comes up on that port; the daemon delivers everything, once.
    let server = start_server_on(dir.path(), port, &[]);
    run_until_quiet(
        &mut d,
        tick.next.unwrap(),
        "2027-01-04T12:00:00Z".parse().unwrap(),
    )
    .await;
    let mail = received(&server);
    assert_eq!(mail.len(), 10);
}

/// `kill -9` of the daemon at several points while it sends 500 invites, then a clean
/// run: nothing is lost, and a message arrives twice only if it was in flight at a
/// kill (at most one per kill), with the same Message-ID. (500, not thousands: lettre
/// 0.11.23 sends about 22 messages a second over one connection, see README.)
#[test]
fn kill_9_while_sending_loses_nothing_and_doubles_at_most_the_one_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &[]);
    let pairs = 250;
    let mut text = format!(
        "[program]\nname = \"Kill test\"\ntimezone = \"Europe/Berlin\"\nstart = 2030-01-07\ncoordinator = \"p0\"\n\
         organizer = {{ name = \"Org\", email = \"org@example.org\" }}\n\n\
         [mail]\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{}\"\ntls = \"none\"\n",
        server.port
    );
    for i in 0..pairs * 2 {
        text += &format!("\n[people.p{i}]\nname = \"Person {i}\"\nemail = \"p{i}@example.org\"\n");
    }
    for i in 0..pairs {
        text += &format!(
            "\n[[pairs]]\nmentor = \"p{}\"\nmentee = \"p{}\"\n",
            2 * i,
            2 * i + 1
        );
    }
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
    let count = || {
        let mail = received(&server);
        let mut ids: Vec<String> = mail
            .iter()
            .map(|m| header(m, "Message-ID").unwrap().to_string())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    let mut kills = 0;
    for delay in [300u64, 1500, 700, 2500, 1100, 1900] {
        let mut child = run();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    let mut child = run();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while count() < 2 * pairs && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // A clean stop: SIGTERM, exit 0.
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());

    let mail = received(&server);
    let mut ids: Vec<&str> = mail
        .iter()
        .map(|m| header(m, "Message-ID").unwrap())
        .collect();
    ids.sort_unstable();
    let total = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), 2 * pairs, "lost messages");
    assert!(
        total - ids.len() <= kills,
        "{} duplicates after {kills} kills",
        total - ids.len()
    );
}
