//! What the benchmarks share: a generated program of any size.
//!
//! The program mixes 24 zones (both hemispheres, half- and quarter-hour offsets), weekly,
//! fortnightly, monthly and RRULE cadences, early-morning times that hit DST changes,
//! paused pairs, skip dates and per-person quiet hours. Also: Postfix's SMTP sink to
//! send to, and the outbox in two numbers.

#![allow(dead_code)] // each benchmark uses its own part

pub mod client;

use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection as _;

const ZONES: &[&str] = &[
    "Europe/Berlin",
    "Europe/London",
    "Europe/Helsinki",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Africa/Johannesburg",
    "Africa/Lagos",
    "Asia/Dubai",
    "Asia/Tehran",
    "America/Mexico_City",
    "Atlantic/Azores",
    "UTC",
];

const CADENCES: &[&str] = &[
    "every = \"week\"\non = \"tue\"",
    "every = \"2 weeks\"\non = \"wed\"",
    "every = \"2 weeks\"\non = \"mon, thu\"",
    "every = \"month\"\non = \"2nd tue\"",
    "every = \"month\"\non = \"15\"",
    "rrule = \"FREQ=WEEKLY;INTERVAL=3;BYDAY=FR\"",
    "",
];

/// A small deterministic generator, so every run measures the same program.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

pub fn generate(pairs: usize) -> String {
    let mut rng = Lcg(42);
    let mut out = String::with_capacity(pairs * 400);
    out.push_str(
        r#"[program]
name = "Generated benchmark program"
timezone = "Europe/Berlin"
start = 2027-01-11
end = 2027-12-31
coordinator = "coordinator"
organizer = { name = "Mentoring Program", email = "mentoring@example.org" }
skip = [2027-04-05, 2027-05-24, 2027-12-24]

[defaults]
every = "2 weeks"
on = "tue"
at = "10:00"
duration = "45m"
location = "Video call"

[people.coordinator]
name = "Coordinator"
email = "coordinator@example.org"
"#,
    );
    for i in 0..pairs * 2 {
        let zone = ZONES[rng.next(ZONES.len())];
        let _ = write!(
            out,
            "\n[people.p{i}]\nname = \"Person {i}\"\nemail = \"p{i}@example.org\"\ntimezone = \"{zone}\"\n"
        );
        if rng.next(10) == 0 {
            out.push_str("quiet_hours = \"22:00-06:30\"\n");
        }
    }
    for i in 0..pairs {
        let mentor = 2 * i;
        let _ = write!(
            out,
            "\n[[pairs]]\nmentor = \"p{mentor}\"\nmentee = \"p{}\"\n",
            mentor + 1
        );
        let cadence = CADENCES[rng.next(CADENCES.len())];
        if !cadence.is_empty() {
            let _ = writeln!(out, "{cadence}");
        }
        let hour = [1, 2, 3, 8, 9, 10, 11, 14, 16, 17][rng.next(10)];
        let minute = [0, 15, 30, 45][rng.next(4)];
        let _ = writeln!(out, "at = \"{hour:02}:{minute:02}\"");
        if rng.next(3) == 0 {
            let _ = writeln!(out, "timezone = \"{}\"", ZONES[rng.next(ZONES.len())]);
        }
        if rng.next(4) == 0 {
            let _ = writeln!(out, "start = 2027-0{}-1{}", 1 + rng.next(6), rng.next(10));
        }
        if rng.next(50) == 0 {
            out.push_str("status = \"paused\"\n");
        }
        out.push_str(
            "goals = [\"Lead one design review by March\", \"Ship the on-call runbook\"]\n",
        );
    }
    out
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// Postfix's SMTP sink: accepts and discards, fast enough not to be what is measured.
pub struct Sink(Child);

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_sink(port: u16) -> Sink {
    let child = Command::new("/usr/sbin/smtp-sink")
        .args(["-u", "nobody", &format!("127.0.0.1:{port}"), "256"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start /usr/sbin/smtp-sink ({e}): install Debian's postfix package")
        });
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "smtp-sink did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Sink(child)
}

/// Outbox counts read again and again on one connection (a new one every tenth of a
/// second cost the machine more than the reading; PostgreSQL forks for each).
pub struct Counter {
    store: String,
    postgres: Option<sqlx::PgConnection>,
    sqlite: Option<sqlx::SqliteConnection>,
}

impl Counter {
    pub fn new(store: &str) -> Counter {
        Counter {
            store: store.to_string(),
            postgres: None,
            sqlite: None,
        }
    }

    /// (all messages, sent); (0, 0) while the store is not there yet.
    pub async fn read(&mut self) -> (i64, i64) {
        let query = "SELECT COUNT(*), COALESCE(SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END), 0) FROM messages";
        let answer = if self.store.starts_with("postgres") {
            if self.postgres.is_none() {
                self.postgres = sqlx::PgConnection::connect(&self.store).await.ok();
            }
            match &mut self.postgres {
                Some(c) => sqlx::query_as(query).fetch_one(c).await.ok(),
                None => None,
            }
        } else {
            if self.sqlite.is_none() {
                let url = format!("{}?mode=ro", self.store);
                self.sqlite = sqlx::SqliteConnection::connect(&url).await.ok();
            }
            match &mut self.sqlite {
                Some(c) => sqlx::query_as(query).fetch_one(c).await.ok(),
                None => None,
            }
        };
        if answer.is_none() {
            // Not migrated yet, or the connection broke: connect again next time.
            self.postgres = None;
            self.sqlite = None;
        }
        answer.unwrap_or((0, 0))
    }
}

/// Outbox counts: (all messages, sent), on a connection of their own.
pub async fn counts(store: &str) -> (i64, i64) {
    Counter::new(store).read().await
}
