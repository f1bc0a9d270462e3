//! The daemon's work, one tick at a time: reconcile on start and reload, turn what the
//! schedule says is due into queued messages, deliver what is queued, and say when to
//! wake next. [`run`] is the loop around it, on any [`crate::clock::Clock`]:
//! `mentord run` ([`service`]) on the system's, over SQLite or PostgreSQL and a file or
//! SMTP transport; `simulate` on a virtual one, over a store in memory and a
//! [`record`]ing transport. Tests drive single ticks too.
//!
//! A tick has two halves, each with its own state: the [`planner`] decides what is due
//! and writes it to the store; the [`courier`] claims, sends and marks. They share only
//! the store, so on a first start they run side by side.
//!
//! Delivery promise: a message is in the store (key, body) before it is sent, marked
//! after; keys are unique, so nothing is queued twice; a crash mid-send resends at most
//! that message, byte-identical. Catch-up after downtime: a prompt or reminder whose
//! meeting has started, a follow-up more than two days late and a digest more than a
//! day late are dropped (kept in the store as `dropped`, and logged); everything else
//! due while down is sent late. What falls due before the cursor the schedule goes on
//! from (a meeting new inside its lead time, an edit that moved a message into the
//! past) is queued by the planner's catch-up.

mod courier;
mod handoff;
mod mailbox;
mod planner;
pub(crate) mod record;
mod run;
mod send_error;
pub(crate) mod service;
pub mod smtp;
mod tick;
pub(crate) mod transport;

use jiff::{SignedDuration, Timestamp};

use crate::program::Program;
use crate::render::Templates;
use crate::store::Store;
use courier::Courier;
pub use courier::SENT_UNMARKED;
use planner::Planner;
pub use planner::inbound::store_key;
pub use run::{Control, Silent, Wake, run};
pub use send_error::SendError;
pub use tick::{Stop, Tick};
pub use transport::Transport;

#[derive(Debug)]
pub struct Daemon {
    planner: Planner,
    courier: Courier,
    /// The planner's and the courier's store too: the program lock, the next retry.
    store: Store,
    /// Whether a reconcile is planned on a thread of its own while delivery goes on
    /// (`mentord run`); a simulation plans and sends in turn, so its order is the same
    /// every time.
    beside: bool,
}

impl Daemon {
    pub fn new(
        program: Program,
        templates: Templates,
        store: Store,
        transport: Transport,
    ) -> Daemon {
        Daemon {
            planner: Planner::new(program, templates, store.clone()),
            courier: Courier::new(store.clone(), transport),
            store,
            beside: true,
        }
    }

    /// A simulation's daemon: it plans and sends in turn (the same order every run),
    /// and signs its links with a key of its own, to show them as they would look.
    pub(crate) fn simulation(mut self) -> Daemon {
        self.beside = false;
        self.planner.preview_links();
        self
    }

    pub(crate) fn program(&self) -> &Program {
        self.planner.program()
    }

    pub(crate) fn transport_mut(&mut self) -> &mut Transport {
        self.courier.transport_mut()
    }

    /// After a failed tick: opens a SQLite store again (a failed write can leave it
    /// unusable after its cause is gone) and gives back this daemon's claims, so
    /// nothing waits on them.
    pub(crate) async fn recover(&mut self) -> anyhow::Result<()> {
        self.planner.forget_upcoming();
        self.store.reopen().await?;
        self.store.release_claims().await
    }

    /// Swaps in a transport for a changed `[mail]`; messages in flight finished first.
    pub(crate) fn replace_transport(&mut self, transport: Transport) {
        self.courier.replace_transport(transport);
    }

    /// Swaps in a reloaded (already validated) program; the next tick reconciles.
    pub fn replace_program(&mut self, program: Program, templates: Templates) {
        self.planner.replace_program(program, templates);
    }

    /// Says the store's cursor was reached with `previous` (`simulate --previous`: as if
    /// it had run until then): the first schedule finds what the change to this
    /// program moved into the past by comparing the two, as after a reload.
    pub(crate) fn continue_from(&mut self, previous: Program) {
        self.planner.continue_from(previous);
    }

    /// What the next attempt at pending mail is, for the log: "retrying 3 messages that
    /// could not go since Tue 12 Jan 10:02 (Europe/Berlin): connection refused", or mail
    /// queued for later that never failed.
    async fn retry_what(&self) -> anyhow::Result<String> {
        let Some(retrying) = self.store.retrying().await? else {
            return Ok("sending mail queued for then".to_string());
        };
        let since = retrying
            .since
            .to_zoned_datetime(self.program().zone.tz.clone())
            .strftime("%a %-d %b %H:%M (%Q)");
        // The server's words, on one line and bounded.
        let error: String = retrying
            .error
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(120)
            .collect();
        Ok(format!(
            "retrying {} that could not go since {since}: {error}",
            if retrying.waiting == 1 {
                "1 message".to_string()
            } else {
                format!("{} messages", retrying.waiting)
            }
        ))
    }

