//! The store's promises, on every backend (SQLite, and PostgreSQL when
//! `MENTORD_TEST_POSTGRES` names a server): a key is queued once; a due message is
//! claimed by exactly one daemon, also when several claim at once; a clean stop gives
//! claims back; a dead daemon's claims pass to a live one (PostgreSQL after the lease,
//! SQLite when the store reopens); `status` sees the daemons, what they hold, and a
//! paused breaker.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::HashSet;

use common::postgres::backends;
use jiff::Timestamp;
use mentord::store::{InstanceInfo, Location, NewMessage, Store};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn message(i: usize) -> NewMessage {
    NewMessage {
        key: format!("followup/pair-{i}/2027-01-11/0/p{i}"),
        message_id: format!("<{i}@mentord.test>"),
        kind: mentord::vocab::MessageKind::Followup,
        pair: Some(format!("pair-{i}")),
        recipient: format!("p{i}@example.org"),
        due_at: at("2027-01-11T09:00:00Z"),
        uid: None,
        method: None,
        sequence: None,
        body: format!("Message-ID: <{i}@mentord.test>\r\n\r\nbody {i}\r\n").into_bytes(),
        reply_token: None,
        dropped: None,
    }
}

async fn daemon_store(location: &Location, name: &str) -> Store {
    let mut store = Store::open(location).await.unwrap();
    store
        .register(
            InstanceInfo {
                host: name.into(),
                pid: std::process::id(),
                mail: "smtp://127.0.0.1:2525".into(),
            },
            at("2027-01-11T08:00:00Z"),
        )
        .await
        .unwrap();
    store
}

#[tokio::test]
async fn a_key_is_queued_once() {
    let dir = tempfile::tempdir().unwrap();
    for (location, _database) in backends(dir.path()) {
        let store = Store::open(&location).await.unwrap();
        let now = at("2027-01-10T00:00:00Z");
        let batch: Vec<NewMessage> = (0..10).map(message).collect();
        let first = store.enqueue_all(&batch, &[], now).await.unwrap();
        assert!(first.iter().all(|&q| q), "{location:?}");
        let again = store.enqueue_all(&batch[5..], &[], now).await.unwrap();
        assert!(again.iter().all(|&q| !q), "{location:?}");
        assert_eq!(store.summary().await.unwrap().pending, 10, "{location:?}");
    }
}

#[tokio::test]
async fn concurrent_claims_never_overlap() {
    let dir = tempfile::tempdir().unwrap();
    for (location, _database) in backends(dir.path()) {
        if !matches!(location, Location::Postgres(_)) {
            continue; // one daemon per SQLite store (a lock file keeps a second out)
        }
        let now = at("2027-01-11T09:00:00Z");
        let setup = Store::open(&location).await.unwrap();
        let batch: Vec<NewMessage> = (0..600).map(message).collect();
        setup.enqueue_all(&batch, &[], now).await.unwrap();
        // Three daemons claim as fast as they can, all at once: each is opened first,
        // then they start together (opening one takes longer than claiming 600).
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(3));
        let mut tasks = Vec::new();
        for name in ["a", "b", "c"] {
            let store = daemon_store(&location, name).await;
            let start = start.clone();
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                let mut mine = Vec::new();
                loop {
                    let claimed = store.claim_due(now, 7).await.unwrap();
                    if claimed.is_empty() {
                        return mine;
                    }
                    for m in claimed {
                        store.mark_sent(&m.key, now).await.unwrap();
                        mine.push(m.key);
                    }
                }
            }));
        }
        let mut seen = HashSet::new();
        let mut shares = Vec::new();
        for task in tasks {
            let keys = task.await.unwrap();
            shares.push(keys.len());
            for key in keys {
                assert!(seen.insert(key.clone()), "{key} claimed twice");
            }
        }
        assert_eq!(seen.len(), 600);
        assert!(
            shares.iter().all(|&n| n > 0),
            "every daemon had a share: {shares:?}"
        );
    }
}

