//! The daemon's work, one tick at a time: reconcile on start and reload, turn what the
//! schedule says is due into queued messages, deliver what is queued, and say when to
//! wake next. The loop around it (sleeping, signals, reloads) lives in `cli::run`;
//! tests drive ticks with a virtual clock.
//!
//! Delivery promise: a message is in the store (key, body) before it is sent, marked
//! after; keys are unique, so nothing is queued twice; a crash mid-send resends at most
//! that message, byte-identical. Catch-up after downtime: a prompt or reminder whose
//! meeting has started is dropped (kept in the store as `dropped`, and logged);
//! everything else due while down is sent late.

pub mod smtp;
pub mod transport;

use std::collections::VecDeque;

use anyhow::Context as _;
use jiff::{SignedDuration, Timestamp};

use crate::compose::{Composed, Composer};
use crate::program::Program;
use crate::reconcile::{self, Change, Sent};
use crate::render::Templates;
use crate::schedule::{self, Action, ActionKind, History, Subject, Window};
use crate::store::{NewMessage, Store};
pub use transport::{SendError, Transport};

/// How far ahead the schedule is expanded at a time.
const HORIZON: SignedDuration = SignedDuration::from_hours(24);

/// Messages claimed from the outbox per round.
const BATCH: u32 = 64;

#[derive(Debug)]
pub struct Daemon {
    program: Program,
    templates: Templates,
    store: Store,
    transport: Transport,
    needs_reconcile: bool,
    upcoming: VecDeque<Action>,
    horizon: Option<Timestamp>,
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
}

