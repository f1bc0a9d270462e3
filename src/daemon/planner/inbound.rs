//! What the daemon does with what mentord heard (see [`crate::inbound`]): meetings
//! someone can't make leave the schedule and the calendars (the reconcile sends the
//! `CANCEL` with `RECURRENCE-ID` to both, which tells the other person), and an agenda
//! that came after the mentor's reminder went out is passed on in a short mail of its
//! own. Run by the daemon that holds the program lock, so each reply is acted on once.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};

use super::super::tick::Tick;
use super::{Planner, new_message};
use crate::store::InboundKind;
use crate::vocab::links::Signer;
use crate::vocab::token::TokenKey;
use crate::vocab::{DeliveryKey, MessageKind};

/// The store's key that signs reply tokens.
const TOKEN_SECRET: &str = "reply_tokens";

/// The store's key (made on first start, shared by every daemon of the store): it keys
/// Message-IDs, series UIDs and reply tokens, so nobody outside can compute them.
pub async fn store_key(store: &crate::store::Store) -> anyhow::Result<TokenKey> {
    Ok(TokenKey::new(&store.secret(TOKEN_SECRET).await?))
}

/// At most one agenda passed on per meeting in this long (docs/listening.md).
pub(crate) const PASS_ON_EVERY: SignedDuration = SignedDuration::from_hours(1);

/// What became of an agenda that may have to go on to the mentor.
enum PassOn {
    /// Queued (how many new messages).
    Sent(usize),
    /// Nothing to send: the reminder will quote it, the mentor has this text already, a
    /// newer agenda supersedes it, or the meeting has started or is cancelled.
    Nothing,
    /// One went on within the hour: this one waits until then.
    Wait(Timestamp),
}

/// How far back agendas and action items are read for the mail that quotes them.
pub(crate) const REPLIES_LOOKBACK: SignedDuration = SignedDuration::from_hours(24 * 120);

impl Planner {
    /// Before planning: the store's key (Message-IDs, UIDs, reply tokens), the meetings cancelled since the last tick,
    /// and the agendas to pass on.
    pub(super) async fn hear(&mut self, now: Timestamp, tick: &mut Tick) -> anyhow::Result<()> {
        if self.tokens.is_none() {
            self.tokens = Some(store_key(&self.store).await?);
        }
        if self.signer.is_none() {
            self.signer = if self.preview_links {
                // A simulation shows the links as they would look, signed with a key
                // of its own: they are never served.
                let url = self
                    .program
                    .http
                    .as_ref()
                    .and_then(|h| h.public_url.as_deref());
                url.map(Signer::preview).transpose()?
            } else {
                self.program.link_signer()?
            };
        }
        self.refresh_cancellations().await?;
        self.refresh_unsubscribes().await?;
        let pending = self.store.pending_inbound().await?;
        self.agenda_wait = None;
        for reply in pending {
            if reply.kind == InboundKind::Agenda {
                match self.pass_on_agenda(&reply, now).await? {
                    PassOn::Sent(queued) => tick.queued += queued,
                    PassOn::Nothing => {}
                    PassOn::Wait(until) => {
                        // Stays pending: the latest text goes when the hour is over.
                        self.agenda_wait = Some(self.agenda_wait.map_or(until, |w| w.min(until)));
                        continue;
                    }
                }
            }
            if reply.kind == InboundKind::Forwarded {
                tick.queued += self.forward(&reply, now).await?;
            }
            self.store.finish_inbound(&reply.message_id).await?;
        }
        self.send_nudges(now, tick).await?;
        Ok(())
    }

    /// Reads the cancellations again when their number changed; a changed schedule is
    /// reconciled and planned afresh.
    async fn refresh_cancellations(&mut self) -> anyhow::Result<()> {
        let count = self.store.cancellation_count().await?;
        if self.cancellations_seen == Some(count) {
            return Ok(());
        }
        let cancelled: Vec<_> = self
            .store
            .cancellations()
            .await?
            .into_iter()
            .map(|c| (c.pair, c.date, c.person))
            .collect();
        if self.program.set_cancellations(&cancelled) {
            self.needs_reconcile = true;
            self.upcoming.clear();
            self.horizon = None;
        }
        self.cancellations_seen = Some(count);
        Ok(())
    }

    /// The agendas and action items the pair's mail quotes.
    pub(super) async fn replies(
        &self,
        history: &mut crate::schedule::History,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        let since = now.checked_sub(REPLIES_LOOKBACK).unwrap_or(now);
        for reply in self.store.replies(InboundKind::Agenda, since).await? {
            // Oldest first: the latest agenda for a meeting stays.
            history
                .agendas
                .insert((reply.pair, reply.occurrence), reply.body);
        }
        for reply in self.store.replies(InboundKind::ActionItems, since).await? {
            let Ok(start) = reply.occurrence.parse::<Timestamp>() else {
                continue;
            };
            let items = history.action_items.entry(reply.pair).or_default();
            items.retain(|(at, _)| *at != start);
            items.push((start, reply.body));
            items.sort_by_key(|(at, _)| *at);
        }
        Ok(())
    }

