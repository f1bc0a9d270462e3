//! The HTTP side of `mentord run` as a hostile outsider meets it (issue 22, SPEC §6),
//! through the real binary on the real clock, a SQLite store and a file transport:
//!
//! - The coordinator's page password could be guessed at full speed: 1,000 wrong
//!   guesses took 0.1 s, then the right one worked, and the log said nothing; `check`
//!   and `run` took a 1-character password. Now a password under 16 characters is
//!   refused at its line of the program file, and after 5 wrong passwords a client
//!   address waits (429, `Retry-After`, doubling), even with the right one, and every
//!   refusal is logged with the address and without the password tried.
//! - One client could starve the HTTP side: 1,030 idle connections from one address
//!   took every slot, and `/livez` waited 4.4–7.5 s until the header timeout freed
//!   some. Now one address holds at most 64 connections, so the others are served.
//! - The page showed a kept mail's subject with its U+202E (RIGHT-TO-LEFT OVERRIDE) as
//!   is; now it is shown as `<U+202E>`.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::http::{Response, free_port, request};

const PASSWORD: &str = "correct horse battery staple";

/// A program in UTC meeting in 2030 with two pairs, `[http]` on `port` with the page's
/// password from `TRUST_PAGE_PASSWORD`.
fn program(dir: &Path, port: u16) -> PathBuf {
    common::program_in_2030(
        dir,
        &format!(
            "[http]\nlisten = \"127.0.0.1:{port}\"\npassword_env = \"TRUST_PAGE_PASSWORD\"\n\n{}",
            common::TWO_PAIRS
        ),
    )
}

/// A daemon serving [`program`] with [`PASSWORD`] on a free port, in a folder of its own.
struct Served {
    dir: tempfile::TempDir,
    port: u16,
    config: PathBuf,
    daemons: common::Daemons,
}

fn serving() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = program(dir.path(), port);
    let daemons = start(&config, dir.path(), port, PASSWORD);
    Served {
        dir,
        port,
        config,
        daemons,
    }
}

/// `mentord -c CONFIG run` with the page's `password`, its log in `dir/daemon.log`,
/// once it serves.
fn start(config: &Path, dir: &Path, port: u16, password: &str) -> common::Daemons {
    let child = Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "warn")
        .env("TRUST_PAGE_PASSWORD", password)
        .env_remove("MENTORD_NOW")
        .env_remove("MENTORD_CONFIG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    let daemons = common::Daemons(vec![Some(child)]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the daemon never listened: {}",
            log(dir)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    daemons
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default()
}

/// GET `/` as the coordinator with `password`.
fn page(port: u16, password: &str) -> Response {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("coordinator:{password}"));
    request(
        port,
        "GET",
        "/",
        &[("Authorization", &format!("Basic {credentials}"))],
        b"",
    )
}

/// `mentord -c CONFIG COMMAND` with the page's `password`: exit code and stderr.
fn with_password(config: &Path, command: &str, password: &str) -> (Option<i32>, String) {
    let output = common::mentord()
        .arg("-c")
        .arg(config)
        .arg(command)
        .env("TRUST_PAGE_PASSWORD", password)
        .env("RUST_LOG", "warn")
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_short_page_password_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = program(dir.path(), port);
    let text = std::fs::read_to_string(&config).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("password_env"))
        .unwrap()
        + 1;
    let at = format!("{}:{line}:", config.display());
    for short in ["x", "fifteen chars!!"] {
        for command in ["check", "run"] {
            let (code, said) = with_password(&config, command, short);
            assert_eq!(code, Some(1), "{command} took {short:?}: {said}");
            assert!(said.contains(&at), "{command}: no {at} in {said}");
            assert!(said.contains("at least 16"), "{command}: {said}");
            assert!(
                short.len() == 1 || !said.contains(short),
                "{command} printed the password: {said}"
            );
        }
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "a refused run served"
    );
    let (code, said) = with_password(&config, "check", "sixteen chars!!!");
    assert_eq!(code, Some(0), "{said}");
}

