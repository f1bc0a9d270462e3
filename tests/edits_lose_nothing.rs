//! Regression (issue 22, point 5): an edit could lose a mail for good. A coordinator
//! lengthened `agenda_before` from 48 h to 96 h while the pair's next meeting was 72 h
//! ahead. The prompt's new time was a day in the past: the daemon had already turned
//! that stretch of the schedule into messages (its cursor, `scheduled_until`), so it
//! queued nothing, logged nothing and said "nothing due before …", while `plan` still
//! listed the prompt. The same went for `reminder_before`, for a shorter
//! `followup_after` after a meeting just held, and for a shorter `review_every` whose
//! review fell due days ago. SPEC §4 "Edits": a change that moves a prompt, reminder or
//! nudge into the past sends it now if its meeting has not started, exactly as a late
//! first start does; no edit ever loses a message the new file still calls for.
//!
//! Here, through the real binary (`mentord run`) on the real clock (a late message is
//! due a second after "now", which a fixed `MENTORD_NOW` never reaches), a SQLite store
//! and the file transport, with meetings placed relative to the clock and quiet hours
//! off: each edit sends what it moved into the past, once (a second reload sends nothing
//! again), says in the log that it is late because of the edit, and `plan` lists the
//! same messages the daemon sent.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// The longest a change may take to show on a slow machine; waits end as soon as it does.
const PATIENCE: Duration = Duration::from_secs(30);
/// How long a reload must go on sending nothing.
const QUIET: Duration = Duration::from_secs(3);

/// The real clock, on the minute.
fn now_in(offset: SignedDuration) -> Timestamp {
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    let at = Timestamp::now().checked_add(offset).unwrap();
    Timestamp::from_second(at.as_second() / 60 * 60).unwrap()
}

fn utc_date(at: Timestamp) -> Date {
    at.to_zoned_datetime(TimeZone::UTC).date()
}