    /// What the coordinator's digest says of what came back: never what the pair wrote.
    pub(super) async fn heard_for_digest(
        &self,
        history: &mut crate::schedule::History,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        let program = &self.program;
        let name = |id: &str| {
            program
                .person_by_id(id)
                .map_or(id.to_string(), |i| program.person(i).name.clone())
        };
        history.declined_series = self
            .store
            .rsvps()
            .await?
            .into_iter()
            .filter(|r| r.occurrence.is_empty() && r.partstat == "declined")
            .filter(|r| program.pair_by_id(&r.pair).is_some())
            .map(|r| format!("{}: {} declined the series", r.pair, name(&r.person)))
            .collect();
        history.bounces = self
            .store
            .bounces(now)
            .await?
            .into_iter()
            .filter(|b| program.has_address(&b.address))
            .map(|b| format!("{} ({}, {}×)", b.address, b.status, b.count))
            .collect();
        history.set_aside = self
            .store
            .set_aside(50)
            .await?
            .into_iter()
            .map(|s| format!("from {}: \"{}\" ({})", s.sender, s.subject, s.reason))
            .collect();
        // Mail from outside the pairs waits for the coordinator until they mark it handled.
        history
            .set_aside
            .extend(self.store.kept_mail(true, 50).await?.into_iter().map(|k| {
                format!(
                    "from {}: \"{}\" (kept for you: mentord inbox show {})",
                    k.sender, k.subject, k.id
                )
            }));
        let week = now
            .checked_sub(SignedDuration::from_hours(24 * 8))
            .unwrap_or(now);
        history.late_cancellations = self
            .store
            .cancellations()
            .await?
            .into_iter()
            .filter(|c| c.late && c.at >= week)
            .map(|c| format!("{}: {} can't make {}", c.pair, name(&c.person), c.date))
            .collect();
        history.exceptions = self.exceptions(now).await?;
        Ok(())
    }

    /// The pairs the digest lists: each pair's health now ([`crate::report`]); those
    /// that need the coordinator, less the ones snoozed (unless worse) or handled
    /// (unless their reasons changed), new ones first, then the worst. Remembers what
    /// it listed, so the next digest knows what is new.
    async fn exceptions(&self, now: Timestamp) -> anyhow::Result<Vec<crate::schedule::Exception>> {
        use crate::report::{self, Evidence, Level};
        let program = &self.program;
        let since = now.checked_sub(report::HEALTH_WINDOW).unwrap_or(now);
        let evidence = Evidence::read(&self.store, since, now, now).await?;
        let record = report::build(program, &evidence, since, now, now);
        let known: HashMap<String, crate::store::Flag> = self
            .store
            .flags()
            .await?
            .into_iter()
            .map(|f| (f.pair.clone(), f))
            .collect();
        let rank = |level: &str| match level {
            "at risk" => 2,
            "watch" => 1,
            _ => 0,
        };
        let mut flagged = Vec::new();
        let mut listed = Vec::new();
        for pair in record
            .pairs
            .iter()
            .filter(|p| p.health.level != Level::Good)
        {
            let level = pair.health.level.as_str();
            let reasons = pair.health.reasons.join("\n");
            flagged.push((pair.pair.clone(), level.to_string(), reasons.clone()));
            let flag = known.get(&pair.pair);
            let snoozed = flag.is_some_and(|f| {
                f.snoozed_until.is_some_and(|until| until > now)
                    && rank(level) <= rank(f.snoozed_level.as_deref().unwrap_or(""))
            });
            let handled = flag.is_some_and(|f| f.handled_reasons.as_deref() == Some(&reasons));
            if !snoozed && !handled {
                listed.push(crate::schedule::Exception {
                    pair: pair.pair.clone(),
                    level: level.to_string(),
                    reasons: pair.health.reasons.clone(),
                    new: flag.is_none(),
                });
            }
        }
        self.store.note_flags(now, &flagged).await?;
        listed.sort_by(|a, b| {
            b.new
                .cmp(&a.new)
                .then(rank(&b.level).cmp(&rank(&a.level)))
                .then(a.pair.cmp(&b.pair))
        });
        Ok(listed)
    }

    async fn refresh_unsubscribes(&mut self) -> anyhow::Result<()> {
        let count = self.store.unsubscribe_count().await?;
        if self.unsubscribes_seen != Some(count) {
            self.unsubscribed = self.store.unsubscribes().await?.into_iter().collect();
            self.unsubscribes_seen = Some(count);
        }
        Ok(())
    }

    /// Why a composed message is not sent: its recipient stopped its kind.
    pub(super) fn unsubscribed_from(&self, composed: &crate::compose::Composed) -> Option<String> {
        let key = &composed.message.key;
        self.unsubscribed
            .contains(&(key.recipient.clone(), key.kind))
            .then(|| format!("{} unsubscribed from {}s", key.recipient, key.kind.label()))
    }

