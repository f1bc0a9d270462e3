//! The coordinator's page must never break the SQLite store under the daemon.
//!
//! The story (issue 22, defect 1): a coordinator opened `GET /` while the daemon ran.
//! To say whether "a daemon holds the store", the page opened `mentord.db` and closed it
//! again, inside the daemon. Closing any descriptor of a file drops every POSIX lock the
//! process holds on it, SQLite's own included: after one `GET /`, `/proc/locks` showed
//! the daemon's locks on `mentord.db` gone. The next client that closed cleanly (a
//! `mentord deliver`, the `sqlite3 .backup` that `docs/install.md` recommends) believed
//! itself the last one, checkpointed and deleted the WAL under the running daemon, and
//! runs ended with "database disk image is malformed".
//!
//! Here the daemon runs with its page; the POSIX locks it holds on the database and its
//! `-shm` are counted in `/proc/locks` before and after the page; then the page is
//! loaded in a loop while `sqlite3 .backup` and `mentord deliver` run beside it, and the
//! store must end whole (`PRAGMA integrity_check` = ok) with every delivered mail in it.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = "a test secret of at least thirty-two bytes, for links";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn program(dir: &Path, port: u16) -> PathBuf {
    let text = format!(
        r#"[program]
name = "Lock test program"
timezone = "UTC"
start = 2027-01-11
coordinator = "ada"
organizer = {{ name = "Mentoring", email = "mentoring@example.org" }}

[defaults]
every = "week"
on = "mon"
at = "10:00"
digest = "off"

[store]
url = "sqlite://{db}"

[mail]
transport = "file"
dir = "{outbox}"

[http]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
secret_env = "TEST_LOCKS_SECRET"
password_env = "TEST_LOCKS_PASSWORD"

{people}"#,
        db = dir.join("mentord.db").display(),
        outbox = dir.join("outbox").display(),
        people = common::TWO_PAIRS,
    );
    let config = dir.join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    config
}

/// The POSIX (record) locks process `pid` holds on the file at `path`, as
/// `/proc/locks` lists them (`N: POSIX ADVISORY READ|WRITE PID MAJ:MIN:INODE ...`).
fn posix_locks(pid: u32, path: &Path) -> usize {
    let Ok(meta) = std::fs::metadata(path) else {
        return 0;
    };
    let inode = meta.ino().to_string();
    std::fs::read_to_string("/proc/locks")
        .unwrap()
        .lines()
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // "1:" "POSIX" "ADVISORY" "READ" "PID" "MAJ:MIN:INODE" "START" "END"; a
            // blocked waiter's line has "->" after the number.
            let fields: Vec<&str> = fields.into_iter().filter(|f| *f != "->").collect();
            fields.get(1) == Some(&"POSIX")
                && fields.get(4) == Some(&pid.to_string().as_str())
                && fields
                    .get(5)
                    .and_then(|f| f.rsplit(':').next())
                    .is_some_and(|i| i == inode)
        })
        .count()
}

fn page(port: u16) -> common::http::Response {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("coordinator:{PASSWORD}"));
    let authorization = format!("Basic {credentials}");
    common::http::request(
        port,
        "GET",
        "/",
        &[("Authorization", authorization.as_str())],
        b"",
    )
}

fn wait_until_ready(port: u16, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        && common::http::get(port, "/readyz").status == 200)
    {
        assert!(
            Instant::now() < deadline,
            "the daemon never got ready: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A stranger's mail, set aside and kept by `deliver`.
fn stranger_mail(n: usize) -> String {
    format!(
        "From: Someone <someone@elsewhere.example>\r\nTo: mentoring@example.org\r\n\
         Subject: question {n}\r\nMessage-ID: <question-{n}@elsewhere.example>\r\n\
         Date: Mon, 11 Jan 2027 09:00:00 +0000\r\n\r\nHello, how do I join?\r\n"
    )
}

fn deliver(config: &Path, mail: &str) {
    let (code, said) = common::deliver(config, mail.as_bytes());
    assert_eq!(code, 0, "deliver failed: {said}");
}

fn sqlite3(db: &Path, command: &str) -> String {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(command)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sqlite3 {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn the_page_leaves_sqlites_locks_and_the_store_whole() {
    if Command::new("sqlite3").arg("--version").output().is_err() {
        // tests/ical/setup.sh installs it with the other checkers.
        common::python();
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = program(dir.path(), port);
    let db = dir.path().join("mentord.db");
    let shm = dir.path().join("mentord.db-shm");
    let log = dir.path().join("daemon.log");
    let child = Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(&config)
        .arg("run")
        .env("RUST_LOG", "warn")
        .env("TEST_LOCKS_PASSWORD", PASSWORD)
        .env("TEST_LOCKS_SECRET", SECRET)
        .env_remove("MENTORD_NOW")
        .env_remove("MENTORD_CONFIG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut daemons = common::Daemons(vec![Some(child)]);
    wait_until_ready(port, &log);

    // SQLite's locks, as the daemon holds them at rest.
    let before = (posix_locks(pid, &db), posix_locks(pid, &shm));
    assert!(
        before.0 + before.1 > 0,
        "the daemon holds no SQLite lock at rest: nothing to compare"
    );
    assert_eq!(page(port).status, 200);
    let after = (posix_locks(pid, &db), posix_locks(pid, &shm));
    assert_eq!(
        after, before,
        "GET / changed the daemon's POSIX locks on (mentord.db, mentord.db-shm)"
    );

    // The page in a loop, with backups and deliveries beside it.
    let rounds = 25;
    for n in 0..rounds {
        assert_eq!(page(port).status, 200);
        sqlite3(
            &db,
            &format!(".backup {}", dir.path().join("backup.db").display()),
        );
        deliver(&config, &stranger_mail(n));
    }
    assert_eq!(page(port).status, 200);
    assert_eq!(
        (posix_locks(pid, &db), posix_locks(pid, &shm)),
        before,
        "the loop changed the daemon's POSIX locks"
    );
    daemons.stop();

    assert_eq!(sqlite3(&db, "PRAGMA integrity_check"), "ok");
    assert_eq!(
        sqlite3(&db, "SELECT count(*) FROM inbound"),
        rounds.to_string(),
        "every delivered mail is in the store"
    );
    assert_eq!(
        sqlite3(&dir.path().join("backup.db"), "PRAGMA integrity_check"),
        "ok"
    );
}