/// `on` and `at` for a weekly meeting at `meeting` (UTC).
fn weekly_at(meeting: Timestamp) -> [(&'static str, String); 2] {
    let zoned = meeting.to_zoned_datetime(TimeZone::UTC);
    [
        ("on", zoned.strftime("%a").to_string().to_lowercase()),
        ("at", zoned.strftime("%H:%M").to_string()),
    ]
}

/// Grace mentors Alan from `start`; `[defaults]` as given (quiet hours and digest off).
fn program(dir: &Path, start: Date, defaults: &BTreeMap<&str, String>) -> String {
    let defaults: String = defaults
        .iter()
        .map(|(key, value)| format!("{key} = \"{value}\"\n"))
        .collect();
    format!(
        "[program]\nname = \"Edits\"\ntimezone = \"UTC\"\nstart = {start}\ncoordinator = \"ada\"\n\
         organizer = {{ name = \"Org\", email = \"org@example.org\" }}\n\
         \n[defaults]\nevery = \"week\"\nduration = \"30m\"\nquiet_hours = \"off\"\ndigest = \"off\"\n\
         {defaults}\
         \n[people.ada]\nname = \"Ada Lovelace\"\nemail = \"ada@example.org\"\n\
         \n[people.grace]\nname = \"Grace Hopper\"\nemail = \"grace@example.org\"\n\
         \n[people.alan]\nname = \"Alan Turing\"\nemail = \"alan@example.org\"\n\
         \n[[pairs]]\nmentor = \"grace\"\nmentee = \"alan\"\n\
         \n[store]\nurl = \"sqlite://{db}\"\n\
         \n[mail]\ntransport = \"file\"\ndir = \"{outbox}\"\n",
        db = dir.join("state").join("mentord.db").display(),
        outbox = dir.join("outbox").display(),
    )
}

/// `mentord run` on a program in a folder of its own, killed if the test ends early.
struct Daemon {
    child: Option<Child>,
    dir: tempfile::TempDir,
    start: Date,
    defaults: BTreeMap<&'static str, String>,
    /// The outbox files seen so far.
    seen: BTreeSet<String>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Daemon {
    fn new(start: Date, defaults: &[(&'static str, String)]) -> Daemon {
        let daemon = Daemon {
            child: None,
            dir: tempfile::tempdir().unwrap(),
            start,
            defaults: defaults.iter().cloned().collect(),
            seen: BTreeSet::new(),
        };
        daemon.save();
        daemon
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("mentord.toml")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("stderr.log")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_file()).unwrap_or_default()
    }

    fn run(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mentord"))
            .arg("-c")
            .arg(self.config())
            .arg("run")
            .env_remove("MENTORD_CONFIG")
            .env_remove("MENTORD_NOW")
            .env_remove("NOTIFY_SOCKET")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        common::wait_until_it_handles_sigterm(&child);
        self.child = Some(child);
    }

    /// SIGTERM, and a clean exit.
    fn stop(&mut self) {
        self.signal("TERM");
        let status = self.child.take().unwrap().wait().unwrap();
        assert!(status.success(), "{status}\n{}", self.log());
    }

    fn signal(&self, name: &str) {
        let child = self.child.as_ref().unwrap();
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Writes the file as editors do (a new file renamed over the old one); a running
    /// daemon sees it and reloads.
    fn save(&self) {
        let text = program(self.dir.path(), self.start, &self.defaults);
        let temporary = self.dir.path().join(".mentord.toml.swp");
        std::fs::write(&temporary, text).unwrap();
        std::fs::rename(&temporary, self.config()).unwrap();
    }

    /// Changes `[defaults]` and waits until the daemon has reloaded the file.
    fn edit(&mut self, changes: &[(&'static str, String)]) {
        let reloads = self.reloads();
        self.defaults.extend(changes.iter().cloned());
        self.save();
        self.wait_for("the edited file to be reloaded", || {
            (self.reloads() > reloads).then_some(())
        });
    }

    fn reloads(&self) -> usize {
        self.log().matches("program reloaded").count()
    }

    fn outbox(&self) -> BTreeSet<String> {
        std::fs::read_dir(self.dir.path().join("outbox"))
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().into_string().unwrap())
                    .filter(|name| name.ends_with(".eml") && !name.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until the files new since the last look are, by `<kind>-<pair>` and
    /// recipient, exactly `want`; nothing seen before may be written again.
    fn expect_new(&mut self, want: &[(&str, &str)]) {
        let mut want: Vec<(String, String)> = want
            .iter()
            .map(|(kind, to)| (kind.to_string(), to.to_string()))
            .collect();
        want.sort();
        let new = self.wait_for(&format!("{want:?} in the outbox"), || {
            let new: Vec<String> = self.outbox().difference(&self.seen).cloned().collect();
            (new.len() >= want.len()).then_some(new)
        });
        let mut got: Vec<(String, String)> = new
            .iter()
            .map(|name| {
                let (kind_pair, _digest) = name.rsplit_once('-').unwrap();
                let text =
                    std::fs::read_to_string(self.dir.path().join("outbox").join(name)).unwrap();
                let to = text.lines().find_map(|l| l.strip_prefix("To: ")).unwrap();
                let to = to[to.find('<').unwrap() + 1..to.find('@').unwrap()].to_string();
                (kind_pair.to_string(), to)
            })
            .collect();
        got.sort();
        assert_eq!(got, want, "log:\n{}", self.log());
        self.seen.extend(new);
    }

    /// A reload of the unchanged file (SIGHUP) sends nothing.
    fn expect_nothing_on_reload(&mut self) {
        let reloads = self.reloads();
        self.signal("HUP");
        self.wait_for("the SIGHUP reload", || {
            (self.reloads() > reloads).then_some(())
        });
        std::thread::sleep(QUIET);
        let again: Vec<String> = self.outbox().difference(&self.seen).cloned().collect();
        assert!(
            again.is_empty(),
            "a second reload sent {again:?}\n{}",
            self.log()
        );
    }

    /// The log line that queued `key` says it went late because of an edit.
    fn expect_logged_late_for_edit(&self, key: &str) {
        let log = self.log();
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(key)).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("late") && l.contains("edit")),
            "no log line says {key} is sent late because of the edit: {lines:#?}\n{log}"
        );
    }

    fn wait_for<T>(&self, what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(value) = ready() {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} after {PATIENCE:?}; outbox: {:#?}\nlog:\n{}",
                self.outbox(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Keys of the prompts and reminders in the store, with their states.
    fn stored_prompts(&self) -> BTreeMap<String, String> {
        let url = format!(
            "sqlite://{}?mode=ro",
            self.dir.path().join("state").join("mentord.db").display()
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT key, state FROM messages \
                 WHERE kind IN ('agenda_prompt', 'mentor_reminder')",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            pool.close().await;
            rows.into_iter().collect()
        })
    }

    /// What `plan --json` lists for the prompts and reminders of `meeting`, as the
    /// store's keys name them.
    fn planned_prompts(&self, meeting: Timestamp) -> BTreeSet<String> {
        let from = utc_date(meeting)
            .checked_sub(jiff::Span::new().days(6))
            .unwrap();
        let output = common::mentord()
            .arg("-c")
            .arg(self.config())
            .args(["plan", "--json", "--days", "7", "--from"])
            .arg(from.to_string())
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
        rows.iter()
            .filter(|r| r["kind"] == "agenda_prompt" || r["kind"] == "mentor_reminder")
            .filter(|r| r["meeting"].as_str().unwrap().parse::<Timestamp>().unwrap() == meeting)
            .map(|r| {
                format!(
                    "{}/{}/{meeting}/0/{}",
                    r["kind"].as_str().unwrap(),
                    r["pair"].as_str().unwrap(),
                    r["to"][0].as_str().unwrap()
                )
            })
            .collect()
    }
}

/// Grace and Alan meeting weekly at `meeting`'s weekday and time (UTC) since `weeks`
/// weeks before it, with `defaults`; the daemon started and done with the two invites.
fn running(meeting: Timestamp, weeks: i64, defaults: &[(&'static str, &str)]) -> Daemon {
    let start = utc_date(meeting)
        .checked_sub(jiff::Span::new().weeks(weeks))
        .unwrap();
    let mut defaults: Vec<(&'static str, String)> = defaults
        .iter()
        .map(|(key, value)| (*key, value.to_string()))
        .collect();
    defaults.extend(weekly_at(meeting));
    let mut daemon = Daemon::new(start, &defaults);
    daemon.run();
    daemon.expect_new(&[
        ("invite-grace-alan", "alan"),
        ("invite-grace-alan", "grace"),
    ]);
    daemon
}

const LEADS: [(&str, &str); 2] = [("agenda_before", "48h"), ("reminder_before", "24h")];

/// The story: lead times lengthened past "now" while the meeting is 72 h ahead.
#[test]
fn a_longer_lead_time_sends_the_prompt_now_and_once() {
    // The pair met a week before too: this is not its first meeting. The prompt is due
    // in 24 h, the reminder in 48 h: only the invites went.
    let meeting = now_in(SignedDuration::from_hours(72));
    let mut daemon = running(meeting, 1, &LEADS);

    // 96 h before a meeting 72 h ahead is a day ago.
    daemon.edit(&[("agenda_before", "96h".into())]);
    daemon.expect_new(&[("agenda_prompt-grace-alan", "alan")]);
    let prompt = format!("agenda_prompt/grace-alan/{meeting}/0/alan");
    daemon.expect_logged_late_for_edit(&prompt);
    daemon.expect_nothing_on_reload();

    daemon.edit(&[("reminder_before", "96h".into())]);
    daemon.expect_new(&[("mentor_reminder-grace-alan", "grace")]);
    let reminder = format!("mentor_reminder/grace-alan/{meeting}/0/grace");
    daemon.expect_logged_late_for_edit(&reminder);
    daemon.expect_nothing_on_reload();
    daemon.stop();

    // The store sent each once, and `plan` calls for exactly these two.
    let stored = daemon.stored_prompts();
    let sent = BTreeMap::from([
        (prompt.clone(), "sent".to_string()),
        (reminder.clone(), "sent".to_string()),
    ]);
    assert_eq!(stored, sent);
    assert_eq!(
        daemon.planned_prompts(meeting),
        BTreeSet::from([prompt, reminder])
    );
}

/// The same edit made while the daemon is stopped: the next start sends the prompt.
#[test]
fn a_longer_lead_time_saved_while_stopped_sends_the_prompt_on_start() {
    let meeting = now_in(SignedDuration::from_hours(72));
    let mut daemon = running(meeting, 1, &LEADS);
    daemon.stop();

    daemon.defaults.insert("agenda_before", "96h".into());
    daemon.save();
    daemon.run();
    daemon.expect_new(&[("agenda_prompt-grace-alan", "alan")]);
    let prompt = format!("agenda_prompt/grace-alan/{meeting}/0/alan");
    daemon.expect_logged_late_for_edit(&prompt);
    daemon.expect_nothing_on_reload();
    daemon.stop();
}

/// The sibling cases: a shorter `followup_after` after a meeting just held, a shorter
/// `review_every` whose review fell due days ago, and a meeting moved to tomorrow.
#[test]
fn a_shorter_followup_and_review_period_and_an_earlier_meeting_send_now() {
    // The pair's fourth meeting ended two hours ago; its follow-up is a day away.
    let held = now_in(SignedDuration::from_mins(-150));
    let start = utc_date(held)
        .checked_sub(jiff::Span::new().weeks(3))
        .unwrap();
    let mut daemon = running(
        held,
        3,
        &[
            LEADS[0],
            LEADS[1],
            ("followup_after", "24h"),
            ("review_every", "90d"),
            ("review_grace", "7d"),
        ],
    );

    // The follow-up, due in a day, is now due an hour ago: it goes now.
    daemon.edit(&[("followup_after", "1h".into())]);
    daemon.expect_new(&[("followup-grace-alan", "alan")]);
    daemon.expect_logged_late_for_edit(&format!("followup/grace-alan/{held}/0/alan"));

    // A review now falls due on the last working day before today (at 09:00, in the
    // past); its second nudge and escalation are days ahead.
    let today = utc_date(now_in(SignedDuration::ZERO));
    let mut due = today.yesterday().unwrap();
    while matches!(
        due.weekday(),
        jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
    ) {
        due = due.yesterday().unwrap();
    }
    let every = (due - start).get_days();
    daemon.edit(&[("review_every", format!("{every}d"))]);
    daemon.expect_new(&[
        ("review_nudge-grace-alan", "alan"),
        ("review_nudge-grace-alan", "grace"),
    ]);
    daemon.expect_logged_late_for_edit(&format!("review_nudge/grace-alan/{due}#1/0/grace"));

    // The meeting moves to tomorrow: the series is sent again, and its prompt and
    // reminder, both due before now, go now.
    let tomorrow = now_in(SignedDuration::from_hours(20));
    let [on, at] = weekly_at(tomorrow);
    daemon.edit(&[on, at]);
    daemon.expect_new(&[
        ("agenda_prompt-grace-alan", "alan"),
        ("invite_update-grace-alan", "alan"),
        ("invite_update-grace-alan", "grace"),
        ("mentor_reminder-grace-alan", "grace"),
    ]);
    daemon.expect_nothing_on_reload();
    daemon.stop();
}
