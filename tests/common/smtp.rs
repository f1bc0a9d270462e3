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