#[tokio::test]
async fn claims_are_given_back_or_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    for (location, database) in backends(dir.path()) {
        let now = at("2027-01-11T09:00:00Z");
        let a = daemon_store(&location, "a").await;
        a.enqueue_all(&(0..10).map(message).collect::<Vec<_>>(), &[], now)
            .await
            .unwrap();
        let claimed = a.claim_due(now, 4).await.unwrap();
        assert_eq!(claimed.len(), 4);
        // `status` sees the daemon and what it holds.
        let seen = a.instances().await.unwrap();
        assert_eq!(seen.len(), 1, "{location:?}");
        assert!(seen[0].alive);
        assert_eq!(seen[0].holding, 4);
        // A clean stop gives them back.
        a.deregister().await.unwrap();
        assert_eq!(a.summary().await.unwrap().pending, 10);
        assert!(a.instances().await.unwrap().is_empty());

        // A daemon that dies holding claims.
        let b = daemon_store(&location, "b").await;
        let held = claim_keys(&b, now, 3).await;
        assert_eq!(held.len(), 3);
        drop(b);
        let c = match &database {
            // SQLite: one daemon at a time; the next start takes everything back, as an
            // explicit step (opening the store changes nothing).
            None => {
                let c = daemon_store(&location, "c").await;
                let before = claim_keys(&c, now, 100).await;
                assert!(before.is_disjoint(&held), "recovered by opening");
                for key in &before {
                    c.mark_retry(key, "test", now).await.unwrap();
                }
                assert_eq!(c.recover_abandoned().await.unwrap(), 3);
                c
            }
            // PostgreSQL: b's heartbeat stops; once its lease has run out, c takes over.
            Some(db) => {
                let c = daemon_store(&location, "c").await;
                let before = claim_keys(&c, now, 100).await;
                assert!(before.is_disjoint(&held), "taken over within the lease");
                for key in &before {
                    c.mark_retry(key, "test", now).await.unwrap();
                }
                age_heartbeats(&db.url, "b").await;
                c
            }
        };
        let after = claim_keys(&c, now, 100).await;
        assert!(
            held.is_subset(&after),
            "{location:?}: {held:?} not in {after:?}"
        );
        assert_eq!(after.len(), 10, "{location:?}");
    }
}

/// The keys of up to `limit` messages `store` claims.
async fn claim_keys(store: &Store, now: Timestamp, limit: u32) -> HashSet<String> {
    let claimed = store.claim_due(now, limit).await.unwrap();
    claimed.into_iter().map(|m| m.key).collect()
}

