//! The IMAP watcher against a real Dovecot started by each test (see tests/common/imap.rs).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::time::{Duration, Instant};

use common::imap::{ImapServer, Options, PASSWORD, USER, mail};
use common::intake::{Mock, Shared, wait_for};
use mentord::io::imap::{ImapSettings, ImapTls, Tuning, watch, watch_tuned};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const DONE: &str = "mentord";
const LIMIT: Duration = Duration::from_secs(20);

fn init_logs() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "mentord=debug".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init()
        .ok();
}

async fn server() -> ImapServer {
    init_logs();
    match ImapServer::start().await {
        Ok(s) => s,
        Err(e) => panic!("cannot start the test IMAP server: {e:#}"),
    }
}

fn settings(server: &ImapServer) -> ImapSettings {
    ImapSettings {
        host: "127.0.0.1".into(),
        port: server.port,
        tls: ImapTls::None,
        user: USER.into(),
        password: PASSWORD.into(),
        folder: "INBOX".into(),
        done_folder: DONE.into(),
    }
}

/// Short timings so retries and lead changes show within seconds.
fn fast() -> Tuning {
    Tuning {
        idle: Duration::from_secs(2),
        lead_renew: Duration::from_secs(1),
        not_leading_wait: Duration::from_millis(300),
        backoff_min: Duration::from_millis(200),
        backoff_max: Duration::from_secs(2),
        ..Tuning::default()
    }
}

struct Watcher {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Watcher {
    fn spawn(server: &ImapServer, intake: Mock, tuning: Tuning) -> Self {
        let stop = CancellationToken::new();
        let task = tokio::spawn(watch_tuned(settings(server), intake, stop.clone(), tuning));
        Self { stop, task }
    }

    /// Cancels and waits; returns how long the watcher took to stop.
    async fn stop(self) -> Duration {
        let start = Instant::now();
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("watcher did not stop within 10 s")
            .expect("watcher panicked");
        start.elapsed()
    }
}

/// Waits until INBOX holds `n` mails: `take` returns before the MOVE that follows it.
async fn inbox_settles(server: &ImapServer, n: usize) {
    let start = Instant::now();
    loop {
        let inbox = server.list("INBOX").await.unwrap();
        if inbox.len() == n {
            return;
        }
        assert!(
            start.elapsed() < LIMIT,
            "INBOX never got to {n} mails: {inbox:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn subjects(list: &[common::imap::Listed]) -> Vec<String> {
    list.iter().map(|l| l.subject.clone()).collect()
}

/// (1) New mail is taken within seconds through IDLE (product timings) and moved to the done
/// folder; shutdown is prompt even mid-IDLE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appended_mail_is_taken_via_idle_and_moved() {
    let server = server().await;
    let shared = Shared::new();
    let stop = CancellationToken::new();
    let task = tokio::spawn(watch(
        settings(&server),
        Mock::new(1, &shared),
        stop.clone(),
    ));

    server.append("INBOX", &mail("warmup")).await.unwrap();
    wait_for(LIMIT, "warmup taken", || shared.count("warmup") == 1)
        .await
        .unwrap();
    // Now the watcher idles; the next mail must wake it, not a timeout (25 s).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t0 = Instant::now();
    server.append("INBOX", &mail("idle-1")).await.unwrap();
    wait_for(LIMIT, "idle-1 taken", || shared.count("idle-1") == 1)
        .await
        .unwrap();
    let latency = t0.elapsed();
    eprintln!("APPEND → taken via IDLE: {latency:?}");
    assert!(latency < Duration::from_secs(5), "took {latency:?}");

    inbox_settles(&server, 0).await;
    let inbox = server.list("INBOX").await.unwrap();
    let done = server.list(DONE).await.unwrap();
    assert!(inbox.is_empty(), "inbox: {inbox:?}");
    assert_eq!(subjects(&done), ["warmup", "idle-1"]);

    let t0 = Instant::now();
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    eprintln!("shutdown while idling took {:?}", t0.elapsed());
    assert!(t0.elapsed() < Duration::from_secs(3));
}

/// (2) A set-aside mail stays in the folder, unread, and is not handed over again — neither
/// on the next pass nor by a new watcher with the same store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_aside_mail_stays_unread_and_is_not_taken_again() {
    let server = server().await;
    let shared = Shared::new();
    let w = Watcher::spawn(&server, Mock::new(1, &shared), fast());

    server.append("INBOX", &mail("aside-1")).await.unwrap();
    server.append("INBOX", &mail("used-1")).await.unwrap();
    wait_for(LIMIT, "used-1", || shared.count("used-1") == 1)
        .await
        .unwrap();
    server.append("INBOX", &mail("used-2")).await.unwrap();
    wait_for(LIMIT, "used-2", || shared.count("used-2") == 1)
        .await
        .unwrap();
    // A few IDLE timeouts (2 s each) = a few more passes.
    tokio::time::sleep(Duration::from_secs(5)).await;
    w.stop().await;

    // Same daemon started again (the mock lease never expires, so keep the same id).
    let w = Watcher::spawn(&server, Mock::new(1, &shared), fast());
    server.append("INBOX", &mail("used-3")).await.unwrap();
    wait_for(LIMIT, "used-3", || shared.count("used-3") == 1)
        .await
        .unwrap();
    w.stop().await;

    assert_eq!(shared.count("aside-1"), 1);
    let inbox = server.list("INBOX").await.unwrap();
    assert_eq!(subjects(&inbox), ["aside-1"]);
    assert!(!inbox[0].seen(), "set-aside mail got \\Seen: {inbox:?}");
    assert_eq!(
        subjects(&server.list(DONE).await.unwrap()),
        ["used-1", "used-2", "used-3"]
    );
}

/// (3) Server stopped and restarted mid-run: mail delivered while it is down and appended
/// after it is back is taken; nothing is lost or taken twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_server_restart() {
    let mut server = server().await;
    let shared = Shared::new();
    let w = Watcher::spawn(&server, Mock::new(1, &shared), fast());

