//! The daemon's work, one tick at a time: reconcile on start and reload, turn what the
//! schedule says is due into queued messages, deliver what is queued, and say when to
//! wake next. [`run`] is the loop around it, on any [`crate::clock::Clock`]:
//! `mentord run` ([`service`]) on the system's, over SQLite or PostgreSQL and a file or
//! SMTP transport; `simulate` on a virtual one, over a store in memory and a
//! [`record`]ing transport. Tests drive single ticks too.
//!
//! Delivery promise: a message is in the store (key, body) before it is sent, marked
//! after; keys are unique, so nothing is queued twice; a crash mid-send resends at most
//! that message, byte-identical. Catch-up after downtime: a prompt or reminder whose
//! meeting has started, a follow-up more than two days late and a digest more than a
//! day late are dropped (kept in the store as `dropped`, and logged); everything else
//! due while down is sent late. What falls due before the cursor the schedule goes on
//! from (a meeting new inside its lead time, an edit that moved a message into the
//! past) is queued by [`catch_up`].

mod catch_up;
pub mod inbound;
mod mailbox;
pub mod record;
mod run;
mod send_error;
pub mod service;
pub mod smtp;
pub mod transport;

use std::collections::VecDeque;

use anyhow::Context as _;
use jiff::{SignedDuration, Timestamp};

use crate::compose::{Composed, Composer};
use crate::mail::MessageKind;
use crate::program::Program;
use crate::reconcile::{self, Change, Sent};
use crate::render::Templates;
use crate::schedule::{self, Action, ActionKind, History, Subject, Window};
use crate::store::{Held, Mark, NewMessage, Queued, Store};
pub use mailbox::SharedProgram;
pub use run::{Control, Observer, Silent, Wake, run};
pub use send_error::SendError;
pub use transport::Transport;

/// Whether to stop, asked between sends and between batches of work; shared with the
/// thread that plans while delivery goes on.
pub type Stop<'a> = &'a (dyn Fn() -> bool + Sync);

/// How far ahead the schedule is expanded at a time.
const HORIZON: SignedDuration = SignedDuration::from_hours(24);

/// Calendar changes queued per transaction.
const RECONCILE_BATCH: usize = 256;

/// A batch of calendar changes, composed.
struct ChangeBatch {
    messages: Vec<NewMessage>,
    states: Vec<(String, Sent)>,
    /// Pairs newly invited, whose late prompts are queued once the batch is.
    catch_up: Vec<u32>,
}

/// A batch being written to the store.
struct Writing {
    catch_up: Vec<u32>,
    task: tokio::task::JoinHandle<anyhow::Result<Vec<bool>>>,
}

/// Scheduled messages queued per transaction.
const SCHEDULE_BATCH: usize = 512;

#[derive(Debug)]
pub struct Daemon {
    program: Program,
    templates: Templates,
    store: Store,
    transport: Transport,
    needs_reconcile: bool,
    upcoming: VecDeque<Action>,
    horizon: Option<Timestamp>,
    /// The breaker state last written to the store.
    reported_pause: Option<Timestamp>,
    /// Pairs whose meetings are new to the store since the last schedule (invited,
    /// resumed, moved): their prompts may already be late (see `schedule::late`).
    catch_up: Vec<u32>,
    /// The program the store's cursor was reached with, when a reload replaced it and
    /// the new one has not been scheduled yet: comparing the two finds what the edit
    /// moved into the past (see `catch_up`).
    edited_from: Option<Program>,
    /// Until this process first schedules: the file may have been edited while mentord
    /// was stopped (see `catch_up`).
    just_started: bool,
    /// Signs Reply-To tokens (with `[mail] reply_to`), read from the store once.
    tokens: Option<crate::inbound::token::TokenKey>,
    /// When an agenda held back (one went on to the mentor within the hour) may go.
    agenda_wait: Option<Timestamp>,
    /// How many cancelled meetings the program holds, as the store last said.
    cancellations_seen: Option<i64>,
    /// Signs action links (with `[http] public_url`), made once per program.
    signer: Option<crate::serve::links::Signer>,
    /// Optional mail people stopped: (person id, kind), and how many the store had.
    unsubscribed: std::collections::HashSet<(String, crate::mail::MessageKind)>,
    unsubscribes_seen: Option<i64>,
    /// The relay's daily budget as the last delivery left it, when it held mail back.
    held: Option<Held>,
}

