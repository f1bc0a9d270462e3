//! The calendars brought in line with the file, on start and after a reload: the
//! changes [`crate::reconcile`] finds, composed in batches and queued, each batch with
//! the series state it leaves, in one transaction.

use jiff::Timestamp;

use super::super::tick::Stop;
use super::{Planner, new_message};
use crate::reconcile::{self, Change, Sent};
use crate::store::NewMessage;

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

impl Planner {
    /// Brings every calendar in line with the file. Each batch of changes is one
    /// transaction: its messages queued and the new series state recorded together.
    /// A batch is composed while the one before it is written (on a task of its own),
    /// one write at a time, in order. Returns what was queued, and false when `stop`
    /// cut it short.
    pub(super) async fn reconcile(
        &mut self,
        now: Timestamp,
        stop: Stop<'_>,
    ) -> anyhow::Result<(usize, bool)> {
        let sent = self.store.sent_series().await?;
        let changes = reconcile::reconcile(&self.program, &sent, now);
        // Everyone invited links their feed: their tokens read (or made) at once, before
        // the batches, so no batch waits for the store in between.
        let feeds = self.feed_tokens(self.invited(&changes), now).await?;
        let mut queued = 0;
        let mut writing: Option<Writing> = None;
        let mut complete = true;
        for batch in changes.chunks(RECONCILE_BATCH) {
            if stop() {
                complete = false;
                break;
            }
            let composed = self.compose_changes(batch, feeds.as_ref(), now)?;
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
    fn compose_changes(
        &self,
        changes: &[Change],
        feeds: Option<&crate::compose::FeedTokens>,
        now: Timestamp,
    ) -> anyhow::Result<ChangeBatch> {
        let composer = self.composer()?.with_feeds(feeds);
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
}

fn change_name(change: &Change) -> &'static str {
    match change {
        Change::Invite { .. } => "invite",
        Change::Update { .. } => "update",
        Change::CancelOccurrence { .. } => "cancel one meeting",
        Change::Cancel { .. } => "cancel series",
    }
}
