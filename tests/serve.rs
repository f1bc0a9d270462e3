//! The HTTP side of `mentord run` (SPEC §6) through the real binary on the real clock,
//! sending to a real SMTP server (aiosmtpd) and answering on a free loopback port:
//! - `/livez` 200; `/readyz` and `/healthz` 200 while the store answers and 503 once it
//!   does not (a SQLite file deleted under the daemon, a PostgreSQL database dropped),
//!   while `/livez` stays 200; an unknown path 404; `/a/…` 404 without links; a body
//!   over the limit 413, and the daemon serves on;
//! - `/metrics` read by Python's `prometheus_client` parser: every metric an operator
//!   alerts on is there, and the messages it counts as sent are the messages the SMTP
//!   server received.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use common::smtp::{free_port, start_server};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// What `/metrics` must show (sample names as exposed).
const METRICS: &[&str] = &[
    "mentord_build_info",
    "mentord_messages_sent_total",
    "mentord_messages_failed_total",
    "mentord_messages_dropped_total",
    "mentord_outbox_pending",
    "mentord_outbox_retrying",
    "mentord_outbox_oldest_pending_seconds",
    "mentord_last_sent_timestamp_seconds",
    "mentord_smtp_paused",
    "mentord_daemons",
    "mentord_pairs",
    "mentord_reviews_overdue",
    "mentord_inbound_total",
    "mentord_bouncing_addresses",
];

/// A program in UTC with two pairs whose first meeting is ten minutes away (on the
/// minute): the invites and the (late) agenda prompts go at once, nothing else soon.
fn program(store: &str, smtp: u16, http: u16) -> String {
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    let at = Timestamp::now()
        .checked_add(SignedDuration::from_mins(10))
        .unwrap();
    let zoned = Timestamp::from_second(at.as_second() / 60 * 60)
        .unwrap()
        .to_zoned_datetime(TimeZone::UTC);
    format!(
        r#"[program]
name = "Serve"
timezone = "UTC"
start = {date}
coordinator = "ada"
organizer = {{ name = "Mentoring", email = "mentoring@example.org" }}

[defaults]
every = "week"
on = "{weekday}"
at = "{at}"
duration = "30m"
agenda_before = "2h"
reminder_before = "5m"
quiet_hours = "off"
digest = "off"

[store]
url = "{store}"

[mail]
transport = "smtp"
url = "smtp://127.0.0.1:{smtp}"
tls = "none"

[http]
listen = "127.0.0.1:{http}"

{two_pairs}"#,
        two_pairs = common::TWO_PAIRS,
        date = zoned.date(),
        weekday = zoned.strftime("%a").to_string().to_lowercase(),
        at = zoned.strftime("%H:%M"),
    )
}

/// An answer: status code, headers (lower-case names), body.
struct Answer {
    status: u16,
    headers: String,
    body: String,
}

/// One HTTP/1.1 request on a connection of its own; `extra` are more header lines.
fn request(port: u16, method: &str, path: &str, extra: &str) -> std::io::Result<Answer> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    Ok(Answer {
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_string(),
    })
}

