//! One mail in: what it answers, whether its sender may answer it, what it means, and
//! the store's record of it, once per Message-ID. `mentord deliver` and the IMAP watcher
//! both call [`take_in`]; everything before the store is [`super::read`]'s pure reading.
//!
//! The rules (docs/listening.md): a mail answers the message named by the token in the address it
//! was sent to, else by its `In-Reply-To`/`References`, else (a calendar reply) by the
//! invite's UID; its sender must be the pair's mentor or mentee. A reply to an agenda
//! prompt is the agenda for that meeting, a reply to a follow-up the action items, a
//! reply to a check-in its answer (`super::checkin`: for the coordinator alone, never
//! forwarded); a calendar reply records each answer, and a declined meeting is
//! cancelled; any other proven reply goes on to the other person ([`super::forward`]).
//! Mail from outside the pairs is kept whole for the coordinator (`kept_mail`, `mentord
//! inbox`). Reports and
//! automatic replies are recorded; anything else is set aside with the reason.

use jiff::Timestamp;

use super::meeting::{self, Cancel};
use super::replies::Reply;
use crate::inbound::itip::{Answer, PartStat, RecurrenceId};
use crate::inbound::read::{Incoming, read};
use crate::inbound::{dsn, vouch};
use crate::program::{Pair, Program};
use crate::store::{InboundKind, InboundRecord, Rsvp, Store};
use crate::vocab::token;
use crate::vocab::{DeliveryKey, MessageKind};

/// The most meetings one calendar reply may cancel: a client declines one meeting (some
/// send the series beside it); a reply declining many is set aside for a person.
const MAX_DECLINED: usize = 2;

/// Set-aside mail from `deliver`, and mail from outside the pairs, is kept whole up to
/// this size (docs/listening.md: 25 MB); larger, set aside with its headers.
const MAX_KEPT: usize = crate::store::MAX_KEPT_BYTES;

/// What became of a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Used (or recorded: a report, an automatic reply).
    Used(InboundKind),
    /// Kept for the coordinator; why.
    SetAside(String),
    /// Taken in before (the same Message-ID): what it was then.
    Again(InboundKind),
}

impl Verdict {
    /// Whether the mail stays for a person to look at (unread in IMAP).
    pub fn is_set_aside(&self) -> bool {
        matches!(
            self,
            Verdict::SetAside(_)
                | Verdict::Again(InboundKind::SetAside | InboundKind::Kept)
                | Verdict::Used(InboundKind::Kept)
        )
    }

    /// The kind recorded, for metrics.
    pub fn kind(&self) -> InboundKind {
        match self {
            Verdict::Used(kind) | Verdict::Again(kind) => *kind,
            Verdict::SetAside(_) => InboundKind::SetAside,
        }
    }
}

/// Where the mail came from: set-aside mail from a pipe is kept in the store, from IMAP
/// it stays in the mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Pipe,
    Imap,
}

