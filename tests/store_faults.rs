//! The SQLite store under faults, through the real binary:
//!
//! - A daemon never recovered from a temporary write failure. With its store on a small
//!   filesystem that filled up, a changed meeting time (40 updates) failed with "database
//!   or disk is full", then `database is locked` for good, even after the disk had room
//!   again: 0 of 40 updates in 150 s, and `status` said "no daemon running" while it ran.
//!   A restart sent all 40. Now the daemon opens the store again and sends them by itself,
//!   and `status` says a daemon is running but cannot write.
//! - The one-daemon-per-store lock was `<path>.lock` next to the path as written: a second
//!   daemon reaching the same database through a symlink ran too, and 35 of 200 messages
//!   went out twice. Now the database file itself is locked.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::smtp::generated_program;
use common::{mentord, start_daemon};

const PAIRS: usize = 20;

/// A program of 20 pairs meeting at 10:00, its store at `db`, its mail in `out`.
fn program(dir: &Path, db: &Path, out: &Path) -> PathBuf {
    let config = dir.join("mentord.toml");
    let text = generated_program(
        PAIRS,
        &format!("[mail]\ndir = \"{}\"\n", out.display()),
        &format!(
            "[store]\nurl = \"sqlite://{}\"\n\n[defaults]\nat = \"10:00\"\n",
            db.display()
        ),
    );
    std::fs::write(&config, text).unwrap();
    config
}

fn files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".eml"))
        })
        .count()
    })
}

fn wait_until(what: &str, limit: Duration, done: impl Fn() -> bool, log: &Path) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} within {limit:?}; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Unmounts the test's filesystem however the test ends.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_daemon_recovers_once_a_full_disk_has_room() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
        .arg(&small)
        .output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!(
            "skipped: mounting a small filesystem needs root (as on CI): {:?}",
            mounted.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        );
        return;
    }
    let _mount = Mount(small.clone());
    let out = dir.path().join("outbox");
    let config = program(dir.path(), &small.join("mentord.db"), &out);
    let log = dir.path().join("daemon.log");
    let mut daemon = common::Daemons(vec![Some(start_daemon(&config, log.clone()))]);
    let pid = daemon.0[0].as_ref().unwrap().id().to_string();
    wait_until(
        "the invites",
        Duration::from_secs(30),
        || files(&out) == 2 * PAIRS,
        &log,
    );

    // Fill the disk, then move every meeting: 40 updates that cannot be queued.
    let filler = small.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 64 << 10];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.sync_all();
    drop(file);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("at = \"10:00\"", "at = \"11:00\"")).unwrap();
    wait_until(
        "a failed tick logged",
        Duration::from_secs(30),
        || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("tick failed")
        },
        &log,
    );
    // Once the heartbeat is a lease old, `status` says why nothing goes out.
    wait_until(
        "status saying the daemon cannot write",
        Duration::from_secs(60),
        || {
            let output = mentord()
                .arg("-c")
                .arg(&config)
                .arg("status")
                .output()
                .unwrap();
            String::from_utf8_lossy(&output.stdout).contains("cannot write to the store")
        },
        &log,
    );
    assert_eq!(
        files(&out),
        2 * PAIRS,
        "nothing sent while the disk is full"
    );

    // Room again: the daemon sends the 40 updates by itself (SIGHUP to wake it now).
    std::fs::remove_file(&filler).unwrap();
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    wait_until(
        "the 40 updates",
        Duration::from_secs(90),
        || files(&out) == 4 * PAIRS,
        &log,
    );
    // Its heartbeat resumes too (every 5 s).
    wait_until(
        "status showing the daemon alive again",
        Duration::from_secs(20),
        || {
            let output = mentord()
                .arg("-c")
                .arg(&config)
                .arg("status")
                .output()
                .unwrap();
            String::from_utf8_lossy(&output.stdout).contains("running since")
        },
        &log,
    );
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let exit = daemon.0[0].take().unwrap().wait().unwrap();
    assert!(exit.success());
}

#[test]
fn a_second_daemon_through_a_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir_all(&real).unwrap();
    std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
    let first_dir = dir.path().join("first");
    let second_dir = dir.path().join("second");
    std::fs::create_dir_all(&first_dir).unwrap();
    std::fs::create_dir_all(&second_dir).unwrap();
    let out = dir.path().join("outbox");
    let first = program(&first_dir, &real.join("mentord.db"), &out);
    let second = program(&second_dir, &dir.path().join("link/mentord.db"), &out);
    let log = dir.path().join("first.log");
    let _daemons = common::Daemons(vec![Some(start_daemon(&first, log.clone()))]);
    wait_until(
        "the invites",
        Duration::from_secs(30),
        || files(&out) == 2 * PAIRS,
        &log,
    );
    // No lock file to delete any more, and none left behind.
    assert!(!real.join("mentord.db.lock").exists());
    let output = mentord()
        .arg("-c")
        .arg(&second)
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("another mentord is already running"),
        "{stderr}"
    );
    assert_eq!(files(&out), 2 * PAIRS, "nothing sent twice");
}
