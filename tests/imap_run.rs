//! `mentord run` with `[inbound]`: the daemon watches a real IMAP mailbox (Dovecot, started
//! by the test, see tests/common/imap.rs). A reply appended to the folder is taken in
//! within seconds and moved to `done_folder`; mail it cannot use stays unread in the
//! folder; mail that arrives while the IMAP server is down is taken in once it is back;
//! two daemons on one PostgreSQL store take each mail in once.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::imap::{ImapServer, PASSWORD, USER};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

const DONE: &str = "mentord";

/// A program whose first meetings are ten minutes away (so the agenda prompts go at
/// once), its replies read from the test server's INBOX.
fn program(dir: &Path, store: &str, port: u16) -> String {
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    let meeting = Timestamp::now()
        .checked_add(SignedDuration::from_mins(10))
        .unwrap()
        .to_zoned_datetime(TimeZone::UTC);
    format!(
        r#"[program]
name = "IMAP"
timezone = "UTC"
start = {date}
coordinator = "ada"
organizer = {{ name = "Mentoring", email = "mentoring@example.org" }}

[defaults]
every = "week"
on = "{weekday}"
at = "{at}"
agenda_before = "2h"
reminder_before = "1m"
quiet_hours = "off"
digest = "off"

[store]
url = "{store}"

[mail]
transport = "file"
dir = "{outbox}"
reply_to = "mentoring+{{token}}@example.org"

[inbound]
imap = "imap://{USER}@127.0.0.1:{port}"
tls = "none"
password_env = "TEST_IMAP_PASSWORD"
done_folder = "{DONE}"

[people.ada]
name = "Ada Lovelace"
email = "ada@example.org"

[people.grace]
name = "Grace Hopper"
email = "grace@example.org"

[people.alan]
name = "Alan Turing"
email = "alan@example.org"

[[pairs]]
mentor = "grace"
mentee = "alan"
"#,
        date = meeting.date(),
        weekday = meeting.strftime("%a").to_string().to_lowercase(),
        at = meeting.strftime("%H:%M"),
        outbox = dir.join("outbox").display(),
    )
}

struct Running(Vec<Child>);

