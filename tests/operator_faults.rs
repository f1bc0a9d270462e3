//! What an unlucky operator met, through the real binary on a copy of the example:
//!
//! - An `.eml` was written 0644 in a 0755 folder, though mail is personal data; a store
//!   file someone created empty (a `touch`) stayed 0644, and so did its WAL and SHM.
//! - The SQLite file deleted under a running daemon went unnoticed: it went on with a
//!   store that no longer existed (and after a restart invites went out again at
//!   SEQUENCE 0 after SEQUENCE 1 updates). Now it stops sending and says why.
//! - `RUST_LOG=trace` with the log file in the program's folder looped through the file
//!   watcher at 35 MB/s.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemons, example, start_daemon};

fn example_copy(dir: &Path) -> PathBuf {
    let config = dir.join("mentord.toml");
    std::fs::copy(example(), &config).unwrap();
    config
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn eml_count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

fn wait_for(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn mail_and_an_adopted_empty_store_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_copy(dir.path());
    let db = dir.path().join("mentord.db");
    std::fs::write(&db, "").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let outbox = dir.path().join("outbox");
    let _daemon = Daemons(vec![Some(start_daemon(&config, dir.path().join("log")))]);
    wait_for("the invites", Duration::from_secs(30), || {
        eml_count(&outbox) >= 10
    });
    assert_eq!(mode(&outbox), 0o700);
    for entry in std::fs::read_dir(&outbox).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    assert_eq!(mode(&db), 0o600);
    for side in ["mentord.db-wal", "mentord.db-shm"] {
        let path = dir.path().join(side);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{side}");
        }
    }
}

#[test]
fn a_store_deleted_under_a_running_daemon_stops_it_sending() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_copy(dir.path());
    let outbox = dir.path().join("outbox");
    let log = dir.path().join("log");
    let mut daemons = Daemons(vec![Some(start_daemon(&config, log.clone()))]);
    wait_for("the invites", Duration::from_secs(30), || {
        eml_count(&outbox) == 10
    });
    for name in ["mentord.db", "mentord.db-wal", "mentord.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(name));
    }
    // A change that would send updates: none may go out from a store that is gone.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("at = \"11:30\"", "at = \"12:00\"")).unwrap();
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for(
        "the daemon saying the store is gone",
        Duration::from_secs(30),
        || read_log().contains("was deleted while mentord ran"),
    );
    assert_eq!(eml_count(&outbox), 10, "{}", read_log());
    assert!(
        !dir.path().join("mentord.db").exists(),
        "a new, empty store was made in its place"
    );
    let child: &mut Child = daemons.0[0].as_mut().unwrap();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn trace_logs_beside_the_program_do_not_wake_the_watcher() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_copy(dir.path());
    let log = dir.path().join("mentord.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(&config)
        .arg("run")
        .env("RUST_LOG", "trace")
        .env_remove("MENTORD_NOW")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let size = std::fs::metadata(&log).unwrap().len();
    let _ = child.kill();
    let _ = child.wait();
    // A quiet daemon's trace (its SQL included) is well under a megabyte a second; the
    // loop wrote 35.
    assert!(size < 8 << 20, "{size} bytes of log in 4 s");
}
