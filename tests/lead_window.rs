//! A pair's first meeting gets no agenda prompt and no mentor reminder when it is closer
//! than the lead time when mentord first learns of it. A program started on Monday for
//! Tuesday meetings gets the invite and nothing else before its first meeting.
//!
//! The daemon only ever queues what falls due after the point it has scheduled up to: on
//! a first start that point is "now", and on a reload the pairs the file gained are
//! scheduled from where the others already are. A prompt due 48 h before a meeting that
//! mentord learns of 40 minutes before it falls before that point, and is skipped. But
//! the meeting has not started: a mentee can still use the prompt, a mentor the reminder
//! (SPEC §4, Downtime: "a prompt that is late but still before its meeting is sent late").
//!
//! Here, through the real binary (`mentord run`) and a real SMTP server (aiosmtpd), with
//! first meetings about 40 minutes from the real clock, quiet hours off:
//! - a program's first start sends each pair its two invites, the agenda prompt to the
//!   mentee and the reminder to the mentor; a `kill -9` and a restart send none of them
//!   again;
//! - a pair added to the file on reload (SIGHUP) gets the same.
//!
//! The kind of each received message is read from its Subject (`templates/*.md`): the
//! Message-ID is a hash of the delivery key and does not show the kind.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::smtp::{Server, header, start_server};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// How long the server is given to receive what the daemon should send at once.
const DEADLINE: Duration = Duration::from_secs(60);

/// How far ahead of the real clock the first meetings are (rounded down to the minute).
const MEETING_IN: SignedDuration = SignedDuration::from_mins(40);
const AGENDA_BEFORE: &str = "48h";
const REMINDER_BEFORE: &str = "24h";

/// Kinds of message, as the test tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Invite,
    AgendaPrompt,
    MentorReminder,
    Other,
}

/// One pair of the generated program and the date and time of its first meeting (UTC).
#[derive(Debug, Clone)]
struct Pair {
    mentor: String,
    mentee: String,
    mentor_name: String,
    mentee_name: String,
    start: jiff::civil::Date,
    at: String,
}

impl Pair {
    fn new(n: usize, meeting: Timestamp) -> Pair {
        let zoned = meeting.to_zoned_datetime(TimeZone::UTC);
        Pair {
            mentor: format!("mentor{n}"),
            mentee: format!("mentee{n}"),
            mentor_name: format!("Mentor Number{n}"),
            mentee_name: format!("Mentee Number{n}"),
            start: zoned.date(),
            at: zoned.strftime("%H:%M").to_string(),
        }
    }

    fn id(&self) -> String {
        format!("{}-{}", self.mentor, self.mentee)
    }

    fn toml(&self) -> String {
        let weekday = self.start.strftime("%a").to_string().to_lowercase();
        format!(
            "\n[people.{mentor}]\nname = \"{mentor_name}\"\nemail = \"{mentor}@example.org\"\n\
             \n[people.{mentee}]\nname = \"{mentee_name}\"\nemail = \"{mentee}@example.org\"\n\
             \n[[pairs]]\nmentor = \"{mentor}\"\nmentee = \"{mentee}\"\nstart = {start}\n\
             on = \"{weekday}\"\nat = \"{at}\"\n",
            mentor = self.mentor,
            mentee = self.mentee,
            mentor_name = self.mentor_name,
            mentee_name = self.mentee_name,
            start = self.start,
            at = self.at,
        )
    }
}

/// The first meeting of a pair that starts now: about 40 minutes from the real clock
/// (on the minute, so 39 to 40 minutes away).
fn forty_minutes_from_now() -> Timestamp {
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    let meeting = Timestamp::now().checked_add(MEETING_IN).unwrap();
    Timestamp::from_second(meeting.as_second() / 60 * 60).unwrap()
}

/// A program in UTC, quiet hours and digest off, that starts on `start`, with `pairs`.
fn program(start: jiff::civil::Date, pairs: &[Pair], port: u16, dir: &Path) -> String {
    let mut text = format!(
        "[program]\nname = \"Lead window\"\ntimezone = \"UTC\"\nstart = {start}\n\
         coordinator = \"coord\"\n\
         organizer = {{ name = \"Org\", email = \"org@example.org\" }}\n\
         \n[defaults]\nevery = \"week\"\nduration = \"30m\"\nagenda_before = \"{AGENDA_BEFORE}\"\n\
         reminder_before = \"{REMINDER_BEFORE}\"\nquiet_hours = \"off\"\ndigest = \"off\"\n\
         \n[store]\nurl = \"sqlite://{db}\"\n\
         \n[mail]\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{port}\"\ntls = \"none\"\n\
         \n[people.coord]\nname = \"The Coordinator\"\nemail = \"coord@example.org\"\n",
        db = dir.join("mentord.db").display(),
    );
    for pair in pairs {
        text += &pair.toml();
    }
    text
}

