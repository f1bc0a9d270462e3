//! `mentord run` as a coordinator leaves it: the real binary on a copy of the example,
//! with a SQLite store and the file transport, while the file is edited under it the
//! ways people do (an editor's save by rename, a write in place, SIGHUP). A pair's new
//! time re-sends its series (same UID, SEQUENCE+1), a removed pair is cancelled, a new
//! skip date cancels that one meeting (RECURRENCE-ID): each to both people, exactly once.
//! A broken file is logged with its location and changes nothing; SIGTERM stops it, exit 0.
//!
//! The clock is fixed (`MENTORD_NOW`) a week before the program starts, so calendar
//! messages are the only mail due and the test means the same on any day it runs.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{Edit, LATER_BARBARA_VINT, REMOVE_RADIA_KEN, SKIP_11_FEBRUARY};

/// The longest a change may take to show on a slow machine; waits end as soon as it does.
const PATIENCE: Duration = Duration::from_secs(15);
/// How long a broken file must go on changing nothing.
const QUIET: Duration = Duration::from_secs(3);
const NOW: &str = "2027-01-04T08:00:00Z";

/// A calendar message in the outbox, as read back from its file.
#[derive(Debug)]
struct Mail {
    kind: String,
    pair: String,
    to: String,
    method: String,
    uid: String,
    sequence: u32,
    /// The whole `RECURRENCE-ID` line, parameters included.
    recurrence_id: Option<String>,
    calendar: String,
}

impl Mail {
    fn read(file: &Path) -> Mail {
        // Files are named `<kind>-<pair>-<digest>.eml`; pair ids may hold dashes.
        let name = file.file_stem().unwrap().to_str().unwrap();
        let (kind, rest) = name.split_once('-').unwrap();
        let (pair, _digest) = rest.rsplit_once('-').unwrap();
        let mail = common::read_eml(file);
        let to = mail["to"].as_str().unwrap();
        let to = to[to.find('<').unwrap() + 1..to.find('>').unwrap()].to_string();
        let calendar = mail["calendar"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no calendar"))
            .replace("\r\n ", ""); // unfold
        let property = |name: &str| {
            calendar
                .lines()
                .find(|l| l.starts_with(name))
                .map(|l| l.trim_end().to_string())
        };
        let value = |name: &str| {
            let line = property(&format!("{name}:")).unwrap_or_else(|| panic!("no {name}"));
            line[name.len() + 1..].to_string()
        };
        let method = value("METHOD");
        assert_eq!(mail["method"].as_str(), Some(method.as_str()));
        Mail {
            kind: kind.to_string(),
            pair: pair.to_string(),
            to,
            uid: value("UID"),
            sequence: value("SEQUENCE").parse().unwrap(),
            recurrence_id: property("RECURRENCE-ID"),
            method,
            calendar,
        }
    }
}

/// The daemon, killed if the test ends before it stops.
struct Daemon {
    child: Child,
    config: PathBuf,
    log: PathBuf,
    outbox: PathBuf,
    /// Every file the outbox should hold, with the inode it was written as: a message
    /// sent again is written again (a new inode), so this catches doubles too.
    seen: BTreeMap<String, u64>,
    dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// A copy of the example in `<tmp>/conf`, its store in `<tmp>/state`, mail in
    /// `<tmp>/outbox`; started, and once it has sent its ten series invites, ready.
    fn start() -> (Daemon, Vec<Mail>) {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("conf").join("mentord.toml");
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::write(&config, program_in(dir.path(), &[])).unwrap();
        let log = dir.path().join("stderr.log");
        let child = Command::new(env!("CARGO_BIN_EXE_mentord"))
            .arg("-c")
            .arg(&config)
            .arg("run")
            .env_remove("MENTORD_CONFIG")
            .env_remove("NOTIFY_SOCKET")
            .env("MENTORD_NOW", NOW)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut daemon = Daemon {
            child,
            config,
            log,
            outbox: dir.path().join("outbox"),
            seen: BTreeMap::new(),
            dir,
        };
        let invites = daemon.expect_new(10);
        (daemon, invites)
    }

    fn program(&self, edits: &[Edit]) -> String {
        program_in(self.dir.path(), edits)
    }

    /// Saves the file as editors do: a new file renamed over the old one.
    fn save_by_rename(&self, text: &str) {
        let temporary = self.config.with_file_name(".mentord.toml.swp");
        std::fs::write(&temporary, text).unwrap();
        std::fs::rename(&temporary, &self.config).unwrap();
    }