    server.append("INBOX", &mail("before")).await.unwrap();
    wait_for(LIMIT, "before", || shared.count("before") == 1)
        .await
        .unwrap();

    server.stop().await.unwrap();
    server
        .deliver_offline("INBOX", &mail("while-down"))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await; // let the watcher fail and back off
    server.start_again().await.unwrap();
    let t0 = Instant::now();
    server.append("INBOX", &mail("after")).await.unwrap();
    wait_for(LIMIT, "while-down and after", || {
        shared.count("while-down") == 1 && shared.count("after") == 1
    })
    .await
    .unwrap();
    eprintln!("server back → both taken: {:?}", t0.elapsed());
    w.stop().await;

    let mut got = shared.taken_subjects();
    got.sort();
    assert_eq!(got, ["after", "before", "while-down"]);
    assert!(server.list("INBOX").await.unwrap().is_empty());
    assert_eq!(server.list(DONE).await.unwrap().len(), 3);
}

/// (4) Two watchers sharing one lease: only the holder takes mail, each mail exactly once;
/// when the holder loses the lease the other one takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_watchers_one_lead_take_each_mail_once() {
    let server = server().await;
    let shared = Shared::new();
    let a = Watcher::spawn(&server, Mock::new(1, &shared), fast());
    let b = Watcher::spawn(&server, Mock::new(2, &shared), fast());

    let first: Vec<String> = (1..=5).map(|i| format!("m{i}")).collect();
    for s in &first {
        server.append("INBOX", &mail(s)).await.unwrap();
    }
    wait_for(LIMIT, "first five", || shared.taken_subjects().len() >= 5)
        .await
        .unwrap();
    let leader = shared.lease_holder().expect("someone leads");
    let other = 3 - leader;
    for s in &first {
        assert_eq!(shared.taker(s), Some(leader), "{s} taken by the non-leader");
    }

    shared.ban(leader);
    wait_for(LIMIT, "handover", || shared.lease_holder() == Some(other))
        .await
        .unwrap();
    let second: Vec<String> = (6..=8).map(|i| format!("m{i}")).collect();
    for s in &second {
        server.append("INBOX", &mail(s)).await.unwrap();
    }
    wait_for(LIMIT, "next three", || shared.taken_subjects().len() >= 8)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await; // room for a duplicate to show up
    a.stop().await;
    b.stop().await;

    for s in first.iter().chain(&second) {
        assert_eq!(shared.count(s), 1, "{s} taken {} times", shared.count(s));
    }
    for s in &second {
        assert_eq!(shared.taker(s), Some(other), "{s} taken by the old leader");
    }
    assert!(server.list("INBOX").await.unwrap().is_empty());
    assert_eq!(server.list(DONE).await.unwrap().len(), 8);
}