#[test]
fn guessing_the_page_password_is_slow_and_logged() {
    // The folder is kept to the end: the daemon's store and log are in it.
    let Served {
        dir,
        port,
        config: _,
        mut daemons,
    } = serving();

    // 1,000 wrong guesses as fast as one client can send them.
    let started = Instant::now();
    let (mut wrong, mut waits) = (0usize, 0usize);
    for i in 0..1000 {
        let answer = page(port, &format!("guess-{i:04}-of-the-password"));
        match answer.status {
            401 => wrong += 1,
            429 => {
                waits += 1;
                let after: u64 = answer.header("Retry-After").unwrap().parse().unwrap();
                assert!((1..=900).contains(&after), "Retry-After: {after}");
            }
            other => panic!("a wrong password got {other}: {}", answer.body),
        }
    }
    let took = started.elapsed();
    println!("1,000 guesses in {took:?}: {wrong} checked (401), {waits} told to wait (429)");
    // Five free, then one after each wait of 1, 2, 4, … seconds.
    let waited_out = (took.as_secs_f64() + 1.0).log2().ceil();
    assert!(waited_out < 30.0);
    let most = 5 + waited_out as usize;
    assert!(
        wrong <= most,
        "{wrong} of 1,000 guesses were checked in {took:?}"
    );

    // The right password now: it waits too.
    let refused = page(port, PASSWORD);
    assert_eq!(refused.status, 429, "{}", refused.body);
    let after: u64 = refused.header("Retry-After").unwrap().parse().unwrap();
    assert!(!refused.body.contains("Trust"), "{}", refused.body);
    // Once the wait is over, the right password is in, and the count starts afresh.
    std::thread::sleep(Duration::from_secs(after) + Duration::from_millis(200));
    let page_in = page(port, PASSWORD);
    assert_eq!(page_in.status, 200, "{}", page_in.body);
    assert_eq!(page(port, "one more wrong guess").status, 401);

    let said = log(dir.path());
    let lines = |what: &str| said.lines().filter(|l| l.contains(what)).count();
    assert_eq!(
        lines("a wrong password for the coordinator's page"),
        wrong + 1,
        "{said}"
    );
    assert_eq!(lines("too many wrong passwords"), waits + 1, "{said}");
    for line in said.lines().filter(|l| l.contains("coordinator's page")) {
        assert!(line.contains("127.0.0.1"), "no address: {line}");
    }
    assert!(!said.contains("guess-"), "a password tried was logged");
    assert!(!said.contains(PASSWORD), "the password was logged");

    daemons.stop();
}

#[test]
fn one_client_cannot_starve_the_others() {
    let Served {
        dir: _dir,
        port,
        mut daemons,
        ..
    } = serving();
    assert_eq!(common::http::get(port, "/livez").status, 200);

    // 1,030 idle connections from 127.0.0.2 (Linux's loopback answers for all of
    // 127/8), so the probe from 127.0.0.1 comes from another address.
    let server: SocketAddr = ([127, 0, 0, 1], port).into();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hog: Vec<std::net::TcpStream> = runtime.block_on(async {
        let mut hog = Vec::new();
        for _ in 0..1030 {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(([127, 0, 0, 2], 0).into()).unwrap();
            let stream = socket.connect(server).await.unwrap();
            hog.push(stream.into_std().unwrap());
        }
        hog
    });
    std::thread::sleep(Duration::from_millis(300));

    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let asked = Instant::now();
        let live = common::http::get(port, "/livez");
        slowest = slowest.max(asked.elapsed());
        assert_eq!(live.status, 200);
    }
    println!("/livez beside 1,030 idle connections from one address: slowest of 5 {slowest:?}");
    assert!(
        slowest < Duration::from_secs(1),
        "/livez took {slowest:?} beside one client's idle connections"
    );

    // The hog kept at most 64; the rest were closed at once (read: end of stream).
    let mut open = 0;
    for mut stream in hog {
        stream.set_nonblocking(true).unwrap();
        match stream.read(&mut [0u8; 1]) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => open += 1,
            _ => {}
        }
    }
    println!("of 1,030 connections from 127.0.0.2, {open} stayed open");
    assert!(open <= 64, "one address holds {open} connections");
    assert!(open > 0, "the hog's first connections are served like any");

    daemons.stop();
}

#[test]
fn the_page_shows_outside_text_inert() {
    let Served {
        dir: _dir,
        port,
        config,
        mut daemons,
    } = serving();
    let subject = base64::engine::general_purpose::STANDARD.encode("invoice \u{202E}fdp.exe");
    // The daemon takes the handed-off mail in; `intake --wait` waits for its verdict.
    let (code, said) = common::deliver(
        &config,
        format!(
            "From: stranger@example.net\r\nTo: mentoring@example.org\r\n\
             Subject: =?UTF-8?B?{subject}?=\r\nMessage-ID: <rlo@example.net>\r\n\r\nhello\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(code, 0, "{said}");

    let shown = page(port, PASSWORD);
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(!shown.body.contains('\u{202E}'), "U+202E reached the page");
    assert!(
        shown.body.contains("invoice &lt;U+202E&gt;fdp.exe"),
        "{}",
        shown.body
    );
    daemons.stop();
}