/// Writes the program file in one step (the daemon watches it).
fn write_program(config: &Path, text: &str) {
    let temporary = config.with_extension("toml.new");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, config).unwrap();
}

/// The daemon, killed if the test ends early.
struct Daemon(Option<Child>);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Daemon {
    fn start(config: &Path, log: &Path) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        Daemon(Some(
            Command::new(env!("CARGO_BIN_EXE_mentord"))
                .arg("-c")
                .arg(config)
                .arg("run")
                .env("RUST_LOG", "info")
                .env_remove("MENTORD_NOW")
                .env_remove("MENTORD_CONFIG")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        ))
    }

    fn signal(&self, name: &str) {
        let child = self.0.as_ref().unwrap();
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// `kill -9`.
    fn kill(mut self) {
        let mut child = self.0.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, and a clean exit.
    fn stop(mut self) {
        common::wait_until_it_handles_sigterm(self.0.as_ref().unwrap());
        self.signal("TERM");
        let status = self.0.take().unwrap().wait().unwrap();
        assert!(
            status.success(),
            "the daemon did not stop cleanly: {status}"
        );
    }
}

/// What the server received: per (pair, kind, recipient), the Message-IDs (duplicates
/// kept). Messages to nobody of a pair are under the pair "-".
type Received = BTreeMap<(String, Kind, String), Vec<String>>;

fn classify(message: &str, pairs: &[Pair]) -> (String, Kind, String) {
    let to = header(message, "X-Envelope-To").unwrap().to_string();
    let subject = header(message, "Subject").unwrap_or_default();
    let pair = pairs.iter().find(|p| {
        to == format!("{}@example.org", p.mentor) || to == format!("{}@example.org", p.mentee)
    });
    let Some(pair) = pair else {
        return ("-".to_string(), Kind::Other, to);
    };
    let mentor = to == format!("{}@example.org", pair.mentor);
    let other = if mentor {
        &pair.mentee_name
    } else {
        &pair.mentor_name
    };
    // templates/invite.md, agenda_prompt.md (first meeting or not), mentor_reminder.md.
    let kind = if subject.starts_with(&format!("Mentoring with {other},")) {
        Kind::Invite
    } else if subject.starts_with(&format!("Your first meeting with {other}:"))
        || subject.starts_with("Agenda for ")
    {
        Kind::AgendaPrompt
    } else if subject.starts_with(&format!("Mentoring {other} on ")) {
        Kind::MentorReminder
    } else {
        Kind::Other
    };
    (pair.id(), kind, to)
}

fn received(server: &Server, pairs: &[Pair]) -> Received {
    let mut out = Received::new();
    for message in server.received() {
        let id = header(&message, "Message-ID").unwrap().to_string();
        out.entry(classify(&message, pairs)).or_default().push(id);
    }
    out
}

/// What each pair should have received once: the two invites, the agenda prompt to the
/// mentee and the reminder to the mentor (`with_prompts`), or only the invites.
fn expected(pairs: &[(&Pair, bool)]) -> BTreeMap<(String, Kind, String), usize> {
    let mut out = BTreeMap::new();
    for (pair, with_prompts) in pairs {
        let mentor = format!("{}@example.org", pair.mentor);
        let mentee = format!("{}@example.org", pair.mentee);
        out.insert((pair.id(), Kind::Invite, mentor.clone()), 1);
        out.insert((pair.id(), Kind::Invite, mentee.clone()), 1);
        if *with_prompts {
            out.insert((pair.id(), Kind::AgendaPrompt, mentee), 1);
            out.insert((pair.id(), Kind::MentorReminder, mentor), 1);
        }
    }
    out
}

/// The differences between what arrived (distinct Message-IDs per kind and recipient)
/// and `expected`; empty when they agree.
fn shortfall(got: &Received, expected: &BTreeMap<(String, Kind, String), usize>) -> Vec<String> {
    let mut out = Vec::new();
    for (key @ (pair, kind, to), want) in expected {
        let mut ids = got.get(key).cloned().unwrap_or_default();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != *want {
            out.push(format!(
                "pair {pair}: {} {kind:?} to {to} (expected {want})",
                ids.len()
            ));
        }
    }
    for (key @ (pair, kind, to), ids) in got {
        if !expected.contains_key(key) {
            out.push(format!(
                "pair {pair}: {} unexpected {kind:?} to {to}",
                ids.len()
            ));
        }
    }
    out
}

/// Polls until what arrived is `expected` or the deadline passes; what is still wrong.
fn wait_for(
    server: &Server,
    pairs: &[Pair],
    expected: &BTreeMap<(String, Kind, String), usize>,
) -> Vec<String> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let wrong = shortfall(&received(server, pairs), expected);
        if wrong.is_empty() || Instant::now() >= deadline {
            return wrong;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Every Message-ID was accepted exactly once.
fn assert_each_once(server: &Server, log: &Path) {
    let ids = server.message_ids();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &ids {
        *counts.entry(id).or_default() += 1;
    }
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        doubled.is_empty(),
        "messages accepted more than once: {doubled:?}; daemon log {}",
        log.display()
    );
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[test]
fn a_first_meeting_inside_the_lead_time_still_gets_its_prompt_and_reminder() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &[]);
    let meeting = forty_minutes_from_now();
    let pairs: Vec<Pair> = (0..3).map(|n| Pair::new(n, meeting)).collect();
    let config = dir.path().join("mentord.toml");
    let log = dir.path().join("daemon.log");
    write_program(
        &config,
        &program(pairs[0].start, &pairs, server.port, dir.path()),
    );
    let want = expected(&pairs.iter().map(|p| (p, true)).collect::<Vec<_>>());

    let daemon = Daemon::start(&config, &log);
    let wrong = wait_for(&server, &pairs, &want);
    assert!(
        wrong.is_empty(),
        "first meetings at {meeting} (about 40 minutes away), agenda_before = {AGENDA_BEFORE}, \
         reminder_before = {REMINDER_BEFORE}, quiet hours off: after {DEADLINE:?} of `mentord run`:\n  {}\n\
         daemon log (tail):\n{}",
        wrong.join("\n  "),
        log_tail(&log)
    );

    // Everything was accepted, and its marks committed (a moment after the last
    // acceptance), before the kill: a restart sends none of it again.
    std::thread::sleep(Duration::from_secs(1));
    daemon.kill();
    let daemon = Daemon::start(&config, &log);
    std::thread::sleep(Duration::from_secs(8));
    daemon.stop();
    let wrong = shortfall(&received(&server, &pairs), &want);
    assert!(
        wrong.is_empty(),
        "after kill -9 and a restart:\n  {}",
        wrong.join("\n  ")
    );
    assert_each_once(&server, &log);
}