/// (5) UIDVALIDITY changes (server rebuilt the folder): the watcher reads it again from UID 1,
/// so mail still there (set aside earlier) is handed over a second time — harmless, the
/// intake dedups by Message-ID. Used mail was moved out and is not seen again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_uidvalidity_reads_folder_again() {
    let server = server().await;
    let shared = Shared::new();
    let w = Watcher::spawn(&server, Mock::new(1, &shared), fast());
    server.append("INBOX", &mail("aside-v")).await.unwrap();
    server.append("INBOX", &mail("used-v")).await.unwrap();
    wait_for(LIMIT, "first pass", || shared.count("used-v") == 1)
        .await
        .unwrap();
    w.stop().await;
    let old = shared.cursors.lock().unwrap()["INBOX"];

    server
        .set_uid_validity("INBOX", old.uid_validity + 1000)
        .unwrap();
    let w = Watcher::spawn(&server, Mock::new(1, &shared), fast());
    wait_for(LIMIT, "aside-v again", || shared.count("aside-v") == 2)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    w.stop().await;

    let now = shared.cursors.lock().unwrap()["INBOX"];
    assert_eq!(now.uid_validity, old.uid_validity + 1000);
    assert_eq!(shared.count("aside-v"), 2);
    assert_eq!(shared.count("used-v"), 1);
    let inbox = server.list("INBOX").await.unwrap();
    assert_eq!(subjects(&inbox), ["aside-v"]);
    assert!(!inbox[0].seen());
}

/// (6) `take` failing (store down) leaves the mail in the folder, unread, and stops the pass
/// there; it is taken later, and the mail behind it only after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_error_leaves_mail_and_retries() {
    let server = server().await;
    let shared = Shared::new();
    let w = Watcher::spawn(&server, Mock::new(1, &shared), fast());
    server.append("INBOX", &mail("fail-1")).await.unwrap();
    server.append("INBOX", &mail("behind")).await.unwrap();

    wait_for(LIMIT, "first failure", || shared.attempts_of("fail-1") >= 1)
        .await
        .unwrap();
    inbox_settles(&server, 2).await;
    let inbox = server.list("INBOX").await.unwrap();
    assert_eq!(subjects(&inbox)[0], "fail-1");
    assert!(inbox.iter().all(|l| !l.seen()));
    assert_eq!(shared.count("behind"), 0, "pass went on past a failed mail");

    let t = wait_for(LIMIT, "fail-1 finally taken", || {
        shared.count("fail-1") == 1
    })
    .await
    .unwrap();
    wait_for(LIMIT, "behind", || shared.count("behind") == 1)
        .await
        .unwrap();
    eprintln!("failed twice, taken after {t:?} (IDLE timeout 2 s per retry)");
    w.stop().await;

    assert_eq!(shared.attempts_of("fail-1"), 3);
    assert_eq!(shared.taken_subjects(), ["fail-1", "behind"]);
    assert!(server.list("INBOX").await.unwrap().is_empty());
}

/// Mail above the size limit is not fetched nor handed over: left unread, the rest goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_mail_is_left_unread() {
    let server = server().await;
    let shared = Shared::new();
    let tuning = Tuning {
        max_mail_bytes: 100_000,
        ..fast()
    };
    let w = Watcher::spawn(&server, Mock::new(1, &shared), tuning);
    let mut big = mail("big");
    big.extend(std::iter::repeat_n(b'x', 300_000));
    big.extend_from_slice(b"\r\n");
    server.append("INBOX", &big).await.unwrap();
    server.append("INBOX", &mail("small")).await.unwrap();
    wait_for(LIMIT, "small", || shared.count("small") == 1)
        .await
        .unwrap();
    w.stop().await;

    assert_eq!(shared.attempts_of("big"), 0);
    let inbox = server.list("INBOX").await.unwrap();
    assert_eq!(subjects(&inbox), ["big"]);
    assert!(!inbox[0].seen());
}

