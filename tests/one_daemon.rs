//! `simulate` is the daemon: a month of the example through `mentord simulate` and
//! through the daemon's own loop (`daemon::run`) on a virtual clock, over a real store
//! (SQLite, and PostgreSQL when `MENTORD_TEST_POSTGRES` names a server) and the file
//! transport, finds the same messages, byte for byte. Before, `simulate` composed the
//! schedule on its own and could not show what the daemon's rules (late prompts, reviews
//! held, digests) did.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::postgres::backends;
use common::{example, mentord};
use jiff::Timestamp;

const FROM: &str = "2027-01-04T08:00:00Z";
const UNTIL: &str = "2027-02-04T08:00:00Z";

/// Every `.eml` in `dir`, by Message-ID.
fn messages(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .unwrap_or_else(|| panic!("no Message-ID in {}", path.display()))
            .trim()
            .to_string();
        assert!(out.insert(id, bytes).is_none(), "{} twice", path.display());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_of_simulate_is_a_month_of_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let simulated = dir.path().join("simulated");
    let output = mentord()
        .arg("-c")
        .arg(example())
        .args(["simulate", "--from", FROM, "--until", UNTIL, "--out"])
        .arg(&simulated)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let simulated = messages(&simulated);
    assert!(simulated.len() > 40, "{}", simulated.len());

    for (location, _database) in backends(dir.path()) {
        let outbox = dir
            .path()
            .join(format!("outbox-{}", location.describe().len()));
        let from = FROM.parse::<Timestamp>().unwrap();
        let (mut daemon, store) =
            common::virtual_daemon::file_daemon(Path::new(example()), &location, &outbox, from)
                .await;
        common::virtual_daemon::run(&mut daemon, from, UNTIL.parse().unwrap()).await;
        store.deregister().await.unwrap();
        let ran = messages(&outbox);
        let only_simulated: Vec<_> = simulated.keys().filter(|k| !ran.contains_key(*k)).collect();
        let only_ran: Vec<_> = ran.keys().filter(|k| !simulated.contains_key(*k)).collect();
        assert!(
            only_simulated.is_empty() && only_ran.is_empty(),
            "{}: only simulated {only_simulated:?}, only run {only_ran:?}",
            location.describe()
        );
        for (id, bytes) in &ran {
            assert!(
                simulated[id] == *bytes,
                "{}: {id} differs",
                location.describe()
            );
        }
    }
}
