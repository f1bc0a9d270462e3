//! A template can no longer hang mentord. A template with nested `range(100000)` loops
//! made `mentord check` run forever, and a daemon reloading it sat at 88% CPU, sent
//! nothing, and ignored SIGTERM until SIGKILL. Templates now run on bounded work and
//! output: `check` names the file and line, a reload keeps the last good program, and
//! SIGTERM stops the daemon at once.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::time::{Duration, Instant};

use common::{example_with_templates, mentord, start_daemon};

const HUNGRY: &str = "subject: Agenda\n\nHello\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n";

#[test]
fn check_reports_a_template_that_does_too_much_work() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_with_templates(dir.path(), &[("agenda_prompt.md", HUNGRY)]);
    let started = Instant::now();
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("agenda_prompt.md:4"), "{stderr}");
    assert!(stderr.contains("too much work"), "{stderr}");
    // Not a timing test: a hang would never get here; this says how far from one.
    eprintln!("check refused it after {:?}", started.elapsed());
}

#[test]
fn check_reports_a_template_that_writes_too_much() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "subject: Agenda\n\n{% for i in range(200) %}{{ 'x' * 100000 }}{% endfor %}\n";
    let config = example_with_templates(dir.path(), &[("followup.md", huge)]);
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("followup.md"), "{stderr}");
    assert!(stderr.contains("writes more than"), "{stderr}");
}

#[test]
fn a_daemon_keeps_its_program_and_stops_on_sigterm_after_a_hungry_reload() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_with_templates(dir.path(), &[]);
    let log = dir.path().join("daemon.log");
    let mut daemon = start_daemon(&config, log.clone());
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let wait_for = |what: &str, limit: Duration| {
        let deadline = Instant::now() + limit;
        while !read_log().contains(what) {
            assert!(Instant::now() < deadline, "no {what:?} in:\n{}", read_log());
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // RUST_LOG=warn: wait for the first good tick through its outbox instead.
    let outbox = dir.path().join("outbox");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(&outbox).map_or(0, |d| d.count()) < 10 {
        assert!(Instant::now() < deadline, "no invites: {}", read_log());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::write(dir.path().join("mine/agenda_prompt.md"), HUNGRY).unwrap();
    let pid = daemon.id().to_string();
    std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    wait_for("keeping the last good program", Duration::from_secs(60));
    assert!(read_log().contains("agenda_prompt.md:4"), "{}", read_log());
    let stopping = Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    loop {
        if let Some(status) = daemon.try_wait().unwrap() {
            assert!(status.success(), "{status:?}: {}", read_log());
            break;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(30),
            "SIGTERM ignored: {}",
            read_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Regression: a template file that was a symlink out of the templates folder was
/// followed and its target mailed (a link to a secret beside the program, say).
#[test]
fn a_template_linked_out_of_its_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_with_templates(dir.path(), &[]);
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "subject: not for mail\n\nthe database password\n").unwrap();
    std::os::unix::fs::symlink(&secret, dir.path().join("mine/agenda_prompt.md")).unwrap();
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("leads outside the templates folder"),
        "{stderr}"
    );
}
