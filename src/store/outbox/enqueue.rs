//! Queueing: messages written to the outbox with their whole bodies (and the series
//! they belong to) in one transaction, and the bodies this process keeps until it
//! claims them ([`Recent`]).

use std::collections::HashMap;

use jiff::Timestamp;

use super::MessageState;
use crate::reconcile::Sent;
use crate::store::{Backend, Store, on_writer, seconds, series};
use crate::vocab::MessageKind;

/// A message to put in the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// A [`crate::vocab::DeliveryKey`], as written.
    pub key: String,
    pub message_id: String,
    pub kind: MessageKind,
    pub pair: Option<String>,
    pub recipient: String,
    pub due_at: Timestamp,
    pub uid: Option<String>,
    pub method: Option<String>,
    pub sequence: Option<u32>,
    pub body: Vec<u8>,
    /// The token in its Reply-To, when replies are read (see `inbound::token`).
    pub reply_token: Option<String>,
    /// Recorded but never sent, and why (a prompt whose meeting started while mentord
    /// was down).
    pub dropped: Option<String>,
}

/// Bodies of messages just queued (SQLite).
const INSERT_BODIES: &str = "INSERT INTO bodies (key, body) ";

/// How many bytes of bodies a process keeps between queueing and claiming them.
const RECENT_BYTES: usize = 32 << 20;

/// How long a kept body may wait for its claim before a newer one may take its place:
/// one another daemon claimed, or one given up, is not claimed here.
const RECENT_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// The bodies this process queued lately and has not claimed yet, up to
/// [`RECENT_BYTES`]: a claim takes its bodies from here and reads only the others from
/// the store. A body never changes once queued (a key is queued once), so a copy
/// serves as well as the row; on a first start, when one daemon queues and sends
/// thousands of invites in a row, most bodies then cross from the store to the daemon
/// once, not twice. Claims take the oldest first, so when queueing runs ahead of them
/// the oldest are kept and the newest read later, never the other way round.
#[derive(Debug, Default)]
pub struct Recent {
    bodies: HashMap<String, Vec<u8>>,
    order: std::collections::VecDeque<(String, std::time::Instant)>,
    bytes: usize,
}

impl Recent {
    fn keep(&mut self, key: &str, body: &[u8]) {
        let now = std::time::Instant::now();
        // Forget what waited too long for a claim, while that makes room.
        while self.bytes + body.len() > RECENT_BYTES {
            match self.order.front() {
                Some((_, at)) if now.duration_since(*at) > RECENT_FOR => {
                    if let Some((oldest, _)) = self.order.pop_front() {
                        self.take(&oldest);
                    }
                }
                _ => break,
            }
        }
        if self.bytes + body.len() > RECENT_BYTES {
            return;
        }
        self.take(key);
        self.bodies.insert(key.to_string(), body.to_vec());
        self.order.push_back((key.to_string(), now));
        self.bytes += body.len();
        // Keys taken leave their place in `order` behind; drop those now and then.
        if self.order.len() > 2 * self.bodies.len() + 1024 {
            let bodies = &self.bodies;
            self.order.retain(|(key, _)| bodies.contains_key(key));
        }
    }

    pub(super) fn take(&mut self, key: &str) -> Option<Vec<u8>> {
        let body = self.bodies.remove(key)?;
        self.bytes -= body.len();
        Some(body)
    }
}

/// Messages per INSERT statement: 16 values each, far below SQLite's limit of 32,766.
const INSERT_ROWS: usize = 128;

