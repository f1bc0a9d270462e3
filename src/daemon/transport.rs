//! Where messages go: `.eml` files in a folder (the default, so mentord runs on a fresh
//! machine), or an SMTP server ([`super::smtp`]).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::send_error::SendError;
use crate::store::Queued;

#[derive(Debug)]
pub enum Transport {
    /// One `.eml` file per message in `dir`, written atomically (temporary file, then
    /// rename), named after the message's delivery key: a resend replaces, never doubles.
    File {
        dir: PathBuf,
        /// Files written at once (`[mail] connections`).
        connections: u32,
    },
    Smtp(Box<super::smtp::Smtp>),
    /// A simulation's: numbered files and `index.json` ([`super::record`]).
    Record(Box<super::record::Recorder>),
}

impl Transport {
    /// Where `program`'s mail goes; inside the runtime (an SMTP transport uses tokio).
    pub fn for_program(program: &crate::program::Program) -> anyhow::Result<Transport> {
        use crate::program::MailConfig;
        Ok(match &program.mail {
            MailConfig::File { dir, connections } => Transport::File {
                dir: dir.clone(),
                connections: *connections,
            },
            smtp @ MailConfig::Smtp { .. } => Transport::Smtp(Box::new(super::smtp::Smtp::new(
                smtp,
                &program.organizer.email,
            )?)),
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::File { dir, .. } => format!("files in {}", dir.display()),
            Transport::Smtp(smtp) => smtp.describe(),
            Transport::Record(recorder) => recorder.describe(),
        }
    }

    /// The recorder of a simulation, to finish its index.
    pub(crate) fn recorder(&mut self) -> Option<&mut super::record::Recorder> {
        match self {
            Transport::Record(recorder) => Some(recorder),
            _ => None,
        }
    }

    /// When sending is paused by the SMTP circuit breaker, until when.
    pub(crate) fn paused_until(&self, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
        match self {
            Transport::File { .. } | Transport::Record(_) => None,
            Transport::Smtp(smtp) => smtp.paused_until(now),
        }
    }

    /// Why sending is paused (the SMTP link's last failure).
    pub(crate) fn pause_reason(&self) -> String {
        match self {
            Transport::File { .. } | Transport::Record(_) => String::new(),
            Transport::Smtp(smtp) => smtp.pause_reason(),
        }
    }

    /// The rolling day's budget of the relay (`rate = "2000/day"`).
    pub(crate) fn daily_budget(&self) -> Option<u32> {
        match self {
            Transport::Smtp(smtp) => smtp.daily_budget(),
            Transport::File { .. } | Transport::Record(_) => None,
        }
    }

    /// The lanes that send at once: one per SMTP session or file writer (one for a
    /// simulation, whose index is in send order), and the gate they share.
    pub(crate) fn lanes(&mut self) -> (Gate<'_>, Vec<Lane<'_>>) {
        match self {
            Transport::File { dir, connections } => (
                Gate(None),
                (0..(*connections).max(1))
                    .map(|_| Lane::File(dir.as_path()))
                    .collect(),
            ),
            Transport::Smtp(smtp) => {
                let (link, lanes) = smtp.lanes();
                (
                    Gate(Some(link)),
                    lanes.into_iter().map(Lane::Smtp).collect(),
                )
            }
            Transport::Record(recorder) => (Gate(None), vec![Lane::Record(recorder)]),
        }
    }
}

/// What the lanes of one transport share: the SMTP breaker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gate<'a>(Option<&'a super::smtp::Link>);

impl Gate<'_> {
    /// While the breaker is open, when sending resumes.
    pub(crate) fn paused_until(&self, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
        self.0.and_then(|link| link.paused_until(now))
    }
}

/// One sender: messages given to one lane go out one after another, in order.
#[derive(Debug)]
pub(crate) enum Lane<'a> {
    File(&'a Path),
    Smtp(super::smtp::Lane<'a>),
    Record(&'a mut super::record::Recorder),
}

impl Lane<'_> {
    pub(crate) async fn send(
        &mut self,
        message: &Queued,
        now: jiff::Timestamp,
    ) -> Result<(), SendError> {
        match self {
            Lane::File(dir) => {
                // The write and its fsync off the runtime's threads, so the lanes wait
                // on the disk together.
                let (dir, message) = (dir.to_path_buf(), message.clone());
                tokio::task::spawn_blocking(move || write_file(&dir, &message))
                    .await
                    .map_err(|e| SendError::Transient(format!("the writer stopped: {e}")))?
                    .map_err(|e| SendError::Transient(format!("{e:#}")))
            }
            Lane::Smtp(lane) => lane.send(message, now).await,
            // A simulation that cannot write its files has nothing to wait for.
            Lane::Record(recorder) => recorder
                .record(message, now)
                .map_err(|e| SendError::Permanent(format!("{e:#}"))),
        }
    }

    /// What happened to a delivered message, in words for the log: "written to
    /// config/outbox/…" for the file transport, "sent to smtp://…" for SMTP.
    pub(crate) fn delivered(&self, message: &Queued) -> String {
        match self {
            Lane::File(dir) => format!("written to {}", dir.join(file_name(message)).display()),
            Lane::Smtp(lane) => format!("sent to {}", lane.describe()),
            Lane::Record(_) => "recorded".to_string(),
        }
    }
}

/// The file name of a message: its kind, pair and a digest of its key.
pub(crate) fn file_name(message: &Queued) -> String {
    let digest = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, message.key.as_bytes());
    let pair = message.pair.as_deref().unwrap_or("program");
    format!(
        "{}-{pair}-{}.eml",
        message.kind,
        &digest.simple().to_string()[..12]
    )
}

/// Mail is personal data: the folder mentord creates is its owner's only (0700) and
/// each file is written 0600, as the store is.
fn write_file(dir: &std::path::Path, message: &Queued) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("while creating {}", dir.display()))?;
    }
    let name = file_name(message);
    let temporary = dir.join(format!(".{name}.tmp"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("while writing {}", temporary.display()))?;
    file.write_all(&message.body)
        .and_then(|()| file.sync_data())
        .with_context(|| format!("while writing {}", temporary.display()))?;
    std::fs::rename(&temporary, dir.join(&name))
        .with_context(|| format!("while renaming to {name}"))?;
    Ok(())
}