fn get(port: u16, path: &str) -> Answer {
    request(port, "GET", path, "").unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// Waits until the daemon answers `/livez`.
fn wait_until_serving(port: u16, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while request(port, "GET", "/livez", "").is_err() {
        assert!(
            Instant::now() < deadline,
            "the daemon never served; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `/metrics` as Python's `prometheus_client` parser reads it: each sample name, with
/// its samples' labels and values.
type Samples = BTreeMap<String, Vec<(BTreeMap<String, String>, f64)>>;

fn metrics(port: u16) -> Samples {
    let answer = get(port, "/metrics");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer
            .headers
            .contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{}",
        answer.headers
    );
    let script = "import sys, json\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        out = {}\n\
        for family in text_string_to_metric_families(sys.stdin.read()):\n\
        \x20   for s in family.samples:\n\
        \x20       out.setdefault(s.name, []).append([s.labels, s.value])\n\
        print(json.dumps(out))\n";
    let mut child = std::process::Command::new(common::python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.body.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "prometheus_client could not read /metrics: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        answer.body
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn total(samples: &Samples, name: &str) -> f64 {
    samples
        .get(name)
        .map_or(0.0, |s| s.iter().map(|(_, v)| v).sum())
}

fn value(samples: &Samples, name: &str, label: (&str, &str)) -> f64 {
    samples[name]
        .iter()
        .find(|(labels, _)| labels.get(label.0).map(String::as_str) == Some(label.1))
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no {name}{{{}={}}}", label.0, label.1))
}

/// Starts the daemon on `store`, checks every endpoint while the store answers, then
/// runs `break_store` and checks that health says so.
fn serves(store: &str, break_store: impl FnOnce()) {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &[]);
    let port = free_port();
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, program(store, server.port, port)).unwrap();
    let log = dir.path().join("daemon.log");
    let _daemons = common::Daemons(vec![Some(common::start_daemon(&config, log.clone()))]);
    wait_until_serving(port, &log);

    assert_eq!(get(port, "/livez").status, 200);
    for path in ["/readyz", "/healthz"] {
        let answer = get(port, path);
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    }
    assert_eq!(get(port, "/no/such/page").status, 404);
    // Without `public_url` there are no links: nothing to forge.
    assert_eq!(get(port, "/a/garbage").status, 404);
    let huge = request(
        port,
        "POST",
        "/a/garbage",
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10485760\r\n",
    )
    .unwrap();
    assert_eq!(huge.status, 413, "{}", huge.body);
    assert_eq!(
        get(port, "/livez").status,
        200,
        "served on after a huge body"
    );
    // A client that trickles its headers (slowloris) is cut off after 10 s instead of
    // holding its connection for ever (axum's own serve set no limit: the load check
    // found 20 such clients all still connected after 36 s).
    {
        use std::io::{Read as _, Write as _};
        let mut slow = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        slow.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let started = Instant::now();
        let mut rest = Vec::new();
        let _ = slow.read_to_end(&mut rest);
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(20),
            "a half-sent request held its connection {waited:?}"
        );
        assert_eq!(
            get(port, "/livez").status,
            200,
            "served on after a slow client"
        );
    }

    // What the SMTP server received, the metrics count as sent (the text is cached for
    // five seconds, so the two meet within a few).
    let deadline = Instant::now() + Duration::from_secs(60);
    let samples = loop {
        let samples = metrics(port);
        let sent = total(&samples, "mentord_messages_sent_total");
        let received = server.accepted();
        if received >= 4 && sent == received as f64 {
            break samples;
        }
        assert!(
            Instant::now() < deadline,
            "sent {sent} by the metrics, {received} received; log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    for name in METRICS {
        assert!(samples.contains_key(*name), "no {name} in {samples:?}");
    }
    assert!(value(&samples, "mentord_messages_sent_total", ("kind", "invite")) >= 4.0);
    assert_eq!(total(&samples, "mentord_messages_failed_total"), 0.0);
    assert_eq!(value(&samples, "mentord_pairs", ("status", "active")), 2.0);
    assert_eq!(value(&samples, "mentord_daemons", ("state", "alive")), 1.0);
    assert_eq!(total(&samples, "mentord_smtp_paused"), 0.0);
    assert_eq!(
        value(
            &samples,
            "mentord_build_info",
            ("version", env!("CARGO_PKG_VERSION"))
        ),
        1.0
    );
    #[allow(clippy::disallowed_methods)] // compared with the daemon's real clock
    let now = Timestamp::now().as_second() as f64;
    let last = total(&samples, "mentord_last_sent_timestamp_seconds");
    assert!(now - last < 120.0 && last <= now + 1.0, "{last} vs {now}");

    break_store();
    let deadline = Instant::now() + Duration::from_secs(60);
    for path in ["/readyz", "/healthz", "/metrics"] {
        loop {
            let answer = get(port, path);
            if answer.status == 503 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{path} still {} with the store gone: {}",
                answer.status,
                answer.body
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    assert_eq!(get(port, "/livez").status, 200, "alive without a store");
}

#[test]
fn every_endpoint_answers_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mentord.db");
    serves(&format!("sqlite://{}", db.display()), || {
        // Deleted under the daemon: it must not look ready on the old file's numbers.
        std::fs::remove_file(&db).unwrap();
    });
}

#[test]
fn every_endpoint_answers_on_postgres() {
    let Some(database) = common::postgres::database() else {
        return;
    };
    let admin = std::env::var(common::postgres::VARIABLE).unwrap();
    let name = database
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    serves(&database.url, move || {
        common::postgres::blocking(async move {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE {name} WITH (FORCE)"
            )))
            .execute(&mut common::postgres::connect(&admin).await)
            .await
            .unwrap();
        });
    });
}