impl Store {
    /// In one transaction: queues `messages` (those whose key is new; the answer says
    /// which) and then records `series` as sent. A crash leaves both or neither.
    pub async fn enqueue_all(
        &self,
        messages: &[NewMessage],
        series: &[(String, Sent)],
        now: Timestamp,
    ) -> anyhow::Result<Vec<bool>> {
        let queued = on_writer!(self, |pool, backend| {
            let mut tx = pool.begin().await?;
            let mut queued = Vec::with_capacity(messages.len());
            // Many rows a statement: one round trip (on SQLite, one hop to its
            // thread) for each, not for each message.
            for chunk in messages.chunks(INSERT_ROWS) {
                let mut insert = sqlx::QueryBuilder::new(backend.sql().insert_messages);
                insert.push_values(chunk, |mut row, m| {
                    let state = if m.dropped.is_some() {
                        MessageState::Dropped
                    } else {
                        MessageState::Pending
                    };
                    row.push_bind(&m.key)
                        .push_bind(&m.message_id)
                        .push_bind(m.kind.name())
                        .push_bind(&m.pair)
                        .push_bind(&m.recipient)
                        .push_bind(seconds(m.due_at))
                        .push_bind(state.as_str())
                        .push_bind(0i64)
                        .push_bind(seconds(m.due_at))
                        .push_bind(&m.dropped)
                        .push_bind(&m.uid)
                        .push_bind(&m.method)
                        .push_bind(m.sequence.map(i64::from))
                        .push_bind(seconds(now))
                        .push_bind(&m.reply_token);
                    if backend == Backend::Postgres {
                        row.push_bind(&m.body);
                    }
                });
                insert.push(" ON CONFLICT (key) DO NOTHING RETURNING key");
                let mut new: std::collections::HashSet<String> = insert
                    .build_query_scalar()
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .collect();
                // A key twice in one batch is queued once: the first.
                let first = queued.len();
                queued.extend(chunk.iter().map(|m| new.remove(&m.key)));
                if backend == Backend::Sqlite && queued[first..].contains(&true) {
                    let mut bodies = sqlx::QueryBuilder::new(INSERT_BODIES);
                    let fresh = chunk.iter().zip(&queued[first..]).filter(|(_, q)| **q);
                    bodies.push_values(fresh, |mut row, (m, _)| {
                        row.push_bind(&m.key).push_bind(&m.body);
                    });
                    bodies.build().execute(&mut *tx).await?;
                }
            }
            // A pair's last state in the batch is the one that stands.
            let mut last = HashMap::with_capacity(series.len());
            for (i, (pair, _)) in series.iter().enumerate() {
                last.insert(pair.as_str(), i);
            }
            let standing: Vec<_> = (series.iter().enumerate())
                .filter(|(i, (pair, _))| last.get(pair.as_str()) == Some(i))
                .map(|(_, entry)| entry)
                .collect();
            for chunk in standing.chunks(INSERT_ROWS) {
                let mut save = sqlx::QueryBuilder::new(series::SAVE_SERIES);
                save.push_values(chunk, |mut row, (pair, sent)| {
                    row.push_bind(pair)
                        .push_bind(&sent.series.uid)
                        .push_bind(i64::from(sent.sequence))
                        .push_bind(i64::from(sent.active))
                        .push_bind(series::to_json(&sent.series))
                        .push_bind(seconds(now));
                });
                save.push(series::SAVE_SERIES_CONFLICT);
                save.build().execute(&mut *tx).await?;
            }
            if !standing.is_empty() {
                // The calendar feeds' change count (see `Store::series_changes`).
                sqlx::query(series::COUNT_CHANGE).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            anyhow::Ok(queued)
        })?;
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        for (message, _) in messages.iter().zip(&queued).filter(|(_, new)| **new) {
            if message.dropped.is_none() {
                recent.keep(&message.key, &message.body);
            }
        }
        Ok(queued)
    }
}

#[cfg(test)]
mod tests {
    use super::{RECENT_BYTES, RECENT_FOR, Recent};

    /// The bodies kept between queueing and claiming stay within their budget, oldest
    /// out first, and each is handed out once.
    #[test]
    fn recent_bodies_stay_within_their_budget() {
        let mut recent = Recent::default();
        let body = vec![b'x'; 8 << 10];
        let count = 2 * RECENT_BYTES / body.len();
        for i in 0..count {
            recent.keep(&format!("k{i}"), &body);
            assert!(recent.bytes <= RECENT_BYTES);
        }
        let mut took = |key: &str| recent.take(key).map(|b| b.len());
        // Claims go oldest first: the oldest are kept, the newest read later.
        assert_eq!(took("k0"), Some(body.len()));
        assert_eq!(took("k0"), None, "handed out once");
        assert_eq!(took(&format!("k{}", count - 1)), None);
        // A claim makes room for the next body.
        recent.keep("next", &body);
        assert!(recent.take("next").is_some());
        recent.keep("filler", &body);
        assert_eq!(recent.bytes, RECENT_BYTES, "full again");
        assert_eq!(
            recent.bytes,
            recent.bodies.values().map(Vec::len).sum::<usize>()
        );
        // Bodies that waited too long for a claim make room for new ones.
        let long_ago = RECENT_FOR + std::time::Duration::from_secs(1);
        for (_, at) in &mut recent.order {
            *at = at
                .checked_sub(long_ago)
                .expect("a machine up for over a minute");
        }
        recent.keep("new", &body);
        assert!(recent.take("new").is_some());
        assert!(recent.take("k1").is_none(), "the oldest made room");
        assert!(recent.take("k2").is_some());
        // Taken keys leave `order`, so it does not grow without end.
        for i in 0..count {
            recent.keep(&format!("n{i}"), b"small");
            recent.take(&format!("n{i}"));
        }
        assert!(recent.order.len() <= 2 * recent.bodies.len() + 1024);
    }
}