#[test]
fn a_pair_added_on_reload_inside_the_lead_time_gets_its_prompt_and_reminder() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &[]);
    let meeting = forty_minutes_from_now();
    // The program's first pair meets a week later: its prompts are days away.
    let week_later = meeting
        .checked_add(SignedDuration::from_hours(7 * 24))
        .unwrap();
    let early = Pair::new(0, week_later);
    let added = Pair::new(1, meeting);
    let config = dir.path().join("mentord.toml");
    let log = dir.path().join("daemon.log");
    write_program(
        &config,
        &program(
            added.start,
            std::slice::from_ref(&early),
            server.port,
            dir.path(),
        ),
    );

    let daemon = Daemon::start(&config, &log);
    let only_invites = expected(&[(&early, false)]);
    let all = [early.clone(), added.clone()];
    let wrong = wait_for(&server, &all, &only_invites);
    assert!(
        wrong.is_empty(),
        "before the reload:\n  {}\ndaemon log (tail):\n{}",
        wrong.join("\n  "),
        log_tail(&log)
    );

    // The file gains a pair whose first meeting is about 40 minutes away.
    write_program(
        &config,
        &program(added.start, &all, server.port, dir.path()),
    );
    common::wait_until_it_handles_sigterm(daemon.0.as_ref().unwrap());
    daemon.signal("HUP");
    let want = expected(&[(&early, false), (&added, true)]);
    let wrong = wait_for(&server, &all, &want);
    assert!(
        wrong.is_empty(),
        "pair {} added on reload, first meeting at {meeting} (about 40 minutes away), \
         agenda_before = {AGENDA_BEFORE}, reminder_before = {REMINDER_BEFORE}, quiet hours off: after {DEADLINE:?}:\n  {}\n\
         daemon log (tail):\n{}",
        added.id(),
        wrong.join("\n  "),
        log_tail(&log)
    );
    daemon.stop();
    assert_each_once(&server, &log);
}
