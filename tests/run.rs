//! `mentord run` as systemd and a careless operator meet it: it tells systemd when it is
//! ready, reloading and stopping (`NOTIFY_SOCKET`, as `Type=notify` sets it), a second
//! daemon on the same SQLite store is refused with a clear message, and `status` names
//! the running daemon.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const NOW: &str = "2027-01-04T08:00:00Z";

fn program(dir: &Path) -> std::path::PathBuf {
    let config = dir.join("mentord.toml");
    let text = format!(
        "{}\n[store]\nurl = \"sqlite://{}\"\n\n[mail]\ntransport = \"file\"\ndir = \"{}\"\n",
        common::example_with(&[]),
        dir.join("mentord.db").display(),
        dir.join("outbox").display()
    );
    std::fs::write(&config, text).unwrap();
    config
}

fn start(config: &Path, notify: &Path) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mentord"));
    command
        .arg("-c")
        .arg(config)
        .arg("run")
        .env("MENTORD_NOW", NOW)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command.env("NOTIFY_SOCKET", notify).spawn().unwrap()
}

fn signal(child: &Child, name: &str) {
    Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
}

/// `mentord status` as a person reads it.
fn status_table(config: &Path) -> String {
    let status = common::mentord()
        .arg("-c")
        .arg(config)
        .arg("status")
        .env("MENTORD_NOW", NOW)
        .output()
        .unwrap();
    String::from_utf8(status.stdout).unwrap()
}

fn receive(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn tells_systemd_and_refuses_a_second_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let config = program(dir.path());
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut daemon = start(&config, &path);

    // Ready once the first tick is done: the ten invites are out.
    assert_eq!(receive(&socket), "READY=1");
    let outbox = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .count();
    assert_eq!(outbox, 10);

    // `status` names it.
    let table = status_table(&config);
    assert!(
        table.contains(&format!("(pid {} on ", daemon.id())) && table.contains("running since"),
        "{table}"
    );

    // A second daemon on the same store is refused, and says why.
    let second = common::mentord()
        .arg("-c")
        .arg(&config)
        .arg("run")
        .env("MENTORD_NOW", NOW)
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(
        message.contains("another mentord is already running on the store")
            && message.contains("PostgreSQL"),
        "{message}"
    );

    // A reload, then a stop.
    signal(&daemon, "HUP");
    assert_eq!(receive(&socket), "RELOADING=1");
    assert_eq!(receive(&socket), "READY=1");
    signal(&daemon, "TERM");
    assert_eq!(receive(&socket), "STOPPING=1");
    assert!(daemon.wait().unwrap().success());

    // Stopped cleanly: no daemon is left in the store.
    let table = status_table(&config);
    assert!(table.contains("no daemon running"), "{table}");
}
