//! The daemon's ticks on a virtual clock, against a real store (SQLite, and PostgreSQL
//! when `MENTORD_TEST_POSTGRES` names a server) and the file transport: what is due goes out once, a restart sends nothing twice, a crash mid-send
//! resends that message byte for byte, and catching up after downtime drops only the
//! prompts whose meeting has started.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};

use common::postgres::backends;
use jiff::Timestamp;
use mentord::daemon::{Daemon, Transport};
use mentord::program;
use mentord::render::Templates;
use mentord::store::{InstanceInfo, Location, Store};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/mentord.toml");

/// A daemon (a new instance each call, as after a restart) on the store at `location`,
/// sending to files in `dir`.
async fn daemon(dir: &Path, location: &Location) -> Daemon {
    static STARTS: AtomicI64 = AtomicI64::new(1_800_000_000);
    let program = program::load(Path::new(EXAMPLE)).unwrap();
    let templates = Templates::load(None).unwrap();
    let mut store = Store::open(location).await.unwrap();
    let started = Timestamp::from_second(STARTS.fetch_add(1, Ordering::SeqCst)).unwrap();
    store
        .register(
            InstanceInfo {
                host: "test".into(),
                pid: std::process::id(),
                mail: "files".into(),
            },
            started,
        )
        .await
        .unwrap();
    Daemon::new(
        program,
        templates,
        store,
        Transport::File {
            dir: dir.join("outbox"),
            connections: mentord::program::DEFAULT_CONNECTIONS,
        },
    )
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn outbox(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir.join("outbox"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn count(files: &[String], kind: &str) -> usize {
    files.iter().filter(|f| f.starts_with(kind)).count()
}

#[tokio::test]
async fn due_messages_go_out_once_across_restarts() {
    let stores = tempfile::tempdir().unwrap();
    for (location, _database) in backends(stores.path()) {
        let dir = tempfile::tempdir().unwrap();
        let never = || false;
        let mut d = daemon(dir.path(), &location).await;
        // First start, a week before the program: every series is invited, nothing else.
        let tick = d.tick(at("2027-01-04T08:00:00Z"), &never).await.unwrap();
        assert_eq!((tick.queued, tick.sent), (10, 10));
        assert_eq!(count(&outbox(dir.path()), "invite-"), 10);
        assert!(tick.next.is_some());

        // Walk the virtual clock through the first meeting week.
        let mut now = at("2027-01-04T08:00:01Z");
        let end = at("2027-01-15T00:00:00Z");
        while now < end {
            let tick = d.tick(now, &never).await.unwrap();
            now = tick
                .next
                .unwrap()
                .max(now.checked_add(jiff::SignedDuration::from_secs(1)).unwrap());
        }
        let files = outbox(dir.path());
        // Until 15 Jan: the five first meetings (frances-dennis on the 11th, barbara-vint
        // and grace-alan on the 12th, radia-ken on the 13th, margaret-linus on the 14th),
        // each with its prompt, reminder and follow-up, and the Monday digest.
        assert_eq!(count(&files, "agenda_prompt-"), 5, "{files:?}");
        assert_eq!(count(&files, "mentor_reminder-"), 5, "{files:?}");
        assert_eq!(count(&files, "followup-"), 5, "{files:?}");
        assert_eq!(count(&files, "digest-"), 1, "{files:?}");

        // A restart on the same store sends nothing again.
        drop(d);
        let mut d = daemon(dir.path(), &location).await;
        let tick = d.tick(end, &never).await.unwrap();
        assert_eq!((tick.queued, tick.sent), (0, 0));
        assert_eq!(outbox(dir.path()), files);
    }
}

#[tokio::test]
async fn downtime_drops_only_prompts_whose_meeting_started() {
    let stores = tempfile::tempdir().unwrap();
    for (location, _database) in backends(stores.path()) {
        let dir = tempfile::tempdir().unwrap();
        let never = || false;
        let mut d = daemon(dir.path(), &location).await;
        d.tick(at("2027-01-08T08:00:00Z"), &never).await.unwrap();
        drop(d);
        // Down from 8 Jan to the 13th, 12:00 UTC: grace-alan's and barbara-vint's first
        // meetings (12th) have started, so their prompts and reminders are dropped; their
        // follow-ups and radia-ken's prompt and reminder (meeting on the 13th, 16:30 UTC)
        // go out late; the Monday digest, two days late, is dropped.
        let mut d = daemon(dir.path(), &location).await;
        let tick = d.tick(at("2027-01-13T12:00:00Z"), &never).await.unwrap();
        let files = outbox(dir.path());
        assert!(tick.dropped >= 4, "{tick:?}");
        assert!(
            files
                .iter()
                .any(|f| f.starts_with("agenda_prompt-radia-ken")),
            "{files:?}"
        );
        assert!(
            files
                .iter()
                .any(|f| f.starts_with("mentor_reminder-radia-ken")),
            "{files:?}"
        );
        assert!(
            !files
                .iter()
                .any(|f| f.starts_with("agenda_prompt-grace-alan")),
            "{files:?}"
        );
        assert!(
            files.iter().any(|f| f.starts_with("followup-grace-alan")),
            "{files:?}"
        );
        assert_eq!(count(&files, "digest-"), 0);
    }
}

/// A stop requested mid-delivery leaves the rest queued, and they go out on the next
/// start exactly once.
#[tokio::test]
async fn stopping_mid_delivery_loses_nothing() {
    let stores = tempfile::tempdir().unwrap();
    for (location, _database) in backends(stores.path()) {
        let dir = tempfile::tempdir().unwrap();
        let mut d = daemon(dir.path(), &location).await;
        let sent_one = std::sync::atomic::AtomicUsize::new(0);
        let stop_after_first = || sent_one.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 2;
        let tick = d
            .tick(at("2027-01-04T08:00:00Z"), &stop_after_first)
            .await
            .unwrap();
        assert!(tick.sent < 10, "{tick:?}");
        drop(d);
        let mut d = daemon(dir.path(), &location).await;
        let tick2 = d.tick(at("2027-01-04T08:00:05Z"), &|| false).await.unwrap();
        assert_eq!(tick.sent + tick2.sent, 10);
        assert_eq!(count(&outbox(dir.path()), "invite-"), 10);
    }
}

/// Regression: a pair's first meeting got no agenda prompt and no mentor reminder when
/// it was closer than the lead time when mentord first learned of it ("nothing before
/// now was ever due to this store"). Started Monday 11 January 18:00 UTC, grace-alan
/// meets Tuesday 15:00 UTC: its prompt (due Sunday) and reminder (due Monday 15:00) go
/// out at once, after the invites, and once only across a restart.
#[tokio::test]
async fn a_first_start_inside_the_lead_time_sends_the_late_prompts() {
    let stores = tempfile::tempdir().unwrap();
    for (location, _database) in backends(stores.path()) {
        let dir = tempfile::tempdir().unwrap();
        let never = || false;
        let mut d = daemon(dir.path(), &location).await;
        let start = at("2027-01-11T18:00:00Z");
        let tick = d.tick(start, &never).await.unwrap();
        assert_eq!(tick.next, Some(at("2027-01-11T18:00:01Z")), "{tick:?}");
        let files = outbox(dir.path());
        assert_eq!(count(&files, "invite-"), 10, "{files:?}");
        assert_eq!(
            count(&files, "agenda_prompt-"),
            0,
            "invites first: {files:?}"
        );
        d.tick(at("2027-01-11T18:00:01Z"), &never).await.unwrap();
        drop(d);
        let mut d = daemon(dir.path(), &location).await;
        d.tick(at("2027-01-11T18:05:00Z"), &never).await.unwrap();
        let files = outbox(dir.path());
        for kind in ["agenda_prompt-grace-alan", "mentor_reminder-grace-alan"] {
            assert_eq!(count(&files, kind), 1, "{kind}: {files:?}");
        }
        // Meetings that have already started get nothing late (frances-dennis met at
        // 09:00 Berlin on the 11th).
        assert_eq!(
            count(&files, "agenda_prompt-frances-dennis"),
            0,
            "{files:?}"
        );
    }
}

/// Regression: a pair added on reload two days before its first meeting got its invite
/// and nothing else before that meeting. radia-ken joins on Tuesday 12 January 12:00 UTC
/// and meets Wednesday 16:30 UTC: the invites and its (late) agenda prompt go out now,
/// its reminder at its own time.
#[tokio::test]
async fn a_pair_added_inside_its_lead_time_gets_its_prompt() {
    let stores = tempfile::tempdir().unwrap();
    for (location, _database) in backends(stores.path()) {
        let dir = tempfile::tempdir().unwrap();
        let never = || false;
        let mut d = daemon(dir.path(), &location).await;
        let without = common::example_with(&[common::REMOVE_RADIA_KEN]);
        let program = program::parse(&without, Path::new(".")).unwrap();
        d.replace_program(program, Templates::load(None).unwrap());
        d.tick(at("2027-01-04T08:00:00Z"), &never).await.unwrap();
        let mut now = at("2027-01-12T12:00:00Z");
        d.tick(now, &never).await.unwrap();
        assert_eq!(count(&outbox(dir.path()), "invite-radia-ken"), 0);
        let full = program::load(Path::new(EXAMPLE)).unwrap();
        d.replace_program(full, Templates::load(None).unwrap());
        let until = at("2027-01-13T16:30:00Z");
        while now < until {
            let tick = d.tick(now, &never).await.unwrap();
            now = tick.next.unwrap().min(until);
        }
        let files = outbox(dir.path());
        assert_eq!(count(&files, "invite-radia-ken"), 2, "{files:?}");
        assert_eq!(count(&files, "agenda_prompt-radia-ken"), 1, "{files:?}");
        assert_eq!(count(&files, "mentor_reminder-radia-ken"), 1, "{files:?}");
    }
}

/// Regression: after five months down, the catch-up sent every follow-up and digest
/// due meanwhile at once (62 follow-ups and 25 digests in a larger program). A
/// follow-up more than two days late and a digest more than a day late are dropped
/// like a late prompt; review nudges still go out (the reviews are still due).
#[tokio::test]
async fn months_of_downtime_drop_stale_followups_and_digests() {
    let stores = tempfile::tempdir().unwrap();
    for (location, _database) in backends(stores.path()) {
        let dir = tempfile::tempdir().unwrap();
        let never = || false;
        let mut d = daemon(dir.path(), &location).await;
        d.tick(at("2027-01-04T08:00:00Z"), &never).await.unwrap();
        drop(d);
        let mut d = daemon(dir.path(), &location).await;
        // Tuesday 1 June, 08:00 UTC: the last digest was Monday 07:00 (25 hours ago).
        let tick = d.tick(at("2027-06-01T08:00:00Z"), &never).await.unwrap();
        let files = outbox(dir.path());
        assert!(count(&files, "followup-") <= 3, "{files:?}");
        assert_eq!(count(&files, "digest-"), 0, "{files:?}");
        assert!(count(&files, "review_nudge-") > 0, "{files:?}");
        assert!(tick.dropped > 60, "{tick:?}");
    }
}
