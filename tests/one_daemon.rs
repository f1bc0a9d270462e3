//! `simulate` is the daemon: a month of the example through `mentord simulate` and
//! through the daemon's own loop (`daemon::run`) on a virtual clock, over a real store
//! (SQLite, and PostgreSQL when `MENTORD_TEST_POSTGRES` names a server) and the file
//! transport, finds the same messages, byte for byte. Before, `simulate` composed the
//! schedule on its own and could not show what the daemon's rules (late prompts, reviews
//! held, digests) did.
//!
//! Message-IDs are keyed with the store's secret (issue 22), which a simulation, touching
//! no store, cannot know: the daemon's store here is given the key `simulate` uses, so the
//! two are compared byte for byte still.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::postgres::backends;
use common::{example, mentord};
use jiff::Timestamp;

const FROM: &str = "2027-01-04T08:00:00Z";
const UNTIL: &str = "2027-02-04T08:00:00Z";

/// Gives the store at `location` the key a simulation mints with (its store in memory
/// answers `simulation key <name>`), before the daemon reads it.
async fn share_the_simulations_key(location: &mentord::store::Location) {
    const SQL: &str = "INSERT INTO secrets (name, value) VALUES ($1, $2) \
                       ON CONFLICT (name) DO UPDATE SET value = excluded.value";
    let (name, value) = ("reply_tokens", b"simulation key reply_tokens".to_vec());
    match location {
        mentord::store::Location::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            sqlx::query(SQL)
                .bind(name)
                .bind(value)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        mentord::store::Location::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(SQL)
                .bind(name)
                .bind(value)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

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
        share_the_simulations_key(&location).await;
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
