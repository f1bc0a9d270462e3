//! Delivery, the daemon's second half: claim what is due from the store, send it over
//! the transport, mark what became of it. The [`Courier`] holds the transport and what
//! delivery remembers between ticks (the breaker's state last written, the daily
//! budget's hold); it borrows nothing from planning, so the two can run side by side.

use jiff::{SignedDuration, Timestamp};

use super::send_error::SendError;
use super::tick::{Stop, Tick};
use super::transport::Transport;
use crate::store::{Held, Mark, Queued, Store};
use crate::vocab::MessageKind;

/// Sends what the store has due, over its transport.
#[derive(Debug)]
pub(super) struct Courier {
    store: Store,
    transport: Transport,
    /// The breaker state last written to the store.
    reported_pause: Option<Timestamp>,
    /// The relay's daily budget as the last delivery left it, when it held mail back.
    held: Option<Held>,
}

impl Courier {
    pub(super) fn new(store: Store, transport: Transport) -> Courier {
        Courier {
            store,
            transport,
            reported_pause: None,
            held: None,
        }
    }

    pub(super) fn transport_mut(&mut self) -> &mut Transport {
        &mut self.transport
    }

    /// Swaps in a transport for a changed `[mail]`; messages in flight finished first.
    pub(super) fn replace_transport(&mut self, transport: Transport) {
        self.transport = transport;
        self.reported_pause = None;
    }

    /// When the SMTP breaker is open, until when.
    pub(super) fn paused_until(&self, now: Timestamp) -> Option<Timestamp> {
        self.transport.paused_until(now)
    }

    /// The daily budget's state when the last delivery found it holding mail back.
    pub(super) fn held(&self) -> Option<Held> {
        self.held
    }

    /// Sends what is due (see [`deliver`]); while `planning` says more is being
    /// queued, an empty queue is looked at again shortly.
    pub(super) async fn deliver(
        &mut self,
        now: Timestamp,
        stop: Stop<'_>,
        tick: &mut Tick,
        planning: Option<&std::sync::atomic::AtomicBool>,
    ) -> anyhow::Result<()> {
        self.held = deliver(&self.store, &mut self.transport, now, stop, tick, planning).await?;
        Ok(())
    }

    /// Records the SMTP breaker's state in the store when it changes, for `status`.
    pub(super) async fn report_pause(&mut self, now: Timestamp) -> anyhow::Result<()> {
        let paused = self.transport.paused_until(now);
        if paused != self.reported_pause {
            let reason = paused.map(|_| self.transport.pause_reason());
            self.store.set_pause(paused, reason.as_deref()).await?;
            self.reported_pause = paused;
        }
        Ok(())
    }
}