    fn save_in_place(&self, text: &str) {
        std::fs::write(&self.config, text).unwrap();
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    fn outbox_now(&self) -> BTreeMap<String, u64> {
        std::fs::read_dir(&self.outbox)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap())
                    .filter(|e| e.file_name().to_str().unwrap().ends_with(".eml"))
                    .filter(|e| !e.file_name().to_str().unwrap().starts_with('.'))
                    .map(|e| {
                        (
                            e.file_name().into_string().unwrap(),
                            e.metadata().unwrap().ino(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until `count` new messages are in the outbox, and checks that nothing else
    /// arrived since the last look and nothing seen before was written again.
    fn expect_new(&mut self, count: usize) -> Vec<Mail> {
        let new = |now: &BTreeMap<String, u64>| {
            now.keys()
                .filter(|name| !self.seen.contains_key(*name))
                .count()
        };
        let now = wait_for(&format!("{count} new messages"), self, || {
            let now = self.outbox_now();
            (new(&now) >= count).then_some(now)
        });
        self.assert_unchanged(&now);
        let mail: Vec<Mail> = now
            .iter()
            .filter(|(name, _)| !self.seen.contains_key(*name))
            .map(|(name, _)| Mail::read(&self.outbox.join(name)))
            .collect();
        assert_eq!(mail.len(), count, "{mail:#?}");
        self.seen = now;
        mail
    }

    /// Every message seen so far is still there as first written.
    fn assert_unchanged(&self, now: &BTreeMap<String, u64>) {
        for (name, inode) in &self.seen {
            assert_eq!(now.get(name), Some(inode), "{name} was sent again");
        }
    }

    /// A broken file: the error is logged at `line` of the file, with a column, and
    /// nothing is sent.
    fn expect_rejected(&self, line: usize, errors_before: usize) {
        let location = format!("{}:{line}:", self.config.display());
        wait_for(&format!("an error logged at {location}"), self, || {
            let log = self.log();
            (log.matches("program file invalid").count() > errors_before
                && log.match_indices(&location).any(|(at, _)| {
                    let rest = &log[at + location.len()..];
                    let column = rest.trim_start_matches(|c: char| c.is_ascii_digit());
                    column.len() < rest.len() && column.starts_with(": error:")
                }))
            .then_some(())
        });
    }

    fn exit_status(&mut self, patience: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The example with `edits`, its store and outbox in `dir`.
fn program_in(dir: &Path, edits: &[Edit]) -> String {
    format!(
        "{}\n[store]\nurl = \"sqlite://{}\"\n\n[mail]\ntransport = \"file\"\ndir = \"{}\"\n",
        common::example_with(edits),
        dir.join("state").join("mentord.db").display(),
        dir.join("outbox").display()
    )
}

/// Polls `ready` until it gives a value; fails with the daemon's log after `PATIENCE`.
fn wait_for<T>(what: &str, daemon: &Daemon, mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = ready() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} after {PATIENCE:?}; outbox: {:#?}\nlog:\n{}",
            daemon.outbox_now().keys().collect::<Vec<_>>(),
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The line (from 1) on which `needle` stands in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

/// How a change reaches the daemon.
#[derive(Debug, Clone, Copy)]
enum Save {
    /// An editor's save: a new file renamed over the old one.
    Rename,
    /// Written in place, then `kill -HUP` as well.
    InPlaceThenHangup,
    /// Renamed, then `kill -HUP` as well: two wake-ups for one change.
    RenameThenHangup,
}

/// One edit of the file and the calendar change it must send: a message of `kind`
/// to each of the pair's two people, with the series' UID and SEQUENCE 1 (the invite
/// was 0), carrying `line` in its calendar.
#[derive(Debug)]
struct Step {
    edit: Edit,
    save: Save,
    kind: &'static str,
    pair: &'static str,
    to: [&'static str; 2],
    method: &'static str,
    recurrence_id: Option<&'static str>,
    line: &'static str,
}

const STEPS: [Step; 3] = [
    // Barbara and Vint meet at 12:00, not 11:30: the series again, at its new time.
    Step {
        edit: LATER_BARBARA_VINT,
        save: Save::Rename,
        kind: "invite_update",
        pair: "barbara-vint",
        to: ["barbara@example.org", "vint@example.org"],
        method: "REQUEST",
        recurrence_id: None,
        line: "DTSTART;TZID=Europe/Berlin:20270112T120000",
    },
    // Radia and Ken's pair is deleted: the series is cancelled.
    Step {
        edit: REMOVE_RADIA_KEN,
        save: Save::InPlaceThenHangup,
        kind: "invite_cancel",
        pair: "radia-ken",
        to: ["ken@example.org", "radia@example.org"],
        method: "CANCEL",
        recurrence_id: None,
        line: "STATUS:CANCELLED",
    },
    // 11 February becomes a holiday: Margaret and Linus lose that Thursday's meeting,
    // 09:00 in New York, the series' zone.
    Step {
        edit: SKIP_11_FEBRUARY,
        save: Save::RenameThenHangup,
        kind: "occurrence_cancel",
        pair: "margaret-linus",
        to: ["linus@example.org", "margaret@example.org"],
        method: "CANCEL",
        recurrence_id: Some("RECURRENCE-ID;TZID=America/New_York:20270211T090000"),
        line: "STATUS:CANCELLED",
    },
];

#[test]
fn changes_while_running_send_updates_and_cancels_once() {
    let (mut daemon, invites) = Daemon::start();
    assert!(
        invites
            .iter()
            .all(|m| m.kind == "invite" && m.method == "REQUEST" && m.sequence == 0),
        "{invites:#?}"
    );
    let uid = |pair: &str| -> String {
        let uids: Vec<&str> = invites
            .iter()
            .filter(|m| m.pair == pair)
            .map(|m| m.uid.as_str())
            .collect();
        assert!(uids.len() == 2 && uids[0] == uids[1], "{pair}: {uids:?}");
        uids[0].to_string()
    };

    // Each edit on top of the ones before.
    let mut edits = Vec::new();
    for step in &STEPS {
        edits.push(step.edit);
        let text = daemon.program(&edits);
        match step.save {
            Save::Rename => daemon.save_by_rename(&text),
            Save::InPlaceThenHangup => {
                daemon.save_in_place(&text);
                daemon.signal("HUP");
            }
            Save::RenameThenHangup => {
                daemon.save_by_rename(&text);
                daemon.signal("HUP");
            }
        }
        let mut mail = daemon.expect_new(2);
        mail.sort_by(|a, b| a.to.cmp(&b.to));
        for (m, to) in mail.iter().zip(step.to) {
            let got = (m.kind.as_str(), m.pair.as_str(), m.to.as_str());
            assert_eq!(got, (step.kind, step.pair, to), "{step:?}");
            assert_eq!(
                (m.method.as_str(), m.sequence),
                (step.method, 1),
                "{step:?}"
            );
            assert_eq!(m.uid, uid(step.pair), "{step:?}");
            assert_eq!(m.recurrence_id.as_deref(), step.recurrence_id, "{step:?}");
            assert!(m.calendar.contains(step.line), "{step:?}\n{}", m.calendar);
        }
        assert_eq!(mail[0].calendar, mail[1].calendar, "the two copies differ");
    }
    let good = daemon.program(&edits);

    // Broken files: a TOML syntax error (saved by rename), then an unknown person (in
    // place, with SIGHUP). Each is logged with its location; the daemon keeps running
    // the last good program, and sends nothing.
    let syntax = good.replace("on = \"thu\"", "on = \"thu");
    daemon.save_by_rename(&syntax);
    daemon.expect_rejected(line_of(&syntax, "on = \"thu"), 0);
    let unknown = good.replacen("mentor = \"grace\"", "mentor = \"grase\"", 1);
    daemon.save_in_place(&unknown);
    daemon.signal("HUP");
    daemon.expect_rejected(line_of(&unknown, "mentor = \"grase\""), 1);
    let log = daemon.log();
    assert!(
        log.contains(&format!(
            "{}:{}:10: error: `mentor`: unknown person \"grase\"",
            daemon.config.display(),
            line_of(&unknown, "mentor = \"grase\"")
        )),
        "{log}"
    );
    assert_eq!(
        daemon.exit_status(QUIET),
        None,
        "the daemon stopped:\n{log}"
    );
    let after = daemon.outbox_now();
    daemon.assert_unchanged(&after);
    assert_eq!(
        after.len(),
        daemon.seen.len(),
        "mail sent for a broken file: {after:#?}"
    );

    // A clean stop.
    daemon.signal("TERM");
    let status = daemon.exit_status(PATIENCE);
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "{status:?}\n{}",
        daemon.log()
    );
    // Nothing came late either.
    assert_eq!(daemon.outbox_now(), daemon.seen);
}

/// A changed `[mail]` takes effect on reload: the next message goes to the new place.
#[test]
fn a_changed_mail_section_takes_effect() {
    let (mut daemon, _) = Daemon::start();
    let before = daemon.outbox_now();
    let elsewhere = daemon.dir.path().join("elsewhere");
    let text = daemon.program(&[LATER_BARBARA_VINT]).replace(
        &format!("dir = \"{}\"", daemon.outbox.display()),
        &format!("dir = \"{}\"", elsewhere.display()),
    );
    daemon.save_by_rename(&text);
    let moved = wait_for("update in the new mail folder", &daemon, || {
        let files: Vec<String> = std::fs::read_dir(&elsewhere)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().into_string().unwrap())
                    .filter(|n| n.ends_with(".eml"))
                    .collect()
            })
            .unwrap_or_default();
        (files.len() == 2).then_some(files)
    });
    assert!(
        moved
            .iter()
            .all(|f| f.starts_with("invite_update-barbara-vint")),
        "{moved:?}"
    );
    daemon.assert_unchanged(&before);
    assert_eq!(daemon.outbox_now().len(), before.len());
    daemon.signal("TERM");
    assert!(daemon.exit_status(PATIENCE).unwrap().success());
}