/// What one tick did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tick {
    pub queued: usize,
    pub sent: usize,
    pub dropped: usize,
    pub failed: usize,
    pub retried: usize,
    /// When there is something to do next.
    pub next: Option<Timestamp>,
    /// What that is, in words: "agenda prompt to Alan Turing", "a retry"; `None` when
    /// nothing is due before then.
    pub next_what: Option<String>,
}

impl Daemon {
    /// The composer of everything this daemon sends: Message-IDs, UIDs and reply
    /// addresses keyed with the store's key, links signed. The key is read by
    /// [`Daemon::hear`] before anything is planned; composing without it is a bug, never
    /// a preview key in real mail.
    fn composer(&self) -> anyhow::Result<Composer<'_>> {
        composer(
            &self.program,
            &self.templates,
            self.tokens.as_ref(),
            self.signer.as_ref(),
        )
    }

    pub fn new(
        program: Program,
        templates: Templates,
        store: Store,
        transport: Transport,
    ) -> Daemon {
        Daemon {
            program,
            templates,
            store,
            transport,
            needs_reconcile: true,
            upcoming: VecDeque::new(),
            horizon: None,
            reported_pause: None,
            catch_up: Vec::new(),
            edited_from: None,
            just_started: true,
            tokens: None,
            agenda_wait: None,
            cancellations_seen: None,
            signer: None,
            unsubscribed: std::collections::HashSet::new(),
            unsubscribes_seen: None,
            held: None,
        }
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    pub fn transport_mut(&mut self) -> &mut Transport {
        &mut self.transport
    }

    /// After a failed tick: opens a SQLite store again (a failed write can leave it
    /// unusable after its cause is gone) and gives back this daemon's claims, so
    /// nothing waits on them.
    pub async fn recover(&mut self) -> anyhow::Result<()> {
        self.upcoming.clear();
        self.horizon = None;
        self.store.reopen().await?;
        self.store.release_claims().await
    }

    /// Swaps in a transport for a changed `[mail]`; messages in flight finished first.
    pub fn replace_transport(&mut self, transport: Transport) {
        self.transport = transport;
        self.reported_pause = None;
    }

    /// Swaps in a reloaded (already validated) program; the next tick reconciles.
    pub fn replace_program(&mut self, program: Program, templates: Templates) {
        let old = std::mem::replace(&mut self.program, program);
        // Two reloads before a schedule: the first program is the one queued from.
        self.edited_from.get_or_insert(old);
        self.templates = templates;
        self.needs_reconcile = true;
        self.upcoming.clear();
        self.horizon = None;
        // Indices into the old program; the reconcile of the new one finds its own.
        self.catch_up.clear();
        // The new program has no cancellations on it yet, and may name other pairs.
        self.forget_cancellations();
        self.tokens = None;
        self.signer = None;
    }

    /// Says the store's cursor was reached with `previous` (`simulate --previous`: as if
    /// it had run until then): the first schedule finds what the change to this
    /// program moved into the past by comparing the two, as after a reload.
    pub fn continue_from(&mut self, previous: Program) {
        self.edited_from = Some(previous);
        self.just_started = false;
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
                self.plan_messages(now, stop, &mut tick).await
            };
            self.store.unlock_program().await?;
            planned?;
        } else {
            plan_again = now.checked_add(SignedDuration::from_secs(1)).ok();
        }
        self.deliver(now, stop, &mut tick).await?;
        self.report_pause(now).await?;
        let next_action = self.upcoming.front().map(|a| a.at);
        let next_retry = self.store.next_attempt().await?;
        // While the SMTP breaker is open, retries wait for it to close; while the daily
        // budget is used up, for a place to free (or, when only claims in flight fill
        // it, a minute).
        let resume = self.transport.paused_until(now);
        let budget = self.held.map(|held| {
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
        let action_what = self.upcoming.front().map(|a| self.describe(a));
        let candidates = [
            (next_action, action_what),
            (
                next_retry,
                Some(if self.held.is_some() {
                    "mail the relay's daily budget held back".to_string()
                } else {
                    "a retry of mail that could not go".to_string()
                }),
            ),
            // Nothing sooner: the schedule is looked at again then.
            (self.horizon, None),
            (
                plan_again,
                Some("planning, once another daemon is done".to_string()),
            ),
            (
                lease,
                Some("taking over a silent daemon's mail".to_string()),
            ),
            (
                self.agenda_wait,
                Some("passing on an agenda that came within the hour".to_string()),
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

    /// Whether this tick's planning is worth running beside delivery: a reconcile (a
    /// first start renders every invite) in `mentord run`'s runtime of several threads.
    /// A simulation plans and sends in turn, so its order is the same every time.
    fn renders_ahead(&self) -> bool {
        self.needs_reconcile
            && !matches!(self.transport, Transport::Record(_))
            && tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
    }

    /// Plans (renders and queues) on a thread of its own while this one delivers what
    /// is already queued: on a first start the sessions send the first invites while
    /// the rest are rendered, instead of waiting for all of them.
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
        let mut transport = std::mem::replace(&mut self.transport, Transport::Lent);
        let store = self.store.clone();
        let planning = std::sync::atomic::AtomicBool::new(true);
        let mut sent = Tick::default();
        let (planned, delivered) = tokio::task::block_in_place(|| {
            std::thread::scope(|scope| {
                let planner = scope.spawn(|| {
                    let _done = Done(&planning);
                    handle.block_on(self.plan_messages(now, stop, tick))
                });
                let delivered = handle.block_on(deliver(
                    &store,
                    &mut transport,
                    now,
                    stop,
                    &mut sent,
                    Some(&planning),
                ));
                (planner.join(), delivered)
            })
        });
        self.transport = transport;
        tick.sent += sent.sent;
        tick.retried += sent.retried;
        tick.failed += sent.failed;
        tick.dropped += sent.dropped;
        self.held = delivered?;
        match planned {
            Ok(planned) => planned,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// An action in words, for the log: "agenda prompt to Alan Turing".
    fn describe(&self, action: &Action) -> String {
        let kind =
            crate::mail::MessageKind::of_action(action.kind).map_or("a meeting", |k| k.label());
        let pair = action.pair.map(|i| &self.program.pairs[i as usize]);
        let person = match (action.to, pair) {
            (schedule::Recipient::Mentor, Some(p)) => Some(p.mentor),
            (schedule::Recipient::Mentee, Some(p)) => Some(p.mentee),
            (schedule::Recipient::Coordinator, _) => Some(self.program.coordinator),
            _ => None,
        };
        match person {
            Some(person) => format!("{kind} to {}", self.program.person(person).name),
            None => kind.to_string(),
        }
    }

    /// Reconciles (after a start or reload) and queues what the schedule has due. A
    /// first start of a large program is a long piece of work: `stop` is heeded between
    /// transactions, and what is left is done by the next start.
    async fn plan_messages(
        &mut self,
        now: Timestamp,
        stop: Stop<'_>,
        tick: &mut Tick,
    ) -> anyhow::Result<()> {
        self.hear(now, tick).await?;
        if self.needs_reconcile {
            let (queued, complete) = self.reconcile(now, stop).await?;
            tick.queued += queued;
            if !complete {
                return Ok(());
            }
            self.needs_reconcile = false;
        }
        self.schedule(now, stop, tick).await
    }

    /// Records the SMTP breaker's state in the store when it changes, for `status`.
    async fn report_pause(&mut self, now: Timestamp) -> anyhow::Result<()> {
        let paused = self.transport.paused_until(now);
        if paused != self.reported_pause {
            let reason = paused.map(|_| self.transport.pause_reason());
            self.store.set_pause(paused, reason.as_deref()).await?;
            self.reported_pause = paused;
        }
        Ok(())
    }

    /// Brings every calendar in line with the file. Each batch of changes is one
    /// transaction: its messages queued and the new series state recorded together.
    /// A batch is composed while the one before it is written (on a task of its own),
    /// one write at a time, in order. Returns what was queued, and false when `stop`
    /// cut it short.
    async fn reconcile(&mut self, now: Timestamp, stop: Stop<'_>) -> anyhow::Result<(usize, bool)> {
        let sent = self.store.sent_series().await?;
        let changes = reconcile::reconcile(&self.program, &sent, now);
        let mut queued = 0;
        let mut writing: Option<Writing> = None;
        let mut complete = true;
        for batch in changes.chunks(RECONCILE_BATCH) {
            if stop() {
                complete = false;
                break;
            }
            let composed = self.compose_changes(batch, now)?;
            if let Some(written) = writing.take() {
                queued += self.written(written).await?;
            }
            let store = self.store.clone();
            writing = Some(Writing {
                catch_up: composed.catch_up,
                task: tokio::spawn(async move {
                    store
                        .enqueue_all(&composed.messages, &composed.states, now)
                        .await
                }),
            });
        }
        if let Some(written) = writing {
            queued += self.written(written).await?;
        }
        Ok((queued, complete))
    }

    /// Waits for a batch's write: how many of its messages were new.
    async fn written(&mut self, writing: Writing) -> anyhow::Result<usize> {
        let queued = match writing.task.await {
            Ok(queued) => queued?,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        };
        self.catch_up.extend(writing.catch_up);
        Ok(queued.into_iter().filter(|&q| q).count())
    }

    /// A batch of changes as the messages to queue and the series states to record.
    fn compose_changes(&self, changes: &[Change], now: Timestamp) -> anyhow::Result<ChangeBatch> {
        let composer = self.composer()?;
        let mut catch_up = Vec::new();
        let mut messages = Vec::new();
        let mut states = Vec::with_capacity(changes.len());
        for change in changes {
            for composed in composer.change(change, now)? {
                messages.push(new_message(&composed, now)?);
            }
            let (pair_id, state) = match change {
                Change::Invite { pair, sequence, .. } | Change::Update { pair, sequence, .. } => (
                    self.program.pairs[*pair].id.clone(),
                    Sent {
                        series: composer.series(change)?.into_owned(),
                        sequence: *sequence,
                        active: true,
                    },
                ),
                Change::CancelOccurrence {
                    pair,
                    series,
                    sequence,
                    ..
                } => (
                    self.program.pairs[*pair].id.clone(),
                    Sent {
                        series: series.clone(),
                        sequence: *sequence,
                        active: true,
                    },
                ),
                Change::Cancel {
                    pair_id,
                    series,
                    sequence,
                } => (
                    pair_id.clone(),
                    Sent {
                        series: series.clone(),
                        sequence: *sequence,
                        active: false,
                    },
                ),
            };
            if let Change::Invite { pair, .. } | Change::Update { pair, .. } = change {
                catch_up.push(*pair as u32);
            }
            tracing::info!(pair = %pair_id, change = change_name(change), sequence = change.sequence(), "calendar change queued");
            states.push((pair_id, state));
        }
        Ok(ChangeBatch {
            messages,
            states,
            catch_up,
        })
    }

    /// Queues every message the schedule has due by `now`, from where the last tick left off.
    async fn schedule(
        &mut self,
        now: Timestamp,
        stop: Stop<'_>,
        tick: &mut Tick,
    ) -> anyhow::Result<()> {
        let cursor = match self.store.scheduled_until().await? {
            Some(cursor) => cursor,
            None => {
                // The first start: nothing before now was ever due to this store, but
                // the prompts of meetings inside their lead time are late, not void.
                self.catch_up = (0..self.program.pairs.len() as u32).collect();
                // Nothing was ever queued: there is no edit to catch up on.
                self.edited_from = None;
                self.store.set_scheduled_until(now).await?;
                now
            }
        };
        self.queue_late(cursor, now, tick).await?;
        let until = now.checked_add(SignedDuration::from_secs(1)).unwrap_or(now);
        if cursor >= until {
            return Ok(());
        }
        if self.horizon.is_none_or(|h| h < until) {
            self.refill(cursor, until).await?;
        }
        // The store is read only when something is due: most ticks only deliver.
        let due = self.upcoming.iter().take_while(|a| a.at < until);
        let digest_due = due.clone().any(|a| a.kind == ActionKind::Digest);
        let history = if due.count() == 0 {
            History::default()
        } else {
            self.history(digest_due, now).await?
        };
        let composer = composer(
            &self.program,
            &self.templates,
            self.tokens.as_ref(),
            self.signer.as_ref(),
        )?;
        let mut batch = Vec::new();
        while let Some(action) = self.upcoming.front().copied() {
            if action.at >= until {
                break;
            }
            self.upcoming.pop_front();
            if action.at < cursor || !action.kind.sends_mail() {
                continue;
            }
            if let Subject::Review { due, .. } = action.subject
                && reviewed_since(&history, &self.program, &action, due)
            {
                continue;
            }
            let stale = schedule::late::stale(&action, now);
            for composed in composer.action(&action, &history)? {
                let mut message = new_message(&composed, action.at)?;
                message.dropped = stale
                    .map(str::to_string)
                    .or_else(|| self.unsubscribed_from(&composed));
                // A mentor who stopped reminders still gets the mentee's agenda.
                if stale.is_none()
                    && message.dropped.is_some()
                    && let Some(agenda) =
                        agenda_without_reminder(&composer, &action, &composed, &history)?
                {
                    batch.push(new_message(&agenda, action.at)?);
                }
                batch.push(message);
            }
            if batch.len() >= SCHEDULE_BATCH {
                self.enqueue_scheduled(&std::mem::take(&mut batch), now, tick)
                    .await?;
                if stop() {
                    // The cursor stays: the next start queues the rest (keys keep
                    // what is already queued from going twice).
                    self.upcoming.clear();
                    self.horizon = None;
                    return Ok(());
                }
            }
        }
        self.enqueue_scheduled(&batch, now, tick).await?;
        self.store.set_scheduled_until(until).await?;
        Ok(())
    }

    /// Queues `batch` (what the store already holds is left alone) and counts what
    /// was new; which messages were new.
    async fn enqueue_scheduled(
        &self,
        batch: &[NewMessage],
        now: Timestamp,
        tick: &mut Tick,
    ) -> anyhow::Result<Vec<bool>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let queued = self.store.enqueue_all(batch, &[], now).await?;
        for (message, queued) in batch.iter().zip(&queued) {
            match (queued, &message.dropped) {
                (false, _) => {}
                (true, None) => tick.queued += 1,
                (true, Some(why)) => {
                    tracing::warn!(key = %message.key, "not sent: {why}");
                    tick.dropped += 1;
                }
            }
        }
        Ok(queued)
    }

    async fn refill(&mut self, cursor: Timestamp, until: Timestamp) -> anyhow::Result<()> {
        let history = self.history(false, cursor).await?;
        let end = until
            .max(cursor)
            .checked_add(HORIZON)
            .unwrap_or(Timestamp::MAX);
        self.upcoming = schedule::actions(
            &self.program,
            &history,
            Window {
                from: cursor,
                until: end,
            },
        )
        .filter(|a| a.kind.sends_mail())
        .collect();
        self.horizon = Some(end);
        Ok(())
    }

    /// What the store knows that the schedule and the messages need; the failed
    /// deliveries and the breaker's state only for a digest.
    async fn history(&self, for_digest: bool, now: Timestamp) -> anyhow::Result<History> {
        let mut history = History {
            last_review: self.store.last_reviews().await?,
            ..History::default()
        };
        self.replies(&mut history, now).await?;
        if for_digest {
            self.heard_for_digest(&mut history, now).await?;
            history.failures = self
                .store
                .failures()
                .await?
                .into_iter()
                .map(|f| format!("{} ({}): {}", f.recipient, f.key, f.error))
                .collect();
            let zone = &self.program.zone.tz;
            if let Some(daily) = self.program.mail.daily_budget() {
                let budget = self.store.daily_budget(daily, now).await?;
                history.sending_held = budget.held_words(zone);
            }
            history.sending_paused = self
                .store
                .instances()
                .await?
                .into_iter()
                .filter(|i| i.alive)
                .find_map(|i| {
                    let until = i.paused_until.filter(|&until| until > now)?;
                    Some(format!(
                        "until {} ({})",
                        until
                            .to_zoned_datetime(zone.clone())
                            .strftime("%a %-d %b %H:%M %Z"),
                        i.pause_reason.unwrap_or_default()
                    ))
                });
        }
        Ok(history)
    }

    /// Sends what is due (see [`deliver`]).
    async fn deliver(
        &mut self,
        now: Timestamp,
        stop: Stop<'_>,
        tick: &mut Tick,
    ) -> anyhow::Result<()> {
        self.held = deliver(&self.store, &mut self.transport, now, stop, tick, None).await?;
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
    let key: crate::mail::DeliveryKey = message.key.parse().ok()?;
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

/// For a mentor reminder that is not sent (its recipient stopped reminders), the
/// mentee's agenda for that meeting in a mail of its own, if one came.
fn agenda_without_reminder(
    composer: &Composer<'_>,
    action: &Action,
    composed: &Composed,
    history: &History,
) -> anyhow::Result<Option<Composed>> {
    let (MessageKind::MentorReminder, Some(pair), Subject::Meeting { start, .. }) =
        (composed.kind, action.pair, action.subject)
    else {
        return Ok(None);
    };
    let Some(pair_id) = &composed.pair else {
        return Ok(None);
    };
    let Some(text) = history.agendas.get(&(pair_id.clone(), start.to_string())) else {
        return Ok(None);
    };
    composer
        .agenda(
            pair as usize,
            start,
            &composed.message.message_id,
            text,
            action.at,
        )
        .map(Some)
}

/// Exponential backoff from 30 s to an hour, with jitter derived from the key so
/// retries of many messages spread out (and a test can predict them).
pub fn backoff(attempts: u32, key: &str) -> SignedDuration {
    let base = 30i64.saturating_mul(1i64 << attempts.min(7)).min(3600);
    let jitter =
        i64::from(uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, key.as_bytes()).as_bytes()[0])
            % (base / 4 + 1);
    SignedDuration::from_secs(base + jitter)
}

fn reviewed_since(
    history: &History,
    program: &Program,
    action: &Action,
    due: jiff::civil::Date,
) -> bool {
    let Some(pair) = action.pair.map(|i| &program.pairs[i as usize]) else {
        return false;
    };
    let Some(every) = pair.timing.review_every else {
        return false;
    };
    // A review held after the previous due date covers this one.
    history.last_review.get(&pair.id).is_some_and(|held| {
        let previous_due = due
            .checked_sub(jiff::Span::new().days(i64::from(every)))
            .unwrap_or(due);
        *held > previous_due
    })
}

/// A mark that found the claim gone: this daemon was silent past its lease (a long
/// pause, a lost database) and another daemon took the message over; it may have been
/// sent twice, with the same Message-ID.
fn claim_lost(key: &str) {
    tracing::warn!(%key, "claim lost: another daemon took this message over while this one was silent; the other's mark stands");
}

fn change_name(change: &Change) -> &'static str {
    match change {
        Change::Invite { .. } => "invite",
        Change::Update { .. } => "update",
        Change::CancelOccurrence { .. } => "cancel one meeting",
        Change::Cancel { .. } => "cancel series",
    }
}

/// See [`Daemon::composer`]; for borrowing the daemon's fields one by one.
fn composer<'d>(
    program: &'d Program,
    templates: &'d Templates,
    tokens: Option<&'d crate::inbound::token::TokenKey>,
    signer: Option<&'d crate::serve::links::Signer>,
) -> anyhow::Result<Composer<'d>> {
    let tokens = tokens.context("the store's key was not read before composing")?;
    Ok(Composer::new(program, templates)
        .with_tokens(tokens)
        .with_links(signer))
}

pub(crate) fn new_message(composed: &Composed, due_at: Timestamp) -> anyhow::Result<NewMessage> {
    let message = &composed.message;
    let calendar = message.calendar.as_ref();
    Ok(NewMessage {
        key: message.key.to_string(),
        message_id: message.message_id.clone(),
        kind: composed.kind,
        pair: composed.pair.clone(),
        recipient: message.to.email.clone(),
        due_at,
        uid: calendar.map(|c| c.uid.clone()),
        method: calendar.map(|c| c.method.as_str().to_string()),
        sequence: calendar.map(|c| c.sequence),
        body: message
            .to_eml()
            .with_context(|| format!("while building {}", message.key))?,
        reply_token: message
            .reply_to
            .as_ref()
            .map(|r| r.token.clone())
            .or_else(|| calendar.and_then(|c| c.organizer_token.clone())),
        dropped: None,
    })
}