/// Makes daemon `host`'s last heartbeat older than the lease, as if it died a minute ago.
async fn age_heartbeats(url: &str, host: &str) {
    sqlx::query("UPDATE instances SET heartbeat_at = heartbeat_at - 60 WHERE host = $1")
        .bind(host)
        .execute(&mut common::postgres::connect(url).await)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_paused_breaker_is_recorded_for_status() {
    let dir = tempfile::tempdir().unwrap();
    for (location, _database) in backends(dir.path()) {
        let a = daemon_store(&location, "a").await;
        let until = at("2027-01-11T09:01:00Z");
        a.set_pause(Some(until), Some("smtp://127.0.0.1:2525: cannot connect"))
            .await
            .unwrap();
        let seen = a.instances().await.unwrap();
        assert_eq!(seen[0].paused_until, Some(until), "{location:?}");
        assert!(
            seen[0]
                .pause_reason
                .as_deref()
                .unwrap()
                .contains("cannot connect")
        );
        a.set_pause(None, None).await.unwrap();
        assert_eq!(a.instances().await.unwrap()[0].paused_until, None);
    }
}

/// `rate = "N/day"` at the store: claims stop at the budget over every daemon (three
/// claiming at once on PostgreSQL take four between them, not twelve), calendar mail is
/// claimed first, and the answer says when a place frees: a day after the send of the
/// day that stands in the way (claims in flight count as sends).
#[tokio::test]
async fn a_daily_budget_caps_claims_over_every_daemon_calendar_first() {
    let dir = tempfile::tempdir().unwrap();
    for (location, _database) in backends(dir.path()) {
        let shared = matches!(location, Location::Postgres(_));
        let now = at("2027-01-11T09:00:00Z");
        let store = daemon_store(&location, "a").await;
        let mut batch: Vec<NewMessage> = (0..10).map(message).collect();
        // The last one queued is an invite: it goes first.
        batch[9].method = Some("REQUEST".into());
        batch[9].kind = mentord::vocab::MessageKind::Invite;
        store.enqueue_all(&batch, &[], now).await.unwrap();
        // Yesterday at 10:00 one message went: it counts until today at 10:00.
        let first = store.claim(at("2027-01-10T10:00:00Z"), 1, Some(4)).await;
        assert!(first.is_ok(), "{location:?}");
        let first = first.unwrap().messages;
        assert!(first.is_empty(), "nothing was due yesterday");
        let early = store.claim(now, 1, None).await.unwrap().messages;
        assert_eq!(early[0].key, batch[9].key, "calendar first: {location:?}");
        store
            .mark_sent(&early[0].key, at("2027-01-10T10:00:00Z"))
            .await
            .unwrap();

        // Three places left today, whoever claims.
        let mut stores = vec![store];
        if shared {
            stores.push(daemon_store(&location, "b").await);
            stores.push(daemon_store(&location, "c").await);
        }
        let answers =
            futures_util::future::join_all(stores.iter().map(|s| s.claim(now, 64, Some(4)))).await;
        let mut claimed = Vec::new();
        for (s, answer) in stores.iter().zip(answers) {
            for m in answer.unwrap().messages {
                claimed.push((s, m.key));
            }
        }
        assert_eq!(claimed.len(), 3, "{location:?}");
        let store = &stores[0];
        let held = store.claim(now, 64, Some(4)).await.unwrap();
        assert!(held.messages.is_empty(), "{location:?}");
        let held = held.held.expect("the budget holds the rest");
        assert_eq!((held.daily, held.used), (4, 4), "{location:?}");
        // The next place frees when yesterday's send is a day old (the three in flight
        // count until then and after).
        assert_eq!(held.until, Some(at("2027-01-11T10:00:00Z")), "{location:?}");

        // Sent, they still count: the same answer.
        for (s, key) in &claimed {
            assert!(s.mark_sent(key, now).await.unwrap());
        }
        let held = store.claim(now, 64, Some(4)).await.unwrap().held.unwrap();
        assert_eq!(held.until, Some(at("2027-01-11T10:00:00Z")), "{location:?}");
        let budget = store.daily_budget(4, now).await.unwrap();
        assert!(budget.holds(), "{budget:?}");
        assert_eq!((budget.used, budget.waiting), (4, 6), "{location:?}");
        let later = store
            .claim(at("2027-01-11T10:00:01Z"), 64, Some(4))
            .await
            .unwrap();
        assert_eq!(later.messages.len(), 1, "one place freed: {location:?}");
    }
}

/// An upgrade keeps what was queued: a SQLite store made before bodies had a table of
/// their own (migrations 1 to 6, as shipped) holds a pending message; opened by this
/// build (migration 7 moves the bodies), the message is claimed with the same bytes,
/// and new messages queue and claim beside it.
#[tokio::test]
async fn a_store_from_before_the_bodies_table_keeps_its_queued_mail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // The shipped migrations up to 6, applied by sqlx as an older mentord did.
        let old = dir.path().join("migrations");
        std::fs::create_dir(&old).unwrap();
        let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        for entry in std::fs::read_dir(&shipped).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            if name.as_str() < "0007" {
                std::fs::copy(entry.path(), old.join(&name)).unwrap();
            }
        }
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::migrate::Migrator::new(old.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        let body = b"Message-ID: <old@mentord.test>\r\n\r\nqueued before the upgrade\r\n";
        sqlx::query(
            "INSERT INTO messages (key, message_id, kind, pair, recipient, due_at, state, \
             attempts, next_attempt_at, body, created_at) \
             VALUES ('followup/old/2027-01-11/0/p', '<old@mentord.test>', 'followup', 'old', \
             'p@example.org', $1, 'pending', 0, $1, $2, $1)",
        )
        .bind(at("2027-01-11T09:00:00Z").as_second())
        .bind(&body[..])
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }

    let store = Store::open(&Location::Sqlite(path.clone())).await.unwrap();
    let now = at("2027-01-11T10:00:00Z");
    store.enqueue_all(&[message(1)], &[], now).await.unwrap();
    let claimed = store.claim_due(now, 64).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let old = claimed
        .iter()
        .find(|m| m.message_id == "<old@mentord.test>")
        .unwrap();
    assert_eq!(
        old.body,
        b"Message-ID: <old@mentord.test>\r\n\r\nqueued before the upgrade\r\n"
    );
    let new = claimed
        .iter()
        .find(|m| m.message_id == "<1@mentord.test>")
        .unwrap();
    assert_eq!(new.body, message(1).body);
}

