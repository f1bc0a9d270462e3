//! Planning, the daemon's first half: what is due and what to write. Hears what came
//! in ([`inbound`]), brings the calendars in line with the file ([`calendars`]), queues
//! what the schedule has due and what is late ([`catch_up`]). The [`Planner`] holds the
//! program and all planning remembers between ticks; it only writes to the store and
//! never sends, so delivery can run beside it.

mod calendars;
mod catch_up;
mod feed_links;
pub(super) mod inbound;
mod nudges;

use std::collections::VecDeque;

use anyhow::Context as _;
use jiff::{SignedDuration, Timestamp};

use super::tick::{Stop, Tick};
use crate::compose::{Composed, Composer};
use crate::program::Program;
use crate::render::Templates;
use crate::schedule::{self, Action, ActionKind, History, Subject, Window};
use crate::store::{NewMessage, Store};
use crate::vocab::MessageKind;

/// How far ahead the schedule is expanded at a time.
const HORIZON: SignedDuration = SignedDuration::from_hours(24);

/// Scheduled messages queued per transaction.
const SCHEDULE_BATCH: usize = 512;

/// Decides what to queue, and queues it.
#[derive(Debug)]
pub(super) struct Planner {
    program: Program,
    templates: Templates,
    store: Store,
    needs_reconcile: bool,
    upcoming: VecDeque<Action>,
    horizon: Option<Timestamp>,
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
    tokens: Option<crate::vocab::token::TokenKey>,
    /// When an agenda held back (one went on to the mentor within the hour) may go.
    agenda_wait: Option<Timestamp>,
    /// How many cancelled meetings the program holds, as the store last said.
    cancellations_seen: Option<i64>,
    /// Signs action links (with `[http] public_url`), made once per program.
    signer: Option<crate::vocab::links::Signer>,
    /// Set by the caller for a simulation: its links are signed with a key of its own,
    /// to show how they would look (they are never served).
    preview_links: bool,
    /// Optional mail people stopped: (person id, kind), and how many the store had.
    unsubscribed: std::collections::HashSet<(String, MessageKind)>,
    unsubscribes_seen: Option<i64>,
}

impl Planner {
    pub(super) fn new(program: Program, templates: Templates, store: Store) -> Planner {
        Planner {
            program,
            templates,
            store,
            needs_reconcile: true,
            upcoming: VecDeque::new(),
            horizon: None,
            catch_up: Vec::new(),
            edited_from: None,
            just_started: true,
            tokens: None,
            agenda_wait: None,
            cancellations_seen: None,
            signer: None,
            preview_links: false,
            unsubscribed: std::collections::HashSet::new(),
            unsubscribes_seen: None,
        }
    }

    /// Signs links with a key of the simulation's own (see `preview_links`).
    pub(super) fn preview_links(&mut self) {
        self.preview_links = true;
        self.signer = None;
    }

    /// The composer of everything this daemon sends: Message-IDs, UIDs and reply
    /// addresses keyed with the store's key, links signed. The key is read by
    /// [`Planner::hear`] before anything is planned; composing without it is a bug,
    /// never a preview key in real mail.
    fn composer(&self) -> anyhow::Result<Composer<'_>> {
        composer(
            &self.program,
            &self.templates,
            self.tokens.as_ref(),
            self.signer.as_ref(),
        )
    }

    pub(super) fn program(&self) -> &Program {
        &self.program
    }

    /// Whether the next plan starts with a reconcile (a first start renders every invite).
    pub(super) fn needs_reconcile(&self) -> bool {
        self.needs_reconcile
    }

    /// After a failed tick: the schedule is read afresh.
    pub(super) fn forget_upcoming(&mut self) {
        self.upcoming.clear();
        self.horizon = None;
    }

    /// Swaps in a reloaded (already validated) program; the next tick reconciles.
    pub(super) fn replace_program(&mut self, program: Program, templates: Templates) {
        let old = std::mem::replace(&mut self.program, program);
        // Two reloads before a schedule: the first program is the one queued from.
        self.edited_from.get_or_insert(old);
        self.templates = templates;
        self.needs_reconcile = true;
        self.forget_upcoming();
        // Indices into the old program; the reconcile of the new one finds its own.
        self.catch_up.clear();
        // The new program has no cancellations on it yet, and may name other pairs.
        self.forget_cancellations();
        self.tokens = None;
        self.signer = None;
    }

    /// See [`super::Daemon::continue_from`].
    pub(super) fn continue_from(&mut self, previous: Program) {
        self.edited_from = Some(previous);
        self.just_started = false;
    }

    /// The next scheduled action, and what it is in words.
    pub(super) fn next_action(&self) -> (Option<Timestamp>, Option<String>) {
        let next = self.upcoming.front();
        (next.map(|a| a.at), next.map(|a| self.describe(a)))
    }

    /// How far the schedule is expanded: nothing sooner is due, it is looked at again then.
    pub(super) fn horizon(&self) -> Option<Timestamp> {
        self.horizon
    }

    /// When an agenda held back may go on.
    pub(super) fn agenda_wait(&self) -> Option<Timestamp> {
        self.agenda_wait
    }

    /// An action in words, for the log: "agenda prompt to Alan Turing".
    fn describe(&self, action: &Action) -> String {
        let kind = action.kind.message().map_or("a meeting", |k| k.label());
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
    pub(super) async fn plan(
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
        // The feed tokens of everyone prompted in this tick: one read for them all.
        let prompted = self.prompted(self.upcoming.iter().take_while(|a| a.at < until));
        let feeds = self.feed_tokens(prompted, now).await?;
        let composer = composer(
            &self.program,
            &self.templates,
            self.tokens.as_ref(),
            self.signer.as_ref(),
        )?
        .with_feeds(feeds.as_ref());
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
                            .strftime("%a %-d %b %H:%M %Q"),
                        i.pause_reason.unwrap_or_default()
                    ))
                });
        }
        Ok(history)
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

/// See [`Planner::composer`]; for borrowing the daemon's fields one by one.
fn composer<'d>(
    program: &'d Program,
    templates: &'d Templates,
    tokens: Option<&'d crate::vocab::token::TokenKey>,
    signer: Option<&'d crate::vocab::links::Signer>,
) -> anyhow::Result<Composer<'d>> {
    let tokens = tokens.context("the store's key was not read before composing")?;
    Ok(Composer::new(program, templates)
        .with_tokens(tokens)
        .with_links(signer))
}

fn new_message(composed: &Composed, due_at: Timestamp) -> anyhow::Result<NewMessage> {
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
