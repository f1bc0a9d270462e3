//! What mentord hears (docs/listening.md), by table: `inbound` (every mail taken in, once per
//! Message-ID, and what it meant), `rsvps`, `bounces`, `cancellations` (meetings someone
//! can't make), and for the IMAP watcher `imap_cursor` and `leases`; `secrets` holds the
//! key that signs reply tokens. Agenda and action-item text lives only in
//! `inbound.body`, read back only to compose the pair's own mail.

use std::collections::HashMap;

use jiff::Timestamp;
use sqlx::Row;

use super::{Store, instant, on, seconds};

/// What a mail meant, as the `inbound.kind` column names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundKind {
    Agenda,
    ActionItems,
    Rsvp,
    Bounce,
    AutoReply,
    /// A `mailto:` unsubscribe (`List-Unsubscribe`).
    Unsubscribe,
    /// A reply to a check-in (its answer is in `checkins`, never in `body`).
    Checkin,
    SetAside,
    /// A proven reply of a pair's person that is no agenda or action items: it goes on
    /// to the other person of the pair (SPEC §5 "No dead ends").
    Forwarded,
    /// From outside the pairs: kept whole for the coordinator (`kept_mail`).
    Kept,
}

impl InboundKind {
    pub const ALL: [InboundKind; 10] = [
        InboundKind::Agenda,
        InboundKind::ActionItems,
        InboundKind::Rsvp,
        InboundKind::Bounce,
        InboundKind::AutoReply,
        InboundKind::Unsubscribe,
        InboundKind::Checkin,
        InboundKind::SetAside,
        InboundKind::Forwarded,
        InboundKind::Kept,
    ];

    pub fn name(self) -> &'static str {
        match self {
            InboundKind::Agenda => "agenda",
            InboundKind::ActionItems => "action_items",
            InboundKind::Rsvp => "rsvp",
            InboundKind::Bounce => "bounce",
            InboundKind::AutoReply => "auto_reply",
            InboundKind::Unsubscribe => "unsubscribe",
            InboundKind::Checkin => "checkin",
            InboundKind::SetAside => "set_aside",
            InboundKind::Forwarded => "forwarded",
            InboundKind::Kept => "kept",
        }
    }

    pub fn parse(name: &str) -> Option<InboundKind> {
        InboundKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One mail taken in.
#[derive(Debug, Clone)]
pub struct InboundRecord {
    pub message_id: String,
    pub kind: InboundKind,
    pub pair: Option<String>,
    pub occurrence: Option<String>,
    pub person: Option<String>,
    pub sender: String,
    pub subject: String,
    pub note: Option<String>,
    /// The agenda or action items.
    pub body: Option<String>,
    pub raw: Option<Vec<u8>>,
    /// The daemon has mail to send for it (an agenda to pass on, a meeting to cancel).
    pub pending: bool,
}

impl InboundRecord {
    /// What came in, before it is known what it means (set aside until then): the one
    /// place an inbound record is made, whatever door it came in by.
    pub fn received(message_id: String, sender: String, subject: &str) -> InboundRecord {
        InboundRecord {
            message_id,
            kind: InboundKind::SetAside,
            pair: None,
            occurrence: None,
            person: None,
            sender,
            subject: subject.chars().take(300).collect(),
            note: None,
            body: None,
            raw: None,
            pending: false,
        }
    }
}

/// A soft bounce (a 4.x.x status) is forgotten after this long without another.
pub const SOFT_BOUNCE_LAPSES: jiff::SignedDuration = jiff::SignedDuration::from_hours(7 * 24);

/// A message mentord sent, as a reply finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub key: String,
    pub pair: Option<String>,
    /// The address it went to.
    pub recipient: String,
}

/// Mail set aside, for the coordinator: sender and subject only.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SetAside {
    pub received_at: String,
    pub sender: String,
    pub subject: String,
    pub reason: String,
}

/// An address whose mail bounced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Bounce {
    pub address: String,
    pub status: String,
    pub last_at: String,
    pub count: i64,
}