impl Running {
    fn start(config: &Path, log: &Path) -> Child {
        Command::new(env!("CARGO_BIN_EXE_mentord"))
            .arg("-c")
            .arg(config)
            .arg("run")
            .env("RUST_LOG", "info")
            .env("TEST_IMAP_PASSWORD", PASSWORD)
            .env_remove("MENTORD_NOW")
            .env_remove("MENTORD_CONFIG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap()
    }

    fn stop(&mut self) {
        for child in &self.0 {
            common::wait_until_it_handles_sigterm(child);
            Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status()
                .unwrap();
        }
        for mut child in self.0.drain(..) {
            assert!(
                child.wait().unwrap().success(),
                "a daemon did not stop cleanly"
            );
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `check` every 200 ms for up to `limit`.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The Reply-To of the agenda prompt to Alan, once it is written.
async fn prompt_reply_to(outbox: &Path) -> String {
    let mut found = None;
    eventually(Duration::from_secs(30), "an agenda prompt", || {
        found = std::fs::read_dir(outbox).ok().and_then(|entries| {
            entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("agenda_prompt-"))
            })
        });
        std::future::ready(found.is_some())
    })
    .await;
    let raw = std::fs::read_to_string(found.unwrap()).unwrap();
    let line = raw.lines().find(|l| l.starts_with("Reply-To:")).unwrap();
    line[line.find('<').unwrap() + 1..line.find('>').unwrap()].to_string()
}

fn reply(reply_to: &str, id: &str, text: &str) -> Vec<u8> {
    format!(
        "From: Alan Turing <alan@example.org>\r\nTo: {reply_to}\r\nSubject: Re: Agenda\r\n\
         Message-ID: <{id}@mail.example.org>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
    .into_bytes()
}

fn agenda_in(config: &Path) -> bool {
    let output = common::mentord()
        .arg("-c")
        .arg(config)
        .args(["status", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    json["pairs"][0]["agenda_in"] == true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_in_the_mailbox_are_taken_in_and_moved() {
    let mut server = ImapServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mentord.toml");
    let store = format!("sqlite://{}", dir.path().join("mentord.db").display());
    std::fs::write(&config, program(dir.path(), &store, server.port)).unwrap();
    let log = dir.path().join("daemon.log");
    let mut running = Running(vec![Running::start(&config, &log)]);
    let reply_to = prompt_reply_to(&dir.path().join("outbox")).await;

    // Mail from a stranger stays unread in INBOX (and is kept); Alan's agenda is taken
    // in within seconds and moved to the done folder.
    let started = Instant::now();
    server
        .append(
            "INBOX",
            &reply(&reply_to, "stranger", "Hello?").replace_sender(),
        )
        .await
        .unwrap();
    server
        .append("INBOX", &reply(&reply_to, "agenda-1", "1. The runbook"))
        .await
        .unwrap();
    eventually(
        Duration::from_secs(20),
        "the agenda moved to the done folder",
        || async { server.list(DONE).await.unwrap().len() == 1 },
    )
    .await;
    eprintln!("taken in and moved after {:?}", started.elapsed());
    let inbox = server.list("INBOX").await.unwrap();
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert!(!inbox[0].seen(), "set-aside mail must stay unread");
    assert!(agenda_in(&config));
    // From outside the pairs: also kept whole for the coordinator (SPEC §5).
    let kept = common::mentord()
        .arg("-c")
        .arg(&config)
        .args(["inbox", "list", "--json"])
        .output()
        .unwrap();
    let kept: serde_json::Value = serde_json::from_slice(&kept.stdout).unwrap();
    assert_eq!(kept[0]["sender"], "mallory@example.net", "{kept}");

    // The server goes away; mail arrives meanwhile; it is taken in once it is back.
    server.stop().await.unwrap();
    server
        .deliver_offline("INBOX", &reply(&reply_to, "agenda-2", "2. And the review"))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.start_again().await.unwrap();
    eventually(
        Duration::from_secs(60),
        "mail from the downtime taken in",
        || async {
            server
                .list(DONE)
                .await
                .map(|l| l.len() == 2)
                .unwrap_or(false)
        },
    )
    .await;
    assert_eq!(server.list("INBOX").await.unwrap().len(), 1);
    running.stop();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(!log.contains(PASSWORD), "the password reached the log");
    assert!(!log.contains("The runbook"), "agenda text reached the log");
}

/// Two daemons on one PostgreSQL store: one watches (it holds the lease), each mail is
/// taken in once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_take_each_mail_once() {
    let Some(database) = common::postgres::database() else {
        return;
    };
    let server = ImapServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, program(dir.path(), &database.url, server.port)).unwrap();
    let logs = [dir.path().join("a.log"), dir.path().join("b.log")];
    let mut running = Running(vec![
        Running::start(&config, &logs[0]),
        Running::start(&config, &logs[1]),
    ]);
    let reply_to = prompt_reply_to(&dir.path().join("outbox")).await;
    for n in 0..6 {
        server
            .append(
                "INBOX",
                &reply(&reply_to, &format!("agenda-{n}"), &format!("Item {n}")),
            )
            .await
            .unwrap();
    }
    eventually(Duration::from_secs(60), "six replies moved", || async {
        server.list(DONE).await.unwrap().len() == 6
    })
    .await;
    running.stop();
    let taken: usize = logs
        .iter()
        .map(|log| {
            std::fs::read_to_string(log)
                .unwrap()
                .matches("mail taken in")
                .count()
        })
        .sum();
    assert_eq!(taken, 6, "each mail taken in once by one daemon");
    let watching = logs
        .iter()
        .filter(|log| {
            std::fs::read_to_string(log)
                .unwrap()
                .contains("watching the replies mailbox")
        })
        .count();
    assert_eq!(watching, 2, "both start a watcher; the lease lets one work");
    drop(database);
}

trait ReplaceSender {
    fn replace_sender(self) -> Vec<u8>;
}

impl ReplaceSender for Vec<u8> {
    /// The same mail from someone who is not of the pair.
    fn replace_sender(self) -> Vec<u8> {
        String::from_utf8(self)
            .unwrap()
            .replace(
                "Alan Turing <alan@example.org>",
                "Mallory <mallory@example.net>",
            )
            .into_bytes()
    }
}