/// Takes in one mail. An error means the store could not record it now: the caller
/// keeps the mail and tries again (exit 75 for a mail server's pipe).
pub async fn take_in(
    program: &Program,
    store: &Store,
    raw: &[u8],
    source: Source,
    now: Timestamp,
) -> anyhow::Result<Verdict> {
    let incoming = read(raw);
    if let Some(kind) = store.inbound_kind(&incoming.message_id).await? {
        return Ok(Verdict::Again(kind));
    }
    let meaning = understand(program, store, &incoming, raw, now).await?;
    let mut record = InboundRecord::received(
        incoming.message_id.clone(),
        incoming.from.clone().unwrap_or_default(),
        &incoming.subject,
    );
    let verdict = match meaning {
        Meaning::SetAside(reason) => {
            tracing::warn!(message_id = %incoming.message_id, from = %record.sender, %reason, "mail set aside");
            record.note = Some(reason.clone());
            if source == Source::Pipe {
                record.raw = Some(if raw.len() <= MAX_KEPT {
                    raw.to_vec()
                } else {
                    raw[..crate::inbound::read::header_end(raw)].to_vec()
                });
            }
            Verdict::SetAside(reason)
        }
        Meaning::Keep if raw.len() > MAX_KEPT => {
            let reason = format!(
                "from outside the pairs and larger than 25 MB ({} bytes): set aside, its \
                 headers kept",
                raw.len()
            );
            tracing::warn!(message_id = %incoming.message_id, from = %record.sender, size = raw.len(), "mail from outside the pairs too large to keep");
            record.note = Some(reason.clone());
            if source == Source::Pipe {
                record.raw = Some(raw[..crate::inbound::read::header_end(raw)].to_vec());
            }
            Verdict::SetAside(reason)
        }
        Meaning::Keep => {
            record.kind = InboundKind::Kept;
            record.note = Some("from outside the pairs: kept for the coordinator".into());
            store
                .keep_mail(
                    &incoming.message_id,
                    &record.sender,
                    &incoming.subject,
                    raw,
                    now,
                )
                .await?;
            tracing::info!(message_id = %incoming.message_id, from = %record.sender, "mail from outside the pairs kept for the coordinator");
            Verdict::Used(InboundKind::Kept)
        }
        Meaning::Forward(forward) => {
            forward.fill(&mut record);
            Verdict::Used(InboundKind::Forwarded)
        }
        Meaning::Unsubscribe { person, kind } => {
            record.kind = InboundKind::Unsubscribe;
            record.person = Some(person.clone());
            record.note = Some(kind.name().to_string());
            super::unsubscribe::unsubscribe(store, &person, kind, now).await?;
            Verdict::Used(InboundKind::Unsubscribe)
        }
        Meaning::Automatic(why) => {
            record.kind = InboundKind::AutoReply;
            record.note = Some(why);
            Verdict::Used(InboundKind::AutoReply)
        }
        Meaning::Bounce(failed) => {
            record.kind = InboundKind::Bounce;
            for f in &failed {
                store.record_bounce(&f.address, &f.status, now).await?;
            }
            record.note = Some(if failed.is_empty() {
                "a delivery report with no failed recipient".into()
            } else {
                failed
                    .iter()
                    .map(|f| f.address.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            Verdict::Used(InboundKind::Bounce)
        }
        Meaning::Checkin {
            pair,
            person,
            on,
            score,
            comment,
        } => {
            record.kind = InboundKind::Checkin;
            record.person = Some(program.person(person).id.clone());
            record.occurrence = Some(on.to_string());
            let via = crate::store::CheckinVia::Reply;
            let comment = comment.as_deref();
            if let Some(pair) = program.pair_by_id(&pair) {
                super::checkin::answer(store, program, pair, person, on, score, comment, via, now)
                    .await?;
            }
            record.pair = Some(pair);
            Verdict::Used(InboundKind::Checkin)
        }
        Meaning::Reply(reply) => {
            let kind = reply.kind;
            // An agenda may have to be passed on by the daemon (see `daemon::planner::inbound`).
            reply.fill(&mut record);
            Verdict::Used(kind)
        }
        Meaning::Rsvp {
            pair,
            person,
            rsvps,
            declined,
        } => {
            record.kind = InboundKind::Rsvp;
            record.pair = Some(pair.clone());
            record.person = Some(person.clone());
            record.note = Some(
                rsvps
                    .iter()
                    .map(|r| {
                        if r.occurrence.is_empty() {
                            format!("{} the series", r.partstat)
                        } else {
                            format!("{} {}", r.partstat, r.occurrence)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            for rsvp in &rsvps {
                store.record_rsvp(rsvp).await?;
            }
            if let Some(pair) = program.pair_by_id(&pair) {
                for start in declined {
                    let cancelled = meeting::cancel(store, program, pair, start, &person, now);
                    if matches!(cancelled.await?, Cancel::Cancelled { .. }) {
                        record.pending = true;
                    }
                }
            }
            Verdict::Used(InboundKind::Rsvp)
        }
    };
    if !store.record_inbound(&record, now).await? {
        // Taken in meanwhile by another daemon (the same mail twice at once).
        if let Some(kind) = store.inbound_kind(&incoming.message_id).await? {
            return Ok(Verdict::Again(kind));
        }
    }
    if !verdict.is_set_aside() {
        tracing::info!(message_id = %incoming.message_id, kind = record.kind.name(), pair = record.pair.as_deref().unwrap_or("-"), "mail taken in");
    }
    Ok(verdict)
}

/// What a mail means, before anything is recorded.
#[derive(Debug)]
enum Meaning {
    SetAside(String),
    /// From outside the pairs: kept whole for the coordinator.
    Keep,
    /// A proven reply that is no agenda or action items: on to the other person.
    Forward(super::forward::Forward),
    Automatic(String),
    Unsubscribe {
        person: String,
        kind: MessageKind,
    },
    Bounce(Vec<dsn::Failed>),
    Reply(Reply),
    /// An answer to the check-in of `on` (score and comment never leave for the pair).
    Checkin {
        pair: String,
        person: usize,
        on: jiff::civil::Date,
        score: Option<u8>,
        comment: Option<String>,
    },
    Rsvp {
        pair: String,
        person: String,
        rsvps: Vec<Rsvp>,
        /// The starts of the meetings it declines that are still ahead.
        declined: Vec<Timestamp>,
    },
}

async fn understand(
    program: &Program,
    store: &Store,
    incoming: &Incoming,
    raw: &[u8],
    now: Timestamp,
) -> anyhow::Result<Meaning> {
    if let Some(problem) = &incoming.problem {
        return Ok(Meaning::SetAside(problem.clone()));
    }
    if let Some(failed) = &incoming.bounced {
        return bounce(program, store, incoming, raw, failed).await;
    }
    if let Some(why) = &incoming.automatic {
        return Ok(Meaning::Automatic(why.clone()));
    }
    if let Some(meaning) = unsubscribe(program, incoming, now)? {
        return Ok(meaning);
    }
    let sender = incoming.from.clone().unwrap_or_default();
    if !program.in_a_pair(&sender) {
        return Ok(Meaning::Keep);
    }
    // Which message it answers, and so which pair; and what proves who sent it.
    let pattern = program.reply_to.as_deref();
    let token = pattern.and_then(|p| incoming.recipients.iter().find_map(|a| token::find(p, a)));
    let (answered, given_to) = match &token {
        Some(token) => match store.message_by_token(token).await? {
            Some(found) => {
                let given_to = found.recipient.clone();
                (Some(found), Some(given_to))
            }
            None => {
                return Ok(Meaning::SetAside(
                    "its reply address holds a token mentord never gave out (altered or forged)"
                        .into(),
                ));
            }
        },
        None => (store.message_by_id(&incoming.answers).await?, None),
    };
    let key = answered
        .as_ref()
        .and_then(|found| found.key.parse::<DeliveryKey>().ok());
    let pair_id = match (&answered, incoming.calendar.first()) {
        (Some(found), _) => found.pair.clone(),
        (None, Some(answer)) => store.pair_by_uid(&answer.uid).await?,
        (None, None) => None,
    };
    let Some(pair_id) = pair_id else {
        return Ok(Meaning::SetAside(
            "it answers no mail of a pair that mentord sent".into(),
        ));
    };
    let Some(pair) = program.pair_by_id(&pair_id) else {
        return Ok(Meaning::SetAside(format!(
            "it answers mail of pair {pair_id}, which is no longer in the program"
        )));
    };
    let Some(person) = person_of(program, pair, &sender) else {
        return Ok(Meaning::SetAside(format!(
            "its sender {sender} is neither the mentor nor the mentee of {pair_id}"
        )));
    };
    if let Some(why) = unproven(program, raw, &sender, given_to.as_deref()) {
        return Ok(Meaning::SetAside(why));
    }
    if !incoming.calendar.is_empty() {
        return Ok(rsvp(program, pair, person, &incoming.calendar, now));
    }
    let Some(key) = key else {
        return Ok(Meaning::SetAside(
            "it answers no mail that mentord reads replies to".into(),
        ));
    };
    let kind = match key.kind {
        MessageKind::AgendaPrompt => InboundKind::Agenda,
        MessageKind::Followup => InboundKind::ActionItems,
        MessageKind::Checkin => return Ok(checkin(pair, person, key, incoming)),
        other => {
            let Some(text) = incoming.text.clone() else {
                return Ok(Meaning::SetAside(format!(
                    "a reply to a {} with no new text in it",
                    other.label()
                )));
            };
            let decided = super::forward::decide(program, store, pair, person, text, now);
            return Ok(match decided.await? {
                Ok(forward) => Meaning::Forward(forward),
                Err(why) => Meaning::SetAside(why),
            });
        }
    };
    let Some(meeting) = key.occurrence.and_then(|o| o.parse::<Timestamp>().ok()) else {
        return Ok(Meaning::SetAside("it answers mail about no meeting".into()));
    };
    let Some(text) = incoming.text.clone() else {
        return Ok(Meaning::SetAside(
            "no new text in it (only quoted mail, or nothing mentord can read)".into(),
        ));
    };
    Ok(Meaning::Reply(Reply {
        kind,
        pair: pair.id.clone(),
        meeting,
        person: program.person(person).id.clone(),
        text,
    }))
}

/// A reply to a check-in: its new text read for a score and a comment (see
/// `super::checkin`), credited to the person who proved they sent it.
fn checkin(pair: &Pair, person: usize, key: DeliveryKey, incoming: &Incoming) -> Meaning {
    let Some(on) = key
        .occurrence
        .and_then(|o| o.parse::<jiff::civil::Date>().ok())
    else {
        return Meaning::SetAside("it answers a check-in of no date".into());
    };
    let Some(text) = incoming.text.as_deref() else {
        return Meaning::SetAside(
            "no new text in it (only quoted mail, or nothing mentord can read)".into(),
        );
    };
    let (score, comment) = super::checkin::read_reply(text);
    if score.is_none() && comment.is_none() {
        return Meaning::SetAside("an empty answer to a check-in".into());
    }
    Meaning::Checkin {
        pair: pair.id.clone(),
        person,
        on,
        score,
        comment,
    }
}

/// A delivery report marks an address as bouncing only when it names a message mentord
/// sent to that address (docs/listening.md): its Message-ID among the returned headers, or the
/// token of the address the report came to. Anyone can write a report about anyone.
async fn bounce(
    program: &Program,
    store: &Store,
    incoming: &Incoming,
    raw: &[u8],
    failed: &[dsn::Failed],
) -> anyhow::Result<Meaning> {
    let mut sent_to: Vec<String> = Vec::new();
    for id in dsn::returned_message_ids(raw, crate::inbound::read::header_end(raw)) {
        if let Some(found) = store.message_by_id(std::slice::from_ref(&id)).await? {
            sent_to.push(found.recipient);
        }
    }
    if let Some(pattern) = program.reply_to.as_deref() {
        for token in incoming
            .recipients
            .iter()
            .filter_map(|a| token::find(pattern, a))
            .take(4)
        {
            if let Some(found) = store.message_by_token(&token).await? {
                sent_to.push(found.recipient);
            }
        }
    }
    // Only the program's own addresses, and only about mail mentord sent them.
    let (ours, unproven): (Vec<_>, Vec<_>) = failed
        .iter()
        .filter(|f| program.has_address(&f.address))
        .cloned()
        .partition(|f| sent_to.iter().any(|a| a.eq_ignore_ascii_case(&f.address)));
    if ours.is_empty()
        && let Some(first) = unproven.first()
    {
        return Ok(Meaning::SetAside(format!(
            "a delivery report about {}, but it names no message mentord sent there \
             (no returned Message-ID of ours): anyone can write one",
            first.address
        )));
    }
    Ok(Meaning::Bounce(ours))
}

/// A `mailto:` unsubscribe from `List-Unsubscribe`: the subject `unsubscribe TOKEN`, the
/// token signed for the sender. `None` for any other mail.
fn unsubscribe(
    program: &Program,
    incoming: &Incoming,
    now: Timestamp,
) -> anyhow::Result<Option<Meaning>> {
    let subject = incoming.subject.trim();
    let Some(token) = subject
        .get(..12)
        .filter(|head| head.eq_ignore_ascii_case("unsubscribe "))
        .map(|_| subject[12..].trim())
    else {
        return Ok(None);
    };
    // Without the key here (a `deliver` run without the daemon's environment), the
    // mail waits for a person rather than at the mail server forever.
    let signer = match program.link_signer() {
        Ok(Some(signer)) => signer,
        Ok(None) => {
            return Ok(Some(Meaning::SetAside(
                "an unsubscribe request, but this program signs no links ([http] public_url)"
                    .into(),
            )));
        }
        Err(e) => {
            return Ok(Some(Meaning::SetAside(format!(
                "an unsubscribe request that could not be checked: {e:#}"
            ))));
        }
    };
    let refused = |why: &str| {
        Ok(Some(Meaning::SetAside(format!(
            "an unsubscribe request {why}"
        ))))
    };
    let Ok(claim) = signer.verify(token, now) else {
        return refused("with a token that is not valid (altered, forged or expired)");
    };
    let crate::vocab::links::Action::Unsubscribe(kind) = claim.action else {
        return refused("with a token for something else");
    };
    let sender = incoming.from.as_deref().unwrap_or_default();
    let own = program
        .person_by_id(&claim.person)
        .is_some_and(|p| program.person(p).email.eq_ignore_ascii_case(sender));
    if !own {
        return refused("from someone else than the person it is for");
    }
    Ok(Some(Meaning::Unsubscribe {
        person: claim.person,
        kind,
    }))
}

/// Why a mail from `sender` proves nothing (docs/security.md), or `None` when it
/// does: it came to an address carrying a token given to `sender` alone (`given_to`, the
/// address that copy went to), or the receiving server named by `[inbound] authserv_id`
/// vouches for the `From:` domain. A `From:` header alone anyone can write.
fn unproven(program: &Program, raw: &[u8], sender: &str, given_to: Option<&str>) -> Option<String> {
    match given_to {
        Some(owner) if owner.eq_ignore_ascii_case(sender) => return None,
        Some(owner) => {
            return Some(format!(
                "it came to the reply address given to {owner}, but from {sender}: a \
                 forwarded mail speaks for nobody"
            ));
        }
        None => {}
    }
    let domain = sender.rsplit_once('@').map_or("", |(_, d)| d);
    match &program.authserv_id {
        Some(id) if vouch::dmarc_pass(raw, id, domain) => None,
        Some(id) => Some(format!(
            "nothing proves it comes from {sender}: it was not sent to a reply address \
             mentord gave out, and {id} vouches for no DMARC pass of {domain}"
        )),
        None => Some(format!(
            "nothing proves it comes from {sender}: it was not sent to a reply address \
             mentord gave out ([mail] reply_to), and no receiving server is trusted to vouch \
             for senders ([inbound] authserv_id)"
        )),
    }
}

/// The mentor or mentee with this address (addresses compare without case).
fn person_of(program: &Program, pair: &Pair, address: &str) -> Option<usize> {
    [pair.mentor, pair.mentee]
        .into_iter()
        .find(|&i| program.person(i).email.eq_ignore_ascii_case(address))
}

/// The answers of a calendar reply, and the meetings it declines that are still ahead.
fn rsvp(
    program: &Program,
    pair: &Pair,
    sender: usize,
    answers: &[Answer],
    now: Timestamp,
) -> Meaning {
    let mut rsvps = Vec::new();
    let mut declined = Vec::new();
    for answer in answers {
        // The sender answers for themselves only: an ATTENDEE naming the other person of
        // the pair (or another address of the sender's) is credited to the sender.
        let person = sender;
        let person_id = program.person(person).id.clone();
        let meeting = match answer.recurrence {
            None => None,
            Some(id) => match meeting_of(program, pair, id) {
                Some(meeting) => Some(meeting),
                // Not a meeting of this series (moved, or a client's own date): kept as
                // an answer to nothing.
                None => continue,
            },
        };
        let occurrence = meeting.map_or(String::new(), |(_, start)| start.to_string());
        rsvps.push(Rsvp {
            pair: pair.id.clone(),
            person: person_id.clone(),
            occurrence: occurrence.clone(),
            partstat: answer.partstat.as_str().to_string(),
            at: now,
        });
        if let (PartStat::Declined, Some((_, start))) = (answer.partstat, meeting)
            && start > now
        {
            declined.push(start);
        }
    }
    if declined.len() > MAX_DECLINED {
        return Meaning::SetAside(format!(
            "it declines {} meetings at once; a calendar declines one meeting, or the series",
            declined.len()
        ));
    }
    Meaning::Rsvp {
        pair: pair.id.clone(),
        person: program.person(sender).id.clone(),
        rsvps,
        declined,
    }
}

/// The meeting of `pair` a `RECURRENCE-ID` names: its date and start.
fn meeting_of(
    program: &Program,
    pair: &Pair,
    id: RecurrenceId,
) -> Option<(jiff::civil::Date, Timestamp)> {
    let zone = &pair.meeting.zone.tz;
    let date = match id {
        RecurrenceId::Utc(instant) => instant.to_zoned_datetime(zone.clone()).date(),
        RecurrenceId::Local(datetime) => datetime.date(),
        RecurrenceId::Date(date) => date,
    };
    crate::schedule::meeting_on(program, pair, date).map(|start| (date, start))
}