    /// Does everything due at `now`; `stop` is checked between sends.
    pub async fn tick(&mut self, now: Timestamp, stop: Stop<'_>) -> anyhow::Result<Tick> {
        self.store.verify()?;
        let mut tick = Tick::default();
        // Work done once per program, by one daemon at a time. A daemon that finds the
        // lock taken delivers what is queued and tries again in a second; by then the
        // store's series and cursor have usually moved on and there is nothing left to do.
        let mut plan_again = None;
        if self.store.try_lock_program().await? {
            let planned = if self.renders_ahead() {
                self.plan_beside_delivery(now, stop, &mut tick).await
            } else {
                self.planner.plan(now, stop, &mut tick).await
            };
            self.store.unlock_program().await?;
            planned?;
        } else {
            plan_again = now.checked_add(SignedDuration::from_secs(1)).ok();
        }
        self.courier.deliver(now, stop, &mut tick, None).await?;
        self.courier.report_pause(now).await?;
        let prune_again = self.prune_sent(now).await?;
        let (next_action, action_what) = self.planner.next_action();
        let next_retry = self.store.next_attempt().await?;
        // While the SMTP breaker is open, retries wait for it to close; while the daily
        // budget is used up, for a place to free (or, when only claims in flight fill
        // it, a minute).
        let resume = self.courier.paused_until(now);
        let held = self.courier.held();
        let budget = held.map(|held| {
            held.until
                .unwrap_or_else(|| now.checked_add(SignedDuration::from_mins(1)).unwrap_or(now))
        });
        let next_retry = next_retry
            .map(|t| resume.map_or(t, |r| t.max(r)))
            .map(|t| budget.map_or(t, |b| t.max(b)));
        // Claims of another daemon pass to this one when its lease runs out: be awake then.
        let lease = self
            .store
            .next_lease_expiry()
            .await?
            .and_then(|wait| SignedDuration::try_from(wait).ok())
            .and_then(|wait| now.checked_add(wait + SignedDuration::from_secs(1)).ok());
        let candidates = [
            (next_action, action_what),
            (
                next_retry,
                Some(if held.is_some() {
                    "mail the relay's daily budget held back".to_string()
                } else {
                    self.retry_what().await?
                }),
            ),
            // Nothing sooner: the schedule is looked at again then.
            (self.planner.horizon(), None),
            (
                plan_again,
                Some("planning, once another daemon is done".to_string()),
            ),
            (
                lease,
                Some("taking over a silent daemon's mail".to_string()),
            ),
            (
                self.planner.agenda_wait(),
                Some("passing on an agenda that came within the hour".to_string()),
            ),
            (
                prune_again,
                Some("pruning the bodies of mail sent long ago".to_string()),
            ),
        ];
        if let Some((at, what)) = candidates
            .into_iter()
            .filter_map(|(at, what)| Some((at?.max(now), what)))
            .min_by_key(|(at, _)| *at)
        {
            tick.next = Some(at);
            tick.next_what = what;
        }
        Ok(tick)
    }

    /// `[store] keep_sent`: drops the bodies of one batch of mail sent longer ago than
    /// that. When the batch was full there is more: back in a second, so sending goes
    /// on between batches.
    async fn prune_sent(&self, now: Timestamp) -> anyhow::Result<Option<Timestamp>> {
        // A simulation's store drops each body as it is marked sent.
        let Some(keep) = self
            .program()
            .store
            .keep_sent
            .filter(|_| !self.store.is_in_memory())
        else {
            return Ok(None);
        };
        let Ok(before) = now.checked_sub(keep) else {
            return Ok(None);
        };
        let pruned = self
            .store
            .prune_sent(before, crate::store::PRUNE_BATCH)
            .await?;
        if pruned > 0 {
            tracing::debug!(pruned, "dropped the bodies of mail sent before {before}");
        }
        Ok((pruned as i64 == crate::store::PRUNE_BATCH)
            .then(|| now.checked_add(SignedDuration::from_secs(1)).ok())
            .flatten())
    }

    /// Whether this tick's planning is worth running beside delivery: a reconcile (a
    /// first start renders every invite) in `mentord run`'s runtime of several threads.
    fn renders_ahead(&self) -> bool {
        self.beside
            && self.planner.needs_reconcile()
            && tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
    }

    /// Plans (renders and queues) on a thread of its own while this one delivers what
    /// is already queued: on a first start the sessions send the first invites while
    /// the rest are rendered, instead of waiting for all of them. The planner and the
    /// courier are borrowed apart; the runtime's thread is lent to the two for the while.
    async fn plan_beside_delivery(
        &mut self,
        now: Timestamp,
        stop: Stop<'_>,
        tick: &mut Tick,
    ) -> anyhow::Result<()> {
        /// Says planning is over however the planning thread ends (a panic included),
        /// so delivery never waits for more.
        struct Done<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.store(false, std::sync::atomic::Ordering::Release);
            }
        }
        let handle = tokio::runtime::Handle::current();
        let (planner, courier) = (&mut self.planner, &mut self.courier);
        let planning = std::sync::atomic::AtomicBool::new(true);
        let mut sent = Tick::default();
        let (planned, delivered) = tokio::task::block_in_place(|| {
            std::thread::scope(|scope| {
                let planned = scope.spawn(|| {
                    let _done = Done(&planning);
                    handle.block_on(planner.plan(now, stop, tick))
                });
                let delivered =
                    handle.block_on(courier.deliver(now, stop, &mut sent, Some(&planning)));
                (planned.join(), delivered)
            })
        });
        tick.sent += sent.sent;
        tick.retried += sent.retried;
        tick.failed += sent.failed;
        tick.dropped += sent.dropped;
        delivered?;
        match planned {
            Ok(planned) => planned,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}
