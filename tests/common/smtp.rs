//! A real SMTP server for the tests: Python's aiosmtpd (`tests/smtp/server.py`), started
//! on a free loopback port, keeping every message it accepts as a file.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The server process, killed when the test ends.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub dir: PathBuf,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the server on a free port; `args` as `tests/smtp/server.py` takes them.
pub fn start_server(dir: &Path, args: &[&str]) -> Server {
    start_server_on(dir, free_port(), args)
}

pub fn start_server_on(dir: &Path, port: u16, args: &[&str]) -> Server {
    let mail = dir.join("received");
    let mut child = Command::new(super::python())
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

impl Server {
    /// How many messages the server has accepted (duplicates included).
    pub fn accepted(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
                })
                .count()
            })
            .unwrap_or(0)
    }

    /// Every accepted message, in the order accepted.
    pub fn received(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
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

    /// The most SMTP sessions that were open at once.
    pub fn most_sessions_at_once(&self) -> usize {
        std::fs::read_to_string(self.dir.join("../sessions"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// For each held RCPT (`--hold`), how many messages other sessions got through
    /// while it was held.
    pub fn accepted_while_held(&self) -> Vec<usize> {
        std::fs::read_to_string(self.dir.join("../held"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// How many mail transactions came pipelined: MAIL with more commands behind it
    /// in the same write.
    pub fn pipelined(&self) -> usize {
        std::fs::read_to_string(self.dir.join("../pipelined"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The Message-ID of every accepted message, sorted (duplicates kept).
    pub fn message_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .received()
            .iter()
            .map(|m| header(m, "Message-ID").unwrap().to_string())
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// A header's value (first occurrence, unfolded lines only).
pub fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with(&format!("{}:", name.to_ascii_lowercase()))
        })
        .map(|l| l[name.len() + 1..].trim())
}

/// A generated program of `pairs` pairs (two people each, so its first start sends
/// `2 * pairs` invites), with the given `[mail]` and `[store]` sections.
pub fn generated_program(pairs: usize, mail: &str, store: &str) -> String {
    let mut text = format!(
        "[program]\nname = \"Load test\"\ntimezone = \"Europe/Berlin\"\nstart = 2030-01-07\n\
         coordinator = \"p0\"\norganizer = {{ name = \"Org\", email = \"org@example.org\" }}\n\n\
         {mail}\n{store}\n"
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
    text
}

/// `mentord status --json` on the program at `config`, at the virtual `now`.
pub fn status_at(config: &Path, now: jiff::Timestamp) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(config)
        .args(["status", "--json"])
        .env("MENTORD_NOW", now.to_string())
        .output()
        .unwrap();
    assert!(output.status.success());
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Ticks the virtual clock from `start` until nothing is left to do before `until`;
/// what the ticks did, added up.
pub async fn run_until_quiet(
    d: &mut mentord::daemon::Daemon,
    start: jiff::Timestamp,
    until: jiff::Timestamp,
) -> mentord::daemon::Tick {
    let mut now = start;
    let mut total = mentord::daemon::Tick::default();
    while now < until {
        let tick = d.tick(now, &|| false).await.unwrap();
        total.queued += tick.queued;
        total.sent += tick.sent;
        total.failed += tick.failed;
        total.retried += tick.retried;
        total.dropped += tick.dropped;
        let Some(next) = tick.next else { break };
        now = next.max(now.checked_add(jiff::SignedDuration::from_secs(1)).unwrap());
    }
    total
}

/// The example program (five active pairs, ten invites on first start) sending to the
/// server at `port`, with `extra` added to the file and `mail` to `[mail]`, written as
/// `dir/mentord.toml`.
pub fn example_over_smtp(dir: &Path, port: u16, mail: &str, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(format!("{ROOT}/config/mentord.toml")).unwrap()
        + extra
        + &format!(
            "\n[mail]\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{port}\"\ntls = \"none\"\n{mail}\n"
        );
    let config = dir.join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    config
}

/// A daemon on the program at `config` over SMTP, its store at `store`, registered as
/// started on 4 January 2027 (ticked on a virtual clock).
pub async fn smtp_daemon(config: &Path, store: &Path) -> mentord::daemon::Daemon {
    let program = mentord::program::load(config).unwrap();
    let smtp = mentord::daemon::smtp::Smtp::new(&program.mail, &program.organizer.email).unwrap();
    let mut store = mentord::store::Store::open(store).await.unwrap();
    store
        .register(
            mentord::store::InstanceInfo {
                host: "test".into(),
                pid: std::process::id(),
                mail: smtp.describe(),
            },
            "2027-01-04T08:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    mentord::daemon::Daemon::new(
        program,
        mentord::render::Templates::load(None).unwrap(),
        store,
        mentord::daemon::Transport::Smtp(Box::new(smtp)),
    )
}
