//! A person stops an optional kind of mail (agenda prompts, mentor reminders,
//! follow-ups, review nudges, the digest): `List-Unsubscribe` by mail or the link.
//! Invites and cancellations always go.

use jiff::Timestamp;

use crate::store::Store;
use crate::vocab::MessageKind;

/// Stops `kind` for `person` (an id); false when it already was. A kind that cannot be
/// stopped is refused.
pub async fn unsubscribe(
    store: &Store,
    person: &str,
    kind: MessageKind,
    now: Timestamp,
) -> anyhow::Result<bool> {
    anyhow::ensure!(
        kind.is_optional(),
        "{}s cannot be stopped: invites and cancellations always go",
        kind.label()
    );
    let stopped = store.unsubscribe(person, kind, now).await?;
    if stopped {
        tracing::info!(%person, kind = kind.name(), "unsubscribed");
    }
    Ok(stopped)
}