/// Sends what is due until nothing is, `stop` says so, the breaker opens or the
/// daily budget is used up. Three parts run at once:
///
/// - the claimer takes due messages from the store in batches and hands each to a
///   lane chosen by its recipient (so one person's mail goes out in the order
///   claimed: the invite before the prompt that refers to it);
/// - the lanes, one per SMTP session (or file writer), send what they are given,
///   one message at a time each; a 4xx or a slow answer on one holds up only its
///   own lane;
/// - the marker commits what became of every finished message, all that finished
///   while its previous commit ran in one transaction (a group commit).
///
/// A message is *in flight* from its claim until its mark commits. A crash resends
/// every message in flight; those the server had already taken arrive twice,
/// byte-identical, with the same Message-ID. The claimer holds at most
/// [`Store::claim_batch`] × 2 in flight, and the lanes wait while
/// [`SENT_UNMARKED`] messages they sent await their marks: so a crash doubles at
/// most that many.
///
/// While `planning` says more is being queued, an empty queue is looked at again
/// shortly rather than ending the delivery. Returns the daily budget's state when it
/// held mail back.
async fn deliver(
    store: &Store,
    transport: &mut Transport,
    now: Timestamp,
    stop: Stop<'_>,
    tick: &mut Tick,
    planning: Option<&std::sync::atomic::AtomicBool>,
) -> anyhow::Result<Option<Held>> {
    let daily = transport.daily_budget();
    let batch = store.claim_batch();
    let in_flight = tokio::sync::Semaphore::new(2 * batch as usize);
    let in_flight = &in_flight;
    let unmarked = tokio::sync::Semaphore::new(SENT_UNMARKED);
    let unmarked = &unmarked;
    let planning = || planning.is_some_and(|p| p.load(std::sync::atomic::Ordering::Acquire));
    let (gate, mut lanes) = transport.lanes();
    if lanes.is_empty() {
        return Ok(None);
    }
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Done>();
    let claimer_done = done_tx.clone();
    let (lane_txs, lane_rxs): (Vec<_>, Vec<_>) = (0..lanes.len())
        .map(|_| tokio::sync::mpsc::unbounded_channel::<Queued>())
        .unzip();

    let claimer = async move {
        let lane_txs = lane_txs;
        loop {
            if stop() || gate.paused_until(now).is_some() {
                return Ok(None);
            }
            // Room for a batch in flight: waits for the marker (closed when it fails).
            let Ok(permit) = in_flight.acquire_many(batch).await else {
                return Ok(None);
            };
            permit.forget();
            let claimed = store.claim(now, batch, daily).await?;
            in_flight.add_permits(batch as usize - claimed.messages.len());
            if claimed.messages.is_empty() {
                if planning() && claimed.held.is_none() {
                    // More is being queued: look again in a moment.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
                return Ok(claimed.held);
            }
            let more = claimed.messages.len() == batch as usize;
            for message in claimed.messages {
                if let Some(why) = too_late(&message, now) {
                    let outcome = Outcome::Dropped(why);
                    if claimer_done.send(Done { message, outcome }).is_err() {
                        return Ok(None);
                    }
                    continue;
                }
                let lane = lane_for(&message.recipient, lane_txs.len());
                if lane_txs[lane].send(message).is_err() {
                    // The lanes stopped: the marker failed, and says why.
                    return Ok(None);
                }
            }
            if !more && !planning() {
                return anyhow::Ok(None);
            }
        }
    };

    let senders =
        futures_util::future::join_all(lanes.iter_mut().zip(lane_rxs).map(|(lane, mut queue)| {
            let done_tx = done_tx.clone();
            async move {
                while let Some(message) = queue.recv().await {
                    let outcome = if stop() {
                        Outcome::GiveBack("stopped before sending")
                    } else if gate.paused_until(now).is_some() {
                        Outcome::GiveBack("sending paused")
                    } else {
                        // Waits while too many sent messages await their marks
                        // (closed when the marker fails).
                        let Ok(permit) = unmarked.acquire().await else {
                            return;
                        };
                        permit.forget();
                        match lane.send(&message, now).await {
                            Ok(()) => Outcome::Sent(lane.delivered(&message)),
                            Err(error) => Outcome::Failed(error),
                        }
                    };
                    if done_tx.send(Done { message, outcome }).is_err() {
                        return;
                    }
                }
            }
        }));
    drop(done_tx);

    let marker = async {
        let marked = async {
            while let Some(first) = done_rx.recv().await {
                let mut done = vec![first];
                while let Ok(next) = done_rx.try_recv() {
                    done.push(next);
                }
                let marks: Vec<(&str, Mark<'_>)> = done
                    .iter()
                    .map(|d| (d.message.key.as_str(), d.mark(now)))
                    .collect();
                let held = store.mark_all(&marks, now).await?;
                for ((done, (_, mark)), held) in done.iter().zip(&marks).zip(held) {
                    done.report(held, mark, tick);
                }
                in_flight.add_permits(done.len());
                unmarked.add_permits(done.iter().filter(|d| d.was_sent()).count());
            }
            anyhow::Ok(())
        }
        .await;
        if marked.is_err() {
            // Nobody may wait for room that never comes.
            in_flight.close();
            unmarked.close();
        }
        marked
    };

    let (claimed, _, marked) = tokio::join!(claimer, senders, marker);
    marked?;
    claimed
}

/// The most messages a daemon has sent and not yet marked: what a crash may double.
pub const SENT_UNMARKED: usize = 32;

/// The lane that sends mail to `recipient`: always the same one, so one person's mail
/// keeps its order.
fn lane_for(recipient: &str, lanes: usize) -> usize {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    recipient.to_ascii_lowercase().hash(&mut hasher);
    (hasher.finish() % lanes.max(1) as u64) as usize
}

/// A message a lane is done with, and how.
struct Done {
    message: Queued,
    outcome: Outcome,
}

enum Outcome {
    /// Taken by the server (or written); the words for the log.
    Sent(String),
    Failed(SendError),
    /// Not tried: given back to the queue, due at once.
    GiveBack(&'static str),
    /// Not tried, and never will be: see [`too_late`].
    Dropped(&'static str),
}

/// Why a claimed message is no longer worth sending, if it is not: a prompt or
/// reminder whose meeting has started (held back by the daily budget, the breaker or
/// retries until then). Its key names the meeting.
fn too_late(message: &Queued, now: Timestamp) -> Option<&'static str> {
    if !matches!(
        message.kind,
        MessageKind::AgendaPrompt | MessageKind::MentorReminder
    ) {
        return None;
    }
    let key: crate::vocab::DeliveryKey = message.key.parse().ok()?;
    let start: Timestamp = key.occurrence?.parse().ok()?;
    (start <= now).then_some("its meeting had started before it could go")
}

impl Done {
    /// Whether a lane tried to send it.
    fn was_sent(&self) -> bool {
        matches!(self.outcome, Outcome::Sent(_) | Outcome::Failed(_))
    }

    fn mark(&self, now: Timestamp) -> Mark<'_> {
        match &self.outcome {
            Outcome::Sent(_) => Mark::Sent,
            Outcome::Failed(SendError::Transient(error)) => Mark::Retry {
                error,
                next: now
                    .checked_add(backoff(self.message.attempts, &self.message.key))
                    .unwrap_or(now),
            },
            Outcome::Failed(SendError::Permanent(error)) => Mark::Failed { error },
            Outcome::GiveBack(why) => Mark::Retry {
                error: why,
                next: now,
            },
            Outcome::Dropped(why) => Mark::Dropped { why },
        }
    }

    /// Logs and counts the message once its mark is committed; `held` is false when
    /// another daemon had taken it over.
    fn report(&self, held: bool, mark: &Mark<'_>, tick: &mut Tick) {
        let message = &self.message;
        if !held && self.was_sent() {
            claim_lost(&message.key);
        }
        match &self.outcome {
            Outcome::Sent(how) => {
                tracing::info!(key = %message.key, to = %message.recipient, "{how}");
                tick.sent += 1;
            }
            Outcome::Failed(SendError::Transient(error)) => {
                if let Mark::Retry { next, .. } = mark {
                    tracing::warn!(key = %message.key, %error, retry_at = %next, "temporary failure");
                }
                tick.retried += 1;
            }
            Outcome::Failed(SendError::Permanent(error)) => {
                tracing::error!(key = %message.key, to = %message.recipient, %error, "permanent failure");
                tick.failed += 1;
            }
            Outcome::Dropped(why) => {
                tracing::warn!(key = %message.key, "not sent: {why}");
                tick.dropped += 1;
            }
            Outcome::GiveBack(_) => {}
        }
    }
}

/// Exponential backoff from 30 s to an hour, with jitter derived from the key so
/// retries of many messages spread out (and a test can predict them).
fn backoff(attempts: u32, key: &str) -> SignedDuration {
    let base = 30i64.saturating_mul(1i64 << attempts.min(7)).min(3600);
    let jitter =
        i64::from(uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, key.as_bytes()).as_bytes()[0])
            % (base / 4 + 1);
    SignedDuration::from_secs(base + jitter)
}

/// A mark that found the claim gone: this daemon was silent past its lease (a long
/// pause, a lost database) and another daemon took the message over; it may have been
/// sent twice, with the same Message-ID.
fn claim_lost(key: &str) {
    tracing::warn!(%key, "claim lost: another daemon took this message over while this one was silent; the other's mark stands");
}