/// Series states are written many to a statement; one pair twice in a batch (an update
/// and then a cancelled meeting, say) ends as the last, on every backend (PostgreSQL
/// refuses a statement that would change one row twice).
#[tokio::test]
async fn a_pair_twice_in_one_batch_keeps_its_last_state() {
    let program = mentord::program::load(std::path::Path::new(common::example())).unwrap();
    let now = at("2027-01-04T09:00:00Z");
    let changes = mentord::reconcile::reconcile(&program, &Default::default(), now);
    let change = changes.first().unwrap();
    let series = change.series(&program).unwrap().into_owned();
    let pair = "a-pair".to_string();
    let sent = |sequence| mentord::reconcile::Sent {
        series: series.clone(),
        sequence,
        active: true,
    };
    let dir = tempfile::tempdir().unwrap();
    for (location, _database) in backends(dir.path()) {
        let store = Store::open(&location).await.unwrap();
        let batch = [
            (pair.clone(), sent(1)),
            ("other".into(), sent(0)),
            (pair.clone(), sent(2)),
        ];
        store.enqueue_all(&[], &batch, now).await.unwrap();
        let stored = store.sent_series().await.unwrap();
        assert_eq!(stored.len(), 2, "{location:?}");
        assert_eq!(stored[&pair].sequence, 2, "{location:?}");
        assert_eq!(stored["other"].sequence, 0, "{location:?}");
    }
}

/// Story: the daemon spoke TLS (sqlx's `prefer`) to a PostgreSQL server on loopback. A
/// handshake per connection and the encryption of every body cost a first start of
/// 5,000 pairs about a tenth of its time, and guarded nothing. A store on this machine
/// is now reached without TLS; a URL that sets `sslmode` gets what it asks for.
#[tokio::test]
async fn a_store_on_loopback_is_reached_without_tls_unless_the_url_asks() {
    let Some(database) = common::postgres::database() else {
        return;
    };
    if !database.url.contains("127.0.0.1") && !database.url.contains("localhost") {
        eprintln!(
            "note: {} is not on loopback; nothing to check",
            database.url
        );
        return;
    }
    let mut observer = common::postgres::connect(&database.url).await;
    let server_tls: String = sqlx::query_scalar("SHOW ssl")
        .fetch_one(&mut observer)
        .await
        .unwrap();
    let store = Store::open(&database.location()).await.unwrap();
    assert!(
        !encrypted(&mut observer).await,
        "a loopback store spoke TLS"
    );
    drop(store);
    if server_tls == "on" {
        let sep = if database.url.contains('?') { '&' } else { '?' };
        let asked = format!("{}{sep}sslmode=require", database.url);
        let _store = Store::open(&Location::Postgres(asked)).await.unwrap();
        assert!(
            encrypted(&mut observer).await,
            "sslmode=require was not heeded"
        );
    }
}

/// Whether any connection of mentord's to the observer's database is encrypted.
async fn encrypted(observer: &mut sqlx::PgConnection) -> bool {
    let seen: Vec<bool> = sqlx::query_scalar(
        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.application_name = 'mentord' AND a.datname = current_database()",
    )
    .fetch_all(observer)
    .await
    .unwrap();
    assert!(!seen.is_empty(), "no connection of mentord's seen");
    seen.iter().any(|&ssl| ssl)
}

