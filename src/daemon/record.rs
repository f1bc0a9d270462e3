//! The transport of a simulation: every message the daemon sends is written as a
//! numbered `.eml` file, and `index.json` lists them (file, send time, kind, pair,
//! recipients, Message-ID; for invites UID, METHOD and SEQUENCE). A year of 5,000 pairs
//! is half a million entries: the index is streamed, not kept.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use jiff::Timestamp;
use serde::Serialize;

use crate::store::Queued;
use crate::vocab::MessageKind;

/// One entry of `index.json`.
#[derive(Debug, Serialize)]
struct IndexEntry<'m> {
    file: &'m str,
    at: String,
    kind: &'m str,
    pair: Option<&'m str>,
    recipients: [&'m str; 1],
    message_id: &'m str,
    /// For a message about one meeting, its start (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    meeting: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'m str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'m str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence: Option<u32>,
}

#[derive(Debug)]
pub struct Recorder {
    dir: PathBuf,
    index: Option<std::io::BufWriter<std::fs::File>>,
    written: usize,
    /// Messages per kind, in the order kinds first appeared.
    counts: Vec<(MessageKind, usize)>,
    /// What was written, kept only when asked for ([`Recorder::keep_log`]): a
    /// simulation with answers looks up what each answer replies to.
    log: Option<SentLog>,
}

/// What a recorder wrote, shared with the one who asked for it.
pub type SentLog = std::sync::Arc<std::sync::Mutex<Vec<Sent>>>;

/// A message written, as a simulation's answers look it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub file: PathBuf,
    pub at: Timestamp,
    pub kind: MessageKind,
    pub pair: Option<String>,
    /// The address it went to.
    pub recipient: String,
    /// The occurrence of its delivery key: a meeting's start, a review's due date.
    pub occurrence: Option<String>,
}

impl Recorder {
    /// Starts `index.json` in `dir` (which exists).
    pub(crate) fn new(dir: &Path) -> anyhow::Result<Recorder> {
        let path = dir.join("index.json");
        let file = std::fs::File::create(&path)
            .with_context(|| format!("while creating {}", path.display()))?;
        let mut index = std::io::BufWriter::new(file);
        index.write_all(b"[")?;
        Ok(Recorder {
            dir: dir.to_path_buf(),
            index: Some(index),
            written: 0,
            counts: Vec::new(),
            log: None,
        })
    }

    /// Keeps a log of what is written from now on, in order, and hands it out.
    pub(crate) fn keep_log(&mut self) -> SentLog {
        self.log.get_or_insert_with(Default::default).clone()
    }

    /// The folder it writes into.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn describe(&self) -> String {
        format!("a simulation in {}", self.dir.display())
    }

    /// Writes `message` as sent at `at`.
    pub(crate) fn record(&mut self, message: &Queued, at: Timestamp) -> anyhow::Result<()> {
        let number = self.written + 1;
        let file = match &message.pair {
            Some(pair) => format!("{number:05}-{}-{pair}.eml", message.kind),
            None => format!("{number:05}-{}.eml", message.kind),
        };
        std::fs::write(self.dir.join(&file), &message.body)
            .with_context(|| format!("while writing {file}"))?;
        let occurrence = message
            .key
            .parse::<crate::vocab::DeliveryKey>()
            .ok()
            .and_then(|key| key.occurrence);
        let about_a_meeting = matches!(
            message.kind,
            MessageKind::AgendaPrompt
                | MessageKind::MentorReminder
                | MessageKind::Agenda
                | MessageKind::Followup
                | MessageKind::OccurrenceCancel
        );
        let meeting = occurrence
            .as_deref()
            .filter(|_| about_a_meeting)
            .and_then(|o| o.parse::<Timestamp>().ok())
            .map(|start| start.to_string());
        if let Some(log) = &self.log {
            log.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(Sent {
                    file: self.dir.join(&file),
                    at,
                    kind: message.kind,
                    pair: message.pair.clone(),
                    recipient: message.recipient.clone(),
                    occurrence: occurrence.clone(),
                });
        }
        let entry = IndexEntry {
            file: &file,
            at: at.to_string(),
            kind: message.kind.name(),
            pair: message.pair.as_deref(),
            recipients: [&message.recipient],
            message_id: &message.message_id,
            meeting,
            uid: message.uid.as_deref(),
            method: message.method.as_deref(),
            sequence: message.sequence,
        };
        if let Some(index) = &mut self.index {
            index.write_all(if self.written == 0 { b"\n" } else { b",\n" })?;
            serde_json::to_writer(&mut *index, &entry)?;
        }
        self.written += 1;
        match self.counts.iter_mut().find(|(k, _)| *k == message.kind) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((message.kind, 1)),
        }
        Ok(())
    }

    /// Closes `index.json` (valid JSON, listing what was written, even after an error)
    /// and says how many messages of each kind were written.
    pub(crate) fn finish(&mut self) -> anyhow::Result<Vec<(MessageKind, usize)>> {
        if let Some(mut index) = self.index.take() {
            index.write_all(if self.written == 0 { b"]\n" } else { b"\n]\n" })?;
            index.flush()?;
        }
        Ok(std::mem::take(&mut self.counts))
    }
}