    /// Puts cancellations read before a reload on the new program.
    pub(super) fn forget_cancellations(&mut self) {
        self.cancellations_seen = None;
    }

    /// A reply taken in to forward (app::forward decided it may go) goes to the other
    /// person of the pair, once: its key is made from the reply's Message-ID.
    async fn forward(
        &mut self,
        reply: &crate::store::PendingInbound,
        now: Timestamp,
    ) -> anyhow::Result<usize> {
        let program = &self.program;
        let (Some(pair_id), Some(person)) = (&reply.pair, &reply.person) else {
            return Ok(0);
        };
        let Some(index) = program.pairs.iter().position(|p| &p.id == pair_id) else {
            return Ok(0);
        };
        let pair = &program.pairs[index];
        let Some(from) = [pair.mentor, pair.mentee]
            .into_iter()
            .find(|&i| &program.person(i).id == person)
        else {
            return Ok(0);
        };
        let text = self
            .store
            .inbound_body(&reply.message_id)
            .await?
            .unwrap_or_default();
        let composer = self.composer()?;
        let message = match composer
            .forwarded(index, from, &reply.message_id, &reply.subject, &text, now)
            .and_then(|composed| new_message(&composed, now))
        {
            Ok(message) => message,
            Err(e) => {
                tracing::error!(pair = %pair_id, error = %format!("{e:#}"), "could not forward a reply");
                return Ok(0);
            }
        };
        let queued = self.store.enqueue_all(&[message], &[], now).await?;
        Ok(queued.into_iter().filter(|&q| q).count())
    }

    /// An agenda whose meeting's reminder is already queued or sent (or that has no
    /// reminder) goes to the mentor in a mail of its own, before the meeting: the latest
    /// text, at most one such mail per meeting an hour, none for a text the mentor has
    /// (docs/listening.md, "Passing an agenda on"). Replies and the agenda form both come here, so
    /// neither can flood the mentor.
    async fn pass_on_agenda(
        &mut self,
        reply: &crate::store::PendingInbound,
        now: Timestamp,
    ) -> anyhow::Result<PassOn> {
        let (Some(pair_id), Some(occurrence)) = (&reply.pair, &reply.occurrence) else {
            return Ok(PassOn::Nothing);
        };
        let Some(index) = self.program.pairs.iter().position(|p| &p.id == pair_id) else {
            return Ok(PassOn::Nothing);
        };
        let pair = &self.program.pairs[index];
        let Ok(start) = occurrence.parse::<Timestamp>() else {
            return Ok(PassOn::Nothing);
        };
        if start <= now || pair.is_cancelled(pair.meeting.zone.tz.to_datetime(start).date()) {
            return Ok(PassOn::Nothing);
        }
        let mentor = self.program.person(pair.mentor);
        let reminder = DeliveryKey {
            kind: MessageKind::MentorReminder,
            pair: Some(pair.id.clone()),
            occurrence: Some(occurrence.clone()),
            sequence: 0,
            recipient: mentor.id.clone(),
        };
        let has_reminder = pair.timing.reminder_before.is_some();
        if has_reminder && !self.store.is_queued(&reminder.to_string()).await? {
            // The reminder is still to come and will quote it.
            return Ok(PassOn::Nothing);
        }
        let agendas = self.store.agendas_for(pair_id, occurrence).await?;
        let Some((latest, earlier)) = agendas.split_last() else {
            return Ok(PassOn::Nothing);
        };
        if latest.message_id != reply.message_id {
            // A newer text came: only the latest goes on.
            return Ok(PassOn::Nothing);
        }
        let text = latest.body.clone();
        // What the mentor has: the last text passed on, or else the one before this
        // (the reminder quoted it).
        let had = earlier
            .iter()
            .rev()
            .find(|a| a.passed_on_at.is_some())
            .or(earlier.last());
        if had.is_some_and(|a| a.body.trim() == text.trim()) {
            return Ok(PassOn::Nothing);
        }
        if let Some(last) = earlier.iter().filter_map(|a| a.passed_on_at).max()
            && let Ok(next) = last.checked_add(PASS_ON_EVERY)
            && now < next
        {
            return Ok(PassOn::Wait(next.min(start)));
        }
        let composer = self.composer()?;
        // A mail that cannot be made (a template override that fails on this text) is
        // logged and left: the reply stays recorded, and the daemon goes on sending.
        let message = match composer
            .agenda(index, start, &reply.message_id, &text, now)
            .and_then(|composed| new_message(&composed, now))
        {
            Ok(message) => message,
            Err(e) => {
                tracing::error!(pair = %pair_id, error = %format!("{e:#}"), "could not pass an agenda on");
                return Ok(PassOn::Nothing);
            }
        };
        let queued = self.store.enqueue_all(&[message], &[], now).await?;
        self.store.mark_passed_on(&reply.message_id, now).await?;
        Ok(PassOn::Sent(queued.into_iter().filter(|&q| q).count()))
    }
}
