//! Mail handed off by `mentord deliver`, taken in: `deliver` stores the raw mail in the
//! store's queue and exits ([`hand_off`]); the daemon (or `mentord intake`, once) claims
//! what waits, oldest first, takes each in through [`super::take_in`] as mail from a
//! pipe, and writes down the verdict ([`take_waiting`]). One log line per mail, never
//! its text. A taker that dies midway loses nothing and takes nothing in twice: the
//! claims run out and the next taker finds the mails taken in already "taken in before"
//! (the inbound record is once per Message-ID).

use jiff::Timestamp;

use super::intake::{Source, Verdict, take_in};
use crate::program::Program;
use crate::store::{InboundKind, InboundRecord, MAX_KEPT_BYTES, QueuedMail, Store};

/// How many mails one claim takes.
pub const BATCH: i64 = 64;

/// Stores `raw` (at most `size` bytes as it came) for the daemon: whole up to 25 MB,
/// larger only its headers (it is set aside on them, as before). The Message-ID is the
/// one the intake will read.
pub async fn hand_off(
    store: &Store,
    raw: &[u8],
    size: usize,
    now: Timestamp,
) -> anyhow::Result<crate::store::HandedOff> {
    let message_id = crate::inbound::read::message_id_of(raw);
    let kept = if size <= MAX_KEPT_BYTES && raw.len() == size {
        raw
    } else {
        &raw[..crate::inbound::read::header_end(raw)]
    };
    store.hand_off(&message_id, size, kept, now).await
}

/// What became of one queued mail.
#[derive(Debug, Clone)]
pub struct Taken {
    pub id: i64,
    pub message_id: String,
    pub verdict: Verdict,
    /// When it was handed off.
    pub queued_at: Timestamp,
}

impl Taken {
    /// The verdict as a person reads it (no agenda text).
    pub fn said(&self) -> String {
        said(&self.verdict)
    }
}

/// A verdict as `deliver` used to print it and the log and `intake` now do.
pub fn said(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Used(InboundKind::Kept) => {
            "from outside the pairs: kept for the coordinator (mentord inbox)".into()
        }
        Verdict::Used(kind) => format!("taken in: {}", kind.name()),
        Verdict::Again(kind) => format!("taken in before: {}", kind.name()),
        Verdict::SetAside(why) => format!("set aside for the coordinator: {why}"),
    }
}

/// Claims up to `limit` waiting mails for `holder` and takes each in with `program`,
/// oldest first; the verdicts are written down (and logged) as each batch of them is
/// done. On a failure (the store could not record one now) what was taken in is kept,
/// the rest given back to wait, and the error returned.
pub async fn take_waiting(
    program: &Program,
    store: &Store,
    holder: &str,
    limit: i64,
) -> anyhow::Result<Vec<Taken>> {
    let now = crate::clock::now()?;
    let claimed = store.claim_queued(holder, limit, now).await?;
    let mut taken = Vec::with_capacity(claimed.len());
    let mut failed = None;
    for mail in claimed {
        match take_one(program, store, &mail).await {
            Ok(verdict) => taken.push(Taken {
                id: mail.id,
                message_id: mail.message_id,
                verdict,
                queued_at: mail.queued_at,
            }),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let marks: Vec<(i64, String)> = taken.iter().map(|t| (t.id, t.said())).collect();
    store
        .mark_queued_taken(&marks, crate::clock::now()?)
        .await?;
    for t in &taken {
        tracing::info!(
            message_id = %crate::inert::visible(&t.message_id),
            waited_ms = crate::clock::now()?.as_millisecond() - t.queued_at.as_millisecond(),
            "handed-off mail: {}",
            crate::inert::visible(&t.said())
        );
    }
    if let Some(e) = failed {
        store.release_queued(holder).await?;
        return Err(e);
    }
    Ok(taken)
}

/// Takes one queued mail in: through [`take_in`], or set aside on its headers when it
/// was larger than 25 MB.
async fn take_one(program: &Program, store: &Store, mail: &QueuedMail) -> anyhow::Result<Verdict> {
    let now = crate::clock::now()?;
    if usize::try_from(mail.size).unwrap_or(usize::MAX) == mail.raw.len() {
        return take_in(program, store, &mail.raw, Source::Pipe, now).await;
    }
    if let Some(kind) = store.inbound_kind(&mail.message_id).await? {
        return Ok(Verdict::Again(kind));
    }
    let incoming = crate::inbound::read::read(&mail.raw);
    let mut record = InboundRecord::received(
        mail.message_id.clone(),
        incoming.from.unwrap_or_default(),
        &incoming.subject,
    );
    let reason = format!(
        "larger than 25 MB ({} bytes): set aside, its headers kept",
        mail.size
    );
    record.note = Some(reason.clone());
    record.raw = Some(mail.raw.clone());
    store.record_inbound(&record, now).await?;
    tracing::warn!(message_id = %mail.message_id, size = mail.size, "mail set aside");
    Ok(Verdict::SetAside(reason))
}