impl Daemon {
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
        }
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Swaps in a reloaded (already validated) program; the next tick reconciles.
    pub fn replace_program(&mut self, program: Program, templates: Templates) {
        self.program = program;
        self.templates = templates;
        self.needs_reconcile = true;
        self.upcoming.clear();
        self.horizon = None;
    }

    /// Does everything due at `now`; `stop` is checked between sends.
    pub async fn tick(&mut self, now: Timestamp, stop: &dyn Fn() -> bool) -> anyhow::Result<Tick> {
        let mut tick = Tick::default();
        if self.needs_reconcile {
            tick.queued += self.reconcile(now).await?;
            self.needs_reconcile = false;
        }
        self.schedule(now, &mut tick).await?;
        self.deliver(now, stop, &mut tick).await?;
        let next_action = self.upcoming.front().map(|a| a.at);
        let next_retry = self.store.next_attempt().await?;
        // While the SMTP breaker is open, retries wait for it to close.
        let resume = self.transport.paused_until(now);
        let next_retry = next_retry.map(|t| resume.map_or(t, |r| t.max(r)));
        tick.next = [next_action, next_retry, self.horizon]
            .into_iter()
            .flatten()
            .map(|t| t.max(now))
            .min();
        Ok(tick)
    }

    /// Brings every calendar in line with the file, queueing the messages first and
    /// recording the new series state after (a crash between only re-queues the same keys).
    async fn reconcile(&mut self, now: Timestamp) -> anyhow::Result<usize> {
        let sent = self.store.sent_series().await?;
        let changes = reconcile::reconcile(&self.program, &sent, now);
        let composer = Composer::new(&self.program, &self.templates);
        let mut queued = 0;
        for change in &changes {
            for composed in composer.change(change, now)? {
                if self
                    .store
                    .enqueue(&new_message(&composed, now)?, now)
                    .await?
                {
                    queued += 1;
                }
            }
            let (pair_id, state) = match change {
                Change::Invite { pair, sequence } | Change::Update { pair, sequence, .. } => (
                    self.program.pairs[*pair].id.clone(),
                    Sent {
                        series: change
                            .series(&self.program)
                            .context("a series without meetings")?
                            .into_owned(),
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
            self.store.save_series(&pair_id, &state, now).await?;
            tracing::info!(pair = %pair_id, change = change_name(change), sequence = change.sequence(), "calendar change queued");
        }
        Ok(queued)
    }

    /// Queues every message the schedule has due by `now`, from where the last tick left off.
    async fn schedule(&mut self, now: Timestamp, tick: &mut Tick) -> anyhow::Result<()> {
        let cursor = match self.store.scheduled_until().await? {
            Some(cursor) => cursor,
            None => {
                // The first start: nothing before now was ever due to this store.
                self.store.set_scheduled_until(now).await?;
                now
            }
        };
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
            self.history(digest_due).await?
        };
        let composer = Composer::new(&self.program, &self.templates);
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
            let late = matches!(
                action.kind,
                ActionKind::AgendaPrompt | ActionKind::MentorReminder
            ) && matches!(action.subject, Subject::Meeting { start, .. } if start <= now);
            for composed in composer.action(&action, &history)? {
                let message = new_message(&composed, action.at)?;
                if !self.store.enqueue(&message, now).await? {
                    continue;
                }
                if late {
                    self.store
                        .mark_dropped(
                            &message.key,
                            "its meeting had started when mentord caught up",
                        )
                        .await?;
                    tracing::warn!(key = %message.key, "dropped: the meeting started while mentord was down");
                    tick.dropped += 1;
                } else {
                    tick.queued += 1;
                }
            }
        }
        self.store.set_scheduled_until(until).await?;
        Ok(())
    }

    async fn refill(&mut self, cursor: Timestamp, until: Timestamp) -> anyhow::Result<()> {
        let history = self.history(false).await?;
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
    /// deliveries only for a digest.
    async fn history(&self, with_failures: bool) -> anyhow::Result<History> {
        let failures = if with_failures {
            self.store.failures().await?
        } else {
            Vec::new()
        };
        Ok(History {
            last_review: self.store.last_reviews().await?,
            failures: failures
                .into_iter()
                .map(|(key, to, error)| format!("{to} ({key}): {error}"))
                .collect(),
        })
    }

    /// Sends what is due, one message at a time, until nothing is or `stop` says so.
    async fn deliver(
        &mut self,
        now: Timestamp,
        stop: &dyn Fn() -> bool,
        tick: &mut Tick,
    ) -> anyhow::Result<()> {
        loop {
            if stop() || self.transport.paused_until(now).is_some() {
                return Ok(());
            }
            let batch = self.store.claim_due(now, BATCH).await?;
            if batch.is_empty() {
                return Ok(());
            }
            for (i, message) in batch.iter().enumerate() {
                if i > 0 && stop() {
                    // Give back what was claimed but not sent.
                    for rest in &batch[i..] {
                        self.store
                            .mark_retry(&rest.key, "stopped before sending", now)
                            .await?;
                    }
                    return Ok(());
                }
                if self.transport.paused_until(now).is_some() {
                    for rest in &batch[i..] {
                        self.store
                            .mark_retry(&rest.key, "sending paused", now)
                            .await?;
                    }
                    return Ok(());
                }
                match self.transport.send(message, now).await {
                    Ok(()) => {
                        self.store.mark_sent(&message.key, now).await?;
                        tracing::info!(key = %message.key, to = %message.recipient, "sent");
                        tick.sent += 1;
                    }
                    Err(SendError::Transient(error)) => {
                        let next = now
                            .checked_add(backoff(message.attempts, &message.key))
                            .unwrap_or(now);
                        self.store.mark_retry(&message.key, &error, next).await?;
                        tracing::warn!(key = %message.key, %error, retry_at = %next, "temporary failure");
                        tick.retried += 1;
                    }
                    Err(SendError::Permanent(error)) => {
                        self.store.mark_failed(&message.key, &error).await?;
                        tracing::error!(key = %message.key, to = %message.recipient, %error, "permanent failure");
                        tick.failed += 1;
                    }
                }
            }
        }
    }
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

fn change_name(change: &Change) -> &'static str {
    match change {
        Change::Invite { .. } => "invite",
        Change::Update { .. } => "update",
        Change::CancelOccurrence { .. } => "cancel one meeting",
        Change::Cancel { .. } => "cancel series",
    }
}

fn new_message(composed: &Composed, due_at: Timestamp) -> anyhow::Result<NewMessage> {
    let message = &composed.message;
    let calendar = message.calendar.as_ref();
    Ok(NewMessage {
        key: message.key.clone(),
        message_id: message.message_id.clone(),
        kind: composed.kind.to_string(),
        pair: composed.pair.clone(),
        recipient: message.to.1.clone(),
        due_at,
        uid: calendar.map(|c| c.uid.clone()),
        method: calendar.map(|c| c.method.as_str().to_string()),
        sequence: calendar.map(|c| c.sequence),
        body: message
            .to_eml()
            .with_context(|| format!("while building {}", message.key))?,
    })
}