/// A wrong password is logged and retried with backoff; the watcher stays stoppable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_password_keeps_retrying_and_stops() {
    let server = server().await;
    let shared = Shared::new();
    let stop = CancellationToken::new();
    let mut s = settings(&server);
    s.password = "wrong".into();
    let task = tokio::spawn(watch_tuned(s, Mock::new(1, &shared), stop.clone(), fast()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!task.is_finished());
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert!(shared.attempts.lock().unwrap().is_empty());
}

/// Without MOVE advertised the watcher falls back to COPY + \\Deleted + UID EXPUNGE, and
/// without UIDPLUS to a plain EXPUNGE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_without_move_extension() {
    init_logs();
    for caps in ["IMAP4rev1 IDLE UIDPLUS LITERAL+", "IMAP4rev1 IDLE LITERAL+"] {
        let options = Options {
            capabilities: Some(caps),
            ..Options::default()
        };
        let server = ImapServer::start_with(options).await.unwrap();
        let shared = Shared::new();
        let w = Watcher::spawn(&server, Mock::new(1, &shared), fast());
        server.append("INBOX", &mail("aside-c")).await.unwrap();
        server.append("INBOX", &mail("used-c1")).await.unwrap();
        server.append("INBOX", &mail("used-c2")).await.unwrap();
        wait_for(LIMIT, "both used", || shared.taken_subjects().len() == 3)
            .await
            .unwrap();
        inbox_settles(&server, 1).await;
        w.stop().await;
        let inbox = server.list("INBOX").await.unwrap();
        assert_eq!(subjects(&inbox), ["aside-c"], "with {caps}");
        assert!(inbox[0].flags.is_empty(), "with {caps}: {inbox:?}");
        assert_eq!(
            subjects(&server.list(DONE).await.unwrap()),
            ["used-c1", "used-c2"]
        );
    }
}

/// Product limit: a 10 MB mail is fetched and handed over whole; a 51 MB one (above
/// `MAX_MAIL_BYTES`) is left unread without being fetched, and nothing crashes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_mails_with_product_limit() {
    let server = server().await;
    let shared = Shared::new();
    let tuning = fast();
    assert_eq!(tuning.max_mail_bytes, mentord::io::imap::MAX_MAIL_BYTES);
    let sized = |subject: &str, bytes: usize| {
        let mut m = mail(subject);
        // Lines of 76 characters, as a base64 attachment would have.
        let line = [b'A'; 76];
        while m.len() < bytes {
            m.extend_from_slice(&line);
            m.extend_from_slice(b"\r\n");
        }
        m
    };
    let t0 = Instant::now();
    server
        .append("INBOX", &sized("huge", 51 * 1024 * 1024))
        .await
        .unwrap();
    let large = sized("large", 10 * 1024 * 1024);
    server.append("INBOX", &large).await.unwrap();
    eprintln!("appending 61 MB took {:?}", t0.elapsed());
    let t0 = Instant::now();
    let w = Watcher::spawn(&server, Mock::new(1, &shared), tuning);
    wait_for(LIMIT, "large", || shared.count("large") == 1)
        .await
        .unwrap();
    eprintln!("10 MB mail fetched and taken in {:?}", t0.elapsed());
    w.stop().await;
    assert_eq!(shared.attempts_of("huge"), 0);
    assert_eq!(
        shared.sizes.lock().unwrap()["large"],
        large.len(),
        "raw bytes differ"
    );
    let inbox = server.list("INBOX").await.unwrap();
    assert_eq!(subjects(&inbox), ["huge"]);
    assert!(!inbox[0].seen());
}

/// While idling with no mail the watcher still asks `lead()` after every IDLE round (the
/// product's 25 s keeps the intake's 30 s lease renewed); here IDLE is 1 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lead_is_renewed_while_idle() {
    let server = server().await;
    let shared = Shared::new();
    let tuning = Tuning {
        idle: Duration::from_secs(1),
        ..fast()
    };
    let w = Watcher::spawn(&server, Mock::new(1, &shared), tuning);
    tokio::time::sleep(Duration::from_millis(5500)).await;
    w.stop().await;
    let calls = *shared.lead_calls.lock().unwrap();
    assert!(
        (5..=8).contains(&calls),
        "{calls} lead() calls in 5.5 s with 1 s IDLE"
    );
}
