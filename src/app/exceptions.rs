//! The coordinator's answers to the digest (SPEC §7): **nudge the pair** sends both a
//! friendly check-in now (the daemon composes and queues it, once; at most one nudge a
//! pair a fortnight); **snooze 2 weeks** keeps a pair out of the digest until then
//! unless it gets worse; **handled** keeps it out until its reasons change. (**Review
//! held** is [`super::review::held`].) Called by the digest's signed links, and by the
//! coordinator's page's buttons, which first [`note`] the pair as the page shows it (a
//! pair at risk may be on the page before a digest lists it).

use jiff::{SignedDuration, Timestamp};

use crate::store::Store;

/// How long a snooze lasts.
pub const SNOOZE: SignedDuration = SignedDuration::from_hours(14 * 24);

/// What became of a coordinator's action on a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Recorded,
    /// The pair is not in the digest any more (well again, or the file changed).
    NotFlagged,
}

/// Flags `pair` with the health the coordinator sees (`level`, `reasons` in words) if
/// no digest flagged it yet, so a snooze or handled from the page holds as it does from
/// the digest; the next digest keeps what the coordinator said.
pub async fn note(
    store: &Store,
    pair: &str,
    level: &str,
    reasons: &[String],
    now: Timestamp,
) -> anyhow::Result<()> {
    store.note_flag(pair, level, &reasons.join("\n"), now).await
}

/// Snoozes `pair` for two weeks from `now`.
pub async fn snooze(store: &Store, pair: &str, now: Timestamp) -> anyhow::Result<Done> {
    let until = now.checked_add(SNOOZE)?;
    Ok(if store.snooze_flag(pair, until).await? {
        tracing::info!(%pair, %until, "the coordinator snoozed a pair");
        Done::Recorded
    } else {
        Done::NotFlagged
    })
}

/// Marks `pair`'s trouble as handled.
pub async fn handled(store: &Store, pair: &str) -> anyhow::Result<Done> {
    Ok(if store.handle_flag(pair).await? {
        tracing::info!(%pair, "the coordinator handled a pair");
        Done::Recorded
    } else {
        Done::NotFlagged
    })
}

/// Asks the daemon to send `pair` a check-in now, to both.
pub async fn nudge(store: &Store, pair: &str, now: Timestamp) -> anyhow::Result<Done> {
    Ok(if store.ask_nudge(pair, now).await? {
        tracing::info!(%pair, "the coordinator nudged a pair");
        Done::Recorded
    } else {
        Done::NotFlagged
    })
}