/// A reply the daemon still has to act on.
#[derive(Debug, Clone)]
pub struct PendingInbound {
    pub message_id: String,
    pub kind: InboundKind,
    pub pair: Option<String>,
    pub occurrence: Option<String>,
    pub person: Option<String>,
    pub subject: String,
}

/// An agenda received for a meeting, and when it went on to the mentor, if it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingAgenda {
    pub message_id: String,
    pub body: String,
    pub passed_on_at: Option<Timestamp>,
}

/// An answer to the series (`occurrence` empty) or one meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rsvp {
    pub pair: String,
    pub person: String,
    pub occurrence: String,
    pub partstat: String,
    pub at: Timestamp,
}

/// Replies the pair's mail quotes back: an agenda for a meeting, action items after one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub pair: String,
    pub occurrence: String,
    pub body: String,
    pub received_at: Timestamp,
}

impl Store {
    /// The store's own key named `name`, made (32 random bytes) on first use. Every
    /// daemon on a shared store reads the same one.
    pub async fn secret(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        if self.in_memory {
            // A simulation sends nothing: its tokens only need to look real.
            return Ok(format!("simulation key {name}").into_bytes());
        }
        let mut fresh = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut fresh)
            .map_err(|_| anyhow::anyhow!("the system gave no random bytes for a key"))?;
        on!(self, |pool| {
            sqlx::query(
                "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(fresh.to_vec())
            .execute(pool)
            .await?;
            let value: Vec<u8> = sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?;
            Ok(value)
        })
    }

    /// The message whose Reply-To carried `token`.
    pub async fn message_by_token(&self, token: &str) -> anyhow::Result<Option<SentMessage>> {
        let row: Option<(String, Option<String>, String)> = on!(self, |pool| sqlx::query_as(
            "SELECT key, pair, recipient FROM messages WHERE reply_token = $1 LIMIT 1"
        )
        .bind(token)
        .fetch_optional(pool)
        .await?);
        Ok(row.map(|(key, pair, recipient)| SentMessage {
            key,
            pair,
            recipient,
        }))
    }

    /// The first of `ids` (Message-IDs, newest first) that mentord sent.
    pub async fn message_by_id(&self, ids: &[String]) -> anyhow::Result<Option<SentMessage>> {
        for id in ids.iter().take(20) {
            let row: Option<(String, Option<String>, String)> = on!(self, |pool| sqlx::query_as(
                "SELECT key, pair, recipient FROM messages WHERE message_id = $1 LIMIT 1"
            )
            .bind(id)
            .fetch_optional(pool)
            .await?);
            if let Some((key, pair, recipient)) = row {
                return Ok(Some(SentMessage {
                    key,
                    pair,
                    recipient,
                }));
            }
        }
        Ok(None)
    }

    /// The pair whose series has this UID.
    pub async fn pair_by_uid(&self, uid: &str) -> anyhow::Result<Option<String>> {
        Ok(on!(self, |pool| sqlx::query_scalar(
            "SELECT pair FROM series WHERE uid = $1"
        )
        .bind(uid)
        .fetch_optional(pool)
        .await?))
    }

    /// What a mail already taken in meant, if it was.
    pub async fn inbound_kind(&self, message_id: &str) -> anyhow::Result<Option<InboundKind>> {
        let kind: Option<String> = on!(self, |pool| sqlx::query_scalar(
            "SELECT kind FROM inbound WHERE message_id = $1"
        )
        .bind(message_id)
        .fetch_optional(pool)
        .await?);
        Ok(kind.as_deref().and_then(InboundKind::parse))
    }

