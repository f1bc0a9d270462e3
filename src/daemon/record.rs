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
        })
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
        let entry = IndexEntry {
            file: &file,
            at: at.to_string(),
            kind: message.kind.name(),
            pair: message.pair.as_deref(),
            recipients: [&message.recipient],
            message_id: &message.message_id,
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
