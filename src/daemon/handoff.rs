//! The daemon's side of the hand-off (SPEC §5): mail `mentord deliver` stored in the
//! store's queue is taken in within a second, oldest first, by a task of its own beside
//! the sending loop (which it never holds up), with the program as last loaded. It
//! wakes on the store's signal ([`MailSignal`]: PostgreSQL's `NOTIFY`, SQLite's
//! `data_version`), takes in what waits batch by batch until nothing does, and wakes
//! the daemon when there is something to send (an agenda to pass on, a meeting
//! declined). Verdicts go to the log, one line per mail ([`crate::app::handoff`]).

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::mailbox::SharedProgram;
use crate::app::handoff::{BATCH, take_waiting};
use crate::app::live::Wake;
use crate::store::{Location, MailSignal, Store};

/// The longest the task sleeps without looking (claims of a daemon that died run out).
const FALLBACK: Duration = Duration::from_secs(5);

/// Mails taken in are forgotten this long after (their verdicts are in the log).
const KEEP_VERDICTS: jiff::SignedDuration = jiff::SignedDuration::from_hours(7 * 24);

/// Starts taking in handed-off mail for the daemon.
pub(crate) fn spawn(
    program: SharedProgram,
    store: Store,
    location: Location,
    wake: mpsc::Sender<Wake>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let holder = store.instance_id().unwrap_or("daemon").to_string();
        match store.recover_queued().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(mails = n, "mail a stopped daemon was taking in waits again"),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "could not look at the mail queue"),
        }
        let mut signal = MailSignal::open(&location).await;
        let mut pruned_at = tokio::time::Instant::now();
        loop {
            take_all(&program, &store, &holder, &wake).await;
            if pruned_at.elapsed() > Duration::from_secs(600) {
                pruned_at = tokio::time::Instant::now();
                prune(&store).await;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = signal.next(FALLBACK) => {}
            }
        }
    })
}

/// Takes in what waits until nothing does (or the store fails: then later).
async fn take_all(program: &SharedProgram, store: &Store, holder: &str, wake: &mpsc::Sender<Wake>) {
    loop {
        let current = program.load_full();
        match take_waiting(&current, store, holder, BATCH).await {
            Ok(taken) if taken.is_empty() => return,
            Ok(taken) => {
                if taken.iter().any(|t| !t.verdict.is_set_aside()) {
                    let _ = wake.try_send(Wake::Inbound);
                }
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "could not take in mail handed off; it waits");
                return;
            }
        }
    }
}

/// Forgets the verdicts of mail taken in long ago, a batch at a time.
async fn prune(store: &Store) {
    let Ok(now) = crate::clock::now() else {
        return;
    };
    let before = now.checked_sub(KEEP_VERDICTS).unwrap_or(now);
    loop {
        match store.prune_queue(before, 500).await {
            Ok(500) => tokio::task::yield_now().await,
            Ok(_) => return,
            Err(e) => {
                tracing::debug!(error = %format!("{e:#}"), "could not prune the mail queue");
                return;
            }
        }
    }
}