    /// Records a mail taken in; false when one with its Message-ID already was. Text is
    /// stored without NUL and other control characters (PostgreSQL refuses NUL in text:
    /// one such subject would otherwise stop every mail behind it).
    pub async fn record_inbound(
        &self,
        record: &InboundRecord,
        now: Timestamp,
    ) -> anyhow::Result<bool> {
        let clean = |text: &str| -> String {
            text.chars()
                .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
                .collect()
        };
        let mut cleaned = record.clone();
        cleaned.message_id = clean(&record.message_id);
        cleaned.sender = clean(&record.sender);
        cleaned.subject = clean(&record.subject);
        cleaned.note = record.note.as_deref().map(clean);
        cleaned.body = record.body.as_deref().map(clean);
        let record = &cleaned;
        let inserted = on!(self, |pool| {
            sqlx::query(
            "INSERT INTO inbound (message_id, received_at, kind, pair, occurrence, person, sender, \
             subject, note, body, raw, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (message_id) DO NOTHING"
        )
        .bind(&record.message_id)
        .bind(seconds(now))
        .bind(record.kind.name())
        .bind(&record.pair)
        .bind(&record.occurrence)
        .bind(&record.person)
        .bind(&record.sender)
        .bind(&record.subject)
        .bind(&record.note)
        .bind(&record.body)
        .bind(&record.raw)
        .bind(if record.pending { "pending" } else { "done" })
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(inserted == 1)
    }

    pub async fn record_rsvp(&self, rsvp: &Rsvp) -> anyhow::Result<()> {
        on!(self, |pool| {
            sqlx::query(
            "INSERT INTO rsvps (pair, person, occurrence, partstat, answered_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (pair, person, occurrence) DO UPDATE SET partstat = excluded.partstat, \
             answered_at = excluded.answered_at"
        )
        .bind(&rsvp.pair)
        .bind(&rsvp.person)
        .bind(&rsvp.occurrence)
        .bind(&rsvp.partstat)
        .bind(seconds(rsvp.at))
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    pub async fn record_bounce(
        &self,
        address: &str,
        status: &str,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        let status: String = status.chars().filter(|c| !c.is_control()).collect();
        on!(self, |pool| {
            sqlx::query(
            "INSERT INTO bounces (address, status, first_at, last_at, count) VALUES ($1, $2, $3, $3, 1) \
             ON CONFLICT (address) DO UPDATE SET status = excluded.status, last_at = excluded.last_at, \
             count = bounces.count + 1"
        )
        .bind(address.to_ascii_lowercase())
        .bind(&status)
        .bind(seconds(now))
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// Replies the daemon has to act on, oldest first.
    pub async fn pending_inbound(&self) -> anyhow::Result<Vec<PendingInbound>> {
        let rows = on!(self, |pool| {
            sqlx::query(
            "SELECT message_id, kind, pair, occurrence, person, subject FROM inbound WHERE state = 'pending' \
             ORDER BY received_at LIMIT 500"
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|row| PendingInbound {
            message_id: row.get("message_id"),
            kind: InboundKind::parse(row.get::<String, _>("kind").as_str())
                .unwrap_or(InboundKind::SetAside),
            pair: row.get("pair"),
            occurrence: row.get("occurrence"),
            person: row.get("person"),
            subject: row.get("subject"),
        })
        .collect::<Vec<_>>()
        });
        Ok(rows)
    }

    pub async fn has_pending_inbound(&self) -> anyhow::Result<bool> {
        let found: Option<i64> = on!(self, |pool| sqlx::query_scalar(
            "SELECT CAST(1 AS BIGINT) FROM inbound WHERE state = 'pending' LIMIT 1"
        )
        .fetch_optional(pool)
        .await?);
        Ok(found.is_some())
    }

    /// Whether the store answers (for readiness).
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.verify()?;
        let _: i64 = on!(self, |pool| sqlx::query_scalar("SELECT CAST(1 AS BIGINT)")
            .fetch_one(pool)
            .await?);
        Ok(())
    }

    /// Whether the message with this key was ever queued (whatever became of it: sent,
    /// failed, or dropped because its recipient stopped that kind).
    pub async fn is_queued(&self, key: &str) -> anyhow::Result<bool> {
        let found: Option<i64> = on!(self, |pool| sqlx::query_scalar(
            "SELECT CAST(1 AS BIGINT) FROM messages WHERE key = $1"
        )
        .bind(key)
        .fetch_optional(pool)
        .await?);
        Ok(found.is_some())
    }

    pub async fn finish_inbound(&self, message_id: &str) -> anyhow::Result<()> {
        on!(self, |pool| sqlx::query(
            "UPDATE inbound SET state = 'done' WHERE message_id = $1"
        )
        .bind(message_id)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// How many replies of `person` in `pair` were taken in to forward since `since`:
    /// what bounds how often one person can make mentord forward.
    pub async fn forwards_since(
        &self,
        pair: &str,
        person: &str,
        since: Timestamp,
    ) -> anyhow::Result<i64> {
        Ok(on!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM inbound WHERE pair = $1 AND kind = 'forwarded' \
             AND person = $2 AND received_at >= $3"
        )
        .bind(pair)
        .bind(person)
        .bind(seconds(since))
        .fetch_one(pool)
        .await?))
    }

    /// The text a mail taken in brought (an agenda, action items, a reply to forward):
    /// for the pair's own mail only.
    pub async fn inbound_body(&self, message_id: &str) -> anyhow::Result<Option<String>> {
        let body: Option<Option<String>> = on!(self, |pool| sqlx::query_scalar(
            "SELECT body FROM inbound WHERE message_id = $1"
        )
        .bind(message_id)
        .fetch_optional(pool)
        .await?);
        Ok(body.flatten())
    }

    /// The agendas received for one meeting, oldest first: what passing one on is
    /// decided by (docs/listening.md, "Passing an agenda on").
    pub async fn agendas_for(
        &self,
        pair: &str,
        occurrence: &str,
    ) -> anyhow::Result<Vec<MeetingAgenda>> {
        let rows: Vec<(String, Option<String>, Option<i64>)> = on!(self, |pool| sqlx::query_as(
            "SELECT message_id, body, passed_on_at FROM inbound \
             WHERE pair = $1 AND kind = 'agenda' AND occurrence = $2 \
             ORDER BY received_at, message_id LIMIT 1000"
        )
        .bind(pair)
        .bind(occurrence)
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(message_id, body, passed_on_at)| MeetingAgenda {
                message_id,
                body: body.unwrap_or_default(),
                passed_on_at: passed_on_at.map(instant),
            })
            .collect())
    }

    /// Records that the agenda `message_id` brought went on to the mentor at `at`.
    pub async fn mark_passed_on(&self, message_id: &str, at: Timestamp) -> anyhow::Result<()> {
        on!(self, |pool| sqlx::query(
            "UPDATE inbound SET passed_on_at = $2, state = 'done' WHERE message_id = $1"
        )
        .bind(message_id)
        .bind(seconds(at))
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Agendas or action items received since `since`, oldest first.
    pub async fn replies(&self, kind: InboundKind, since: Timestamp) -> anyhow::Result<Vec<Reply>> {
        let rows: Vec<(String, String, String, i64)> = on!(self, |pool| sqlx::query_as(
            "SELECT pair, occurrence, body, received_at FROM inbound \
             WHERE kind = $1 AND received_at >= $2 AND pair IS NOT NULL AND occurrence IS NOT NULL \
             AND body IS NOT NULL ORDER BY received_at"
        )
        .bind(kind.name())
        .bind(seconds(since))
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(pair, occurrence, body, at)| Reply {
                pair,
                occurrence,
                body,
                received_at: instant(at),
            })
            .collect())
    }

    /// The (pair, occurrence) of every agenda received since `since`: whether one is in,
    /// never what it says.
    pub async fn agendas_in(&self, since: Timestamp) -> anyhow::Result<Vec<(String, String)>> {
        Ok(on!(self, |pool| {
            sqlx::query_as(
            "SELECT DISTINCT pair, occurrence FROM inbound WHERE kind = 'agenda' AND received_at >= $1 \
             AND pair IS NOT NULL AND occurrence IS NOT NULL"
        )
        .bind(seconds(since))
        .fetch_all(pool)
        .await?
        }))
    }

    pub async fn rsvps(&self) -> anyhow::Result<Vec<Rsvp>> {
        let rows: Vec<(String, String, String, String, i64)> = on!(self, |pool| {
            sqlx::query_as(
            "SELECT pair, person, occurrence, partstat, answered_at FROM rsvps ORDER BY pair, person, occurrence"
        )
        .fetch_all(pool)
        .await?
        });
        Ok(rows
            .into_iter()
            .map(|(pair, person, occurrence, partstat, at)| Rsvp {
                pair,
                person,
                occurrence,
                partstat,
                at: instant(at),
            })
            .collect())
    }

    /// Addresses bouncing as of `now`: a hard bounce (5.x.x) stays; a soft one (4.x.x)
    /// lapses after [`SOFT_BOUNCE_LAPSES`] without another.
    pub async fn bounces(&self, now: Timestamp) -> anyhow::Result<Vec<Bounce>> {
        let lapsed = now.checked_sub(SOFT_BOUNCE_LAPSES).unwrap_or(now);
        let rows: Vec<(String, String, i64, i64)> = on!(self, |pool| {
            sqlx::query_as(
                "SELECT address, status, last_at, count FROM bounces \
             WHERE status NOT LIKE '4%' OR last_at >= $1 \
             ORDER BY last_at DESC, address LIMIT 1000",
            )
            .bind(seconds(lapsed))
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(address, status, last_at, count)| Bounce {
                address,
                status,
                last_at: instant(last_at).to_string(),
                count,
            })
            .collect())
    }

    /// Mail set aside, newest first (at most `limit`).
    pub async fn set_aside(&self, limit: i64) -> anyhow::Result<Vec<SetAside>> {
        let rows: Vec<(i64, String, String, Option<String>)> = on!(self, |pool| sqlx::query_as(
            "SELECT received_at, sender, subject, note FROM inbound WHERE kind = 'set_aside' \
             ORDER BY received_at DESC LIMIT $1"
        )
        .bind(limit)
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(at, sender, subject, note)| SetAside {
                received_at: instant(at).to_string(),
                sender,
                subject,
                reason: note.unwrap_or_default(),
            })
            .collect())
    }

    /// Mail taken in, by kind (for `status`).
    pub async fn inbound_counts(&self) -> anyhow::Result<HashMap<String, i64>> {
        let rows: Vec<(String, i64)> = on!(self, |pool| sqlx::query_as(
            "SELECT kind, COUNT(*) FROM inbound GROUP BY kind"
        )
        .fetch_all(pool)
        .await?);
        Ok(rows.into_iter().collect())
    }

    /// The IMAP watcher's place in `folder`: (UIDVALIDITY, last UID).
    pub async fn imap_cursor(&self, folder: &str) -> anyhow::Result<Option<(u32, u32)>> {
        let row: Option<(i64, i64)> = on!(self, |pool| sqlx::query_as(
            "SELECT uid_validity, last_uid FROM imap_cursor WHERE folder = $1"
        )
        .bind(folder)
        .fetch_optional(pool)
        .await?);
        Ok(row.map(|(v, u)| (v as u32, u as u32)))
    }

    pub async fn save_imap_cursor(
        &self,
        folder: &str,
        uid_validity: u32,
        last_uid: u32,
    ) -> anyhow::Result<()> {
        on!(self, |pool| {
            sqlx::query(
            "INSERT INTO imap_cursor (folder, uid_validity, last_uid) VALUES ($1, $2, $3) \
             ON CONFLICT (folder) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid"
        )
        .bind(folder)
        .bind(i64::from(uid_validity))
        .bind(i64::from(last_uid))
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// Takes or renews the lease `name` for `holder` for `seconds`, judged on the
    /// database's clock; false while another holder's lease runs.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        for_seconds: i64,
    ) -> anyhow::Result<bool> {
        let taken = on!(self, |pool, backend| sqlx::query(backend.sql().try_lease)
            .bind(name)
            .bind(holder)
            .bind(for_seconds)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(taken == 1)
    }
}