/// Story: claims of a dead daemon used to be looked for with every claim, which read an
/// index entry for every message sent since the last vacuum; now they are looked for
/// while some daemon's row says its lease ran out. A claim whose daemon has no row at
/// all (deleted by hand, or by an older mentord) must not be stranded: a lease check
/// that sees it sends the next claim looking, and a daemon that registers gives it
/// back.
#[tokio::test]
async fn claims_of_a_daemon_whose_row_is_gone_are_not_stranded() {
    let Some(database) = common::postgres::database() else {
        return;
    };
    let location = database.location();
    let now = at("2027-01-11T09:00:00Z");
    let forget = |host: &'static str| {
        let url = database.url.clone();
        async move {
            sqlx::query("DELETE FROM instances WHERE host = $1")
                .bind(host)
                .execute(&mut common::postgres::connect(&url).await)
                .await
                .unwrap();
        }
    };
    let a = daemon_store(&location, "a").await;
    a.enqueue_all(&(0..10).map(message).collect::<Vec<_>>(), &[], now)
        .await
        .unwrap();
    let b = daemon_store(&location, "b").await;
    let held = claim_keys(&b, now, 3).await;
    assert_eq!(held.len(), 3);
    forget("b").await;
    // Nothing else is pending: a's next claim finds only what b held, once a lease
    // check has seen it.
    let others = claim_keys(&a, now, 7).await;
    assert!(others.is_disjoint(&held));
    assert_eq!(
        a.next_lease_expiry().await.unwrap(),
        Some(std::time::Duration::ZERO)
    );
    assert_eq!(claim_keys(&a, now, 100).await, held);

    // A daemon that registers gives back the claims of one with no row.
    a.deregister().await.unwrap();
    let c = daemon_store(&location, "c").await;
    let mine = claim_keys(&c, now, 4).await;
    assert_eq!(mine.len(), 4);
    forget("c").await;
    let d = daemon_store(&location, "d").await;
    let all = claim_keys(&d, now, 100).await;
    assert!(mine.is_subset(&all), "{mine:?} not in {all:?}");
    assert_eq!(all.len(), 10);
}

/// Story: the coordinator opens one pair's page among 50,000 (`GET /pairs/ID`). Its
/// history is read by the pair, on either backend: only that pair's mail, cancellations
/// and reviews, newest first, and never a body. Pressing "snooze" on a pair no digest
/// listed yet flags it first, so the snooze holds; a pair the digest flagged keeps what
/// the digest recorded.
#[tokio::test]
async fn a_pairs_history_is_its_own_and_the_page_may_flag_it() {
    let dir = tempfile::tempdir().unwrap();
    for (location, _database) in backends(dir.path()) {
        let store = Store::open(&location).await.unwrap();
        let now = at("2027-01-10T00:00:00Z");
        let batch: Vec<NewMessage> = (0..3).map(message).collect();
        store.enqueue_all(&batch, &[], now).await.unwrap();
        store
            .record_review("pair-1", "2027-01-05".parse().unwrap(), now)
            .await
            .unwrap();
        store
            .record_cancellation(&mentord::store::Cancellation {
                pair: "pair-1".into(),
                date: "2027-01-11".parse().unwrap(),
                occurrence: "2027-01-11T09:00:00Z".into(),
                person: "p1".into(),
                at: now,
                late: true,
            })
            .await
            .unwrap();
        let history = store.pair_history("pair-1").await.unwrap();
        assert_eq!(history.sent.len(), 1, "{location:?}");
        assert_eq!(history.sent[0].kind, "followup");
        assert_eq!(history.sent[0].recipient, "p1@example.org");
        assert_eq!(history.sent[0].state, "pending");
        assert_eq!(history.reviews, ["2027-01-05"]);
        assert_eq!(history.cancelled.len(), 1);
        assert!(history.cancelled[0].3, "late");
        assert!(history.heard.is_empty());
        let other = store.pair_history("pair-2").await.unwrap();
        assert_eq!(other.sent.len(), 1);
        assert!(other.reviews.is_empty() && other.cancelled.is_empty());
        assert_eq!(store.pair_history("nobody").await.unwrap().sent.len(), 0);

        // From the page: flagged, then snoozed.
        assert!(!store.snooze_flag("pair-1", now).await.unwrap());
        store
            .note_flag("pair-1", "at risk", "mail to P bounces", now)
            .await
            .unwrap();
        assert!(store.snooze_flag("pair-1", now).await.unwrap());
        // Noted again: the row stays as it was.
        store
            .note_flag("pair-1", "watch", "other", now)
            .await
            .unwrap();
        let flags = store.flags().await.unwrap();
        assert_eq!(flags.len(), 1, "{location:?}");
        assert_eq!(flags[0].level, "at risk");
        assert_eq!(flags[0].snoozed_until, Some(now));
    }
}

/// Feed tokens (SPEC §9) on both dialects: Grace's token is made once and found by
/// itself only; two daemons asking at once for a new person's token get the same one;
/// a reset gives a new one and the old one names nobody from then on.
#[tokio::test]
async fn feed_tokens_are_kept_until_reset() {
    let dir = tempfile::tempdir().unwrap();
    for (location, _database) in backends(dir.path()) {
        let store = Store::open(&location).await.unwrap();
        let now = at("2027-01-10T00:00:00Z");
        let grace = store.feed_token("grace", now).await.unwrap();
        assert!(grace.len() >= 32, "{location:?}: {grace}");
        assert_eq!(store.feed_token("grace", now).await.unwrap(), grace);
        let (a, b) = tokio::join!(store.feed_token("alan", now), store.feed_token("alan", now));
        assert_eq!(a.unwrap(), b.unwrap(), "{location:?}");
        assert_eq!(
            store.person_of_feed(&grace).await.unwrap().as_deref(),
            Some("grace")
        );
        assert_eq!(store.person_of_feed(&grace[1..]).await.unwrap(), None);
        let fresh = store.reset_feed("grace", now).await.unwrap();
        assert_ne!(fresh, grace);
        assert_eq!(
            store.person_of_feed(&grace).await.unwrap(),
            None,
            "{location:?}"
        );
        assert_eq!(
            store.person_of_feed(&fresh).await.unwrap().as_deref(),
            Some("grace")
        );
        assert_eq!(store.feed_token("grace", now).await.unwrap(), fresh);
    }
}

/// Story: a first start invites 100,000 people and every invite links its person's feed.
/// On both dialects the tokens of a whole batch come in a few statements: those who had
/// one keep it, the others get one, more people than one statement names are all
/// answered; and the count the feeds' ETags are remembered for moves with every batch
/// of series recorded, and only then (a 304 from memory is right only while it stays).
#[tokio::test]
async fn a_batch_of_feed_tokens_and_the_series_change_count() {
    let program = mentord::program::load(std::path::Path::new(common::example())).unwrap();
    let now = at("2027-01-04T09:00:00Z");
    let changes = mentord::reconcile::reconcile(&program, &Default::default(), now);
    let series = changes
        .first()
        .unwrap()
        .series(&program)
        .unwrap()
        .into_owned();
    let sent = mentord::reconcile::Sent {
        series,
        sequence: 0,
        active: true,
    };
    let names: Vec<String> = (0..1_100).map(|i| format!("p{i}")).collect();
    let people: Vec<&str> = names.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    for (location, _database) in backends(dir.path()) {
        let store = Store::open(&location).await.unwrap();
        let kept = store.feed_token("p7", now).await.unwrap();
        let tokens = store.feed_tokens(&people, now).await.unwrap();
        assert_eq!(tokens.len(), people.len(), "{location:?}");
        assert_eq!(tokens["p7"], kept, "{location:?}");
        assert_eq!(store.feed_tokens(&people, now).await.unwrap(), tokens);
        assert_eq!(
            store
                .person_of_feed(&tokens["p1050"])
                .await
                .unwrap()
                .as_deref(),
            Some("p1050"),
            "{location:?}"
        );

        assert_eq!(store.series_changes().await.unwrap(), 0, "{location:?}");
        store.enqueue_all(&[], &[], now).await.unwrap();
        assert_eq!(store.series_changes().await.unwrap(), 0, "{location:?}");
        let batch = [
            ("a".to_string(), sent.clone()),
            ("b".to_string(), sent.clone()),
        ];
        store.enqueue_all(&[], &batch, now).await.unwrap();
        store.save_series("a", &sent, now).await.unwrap();
        assert_eq!(store.series_changes().await.unwrap(), 2, "{location:?}");
    }
}
