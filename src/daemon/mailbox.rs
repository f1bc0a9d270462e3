//! The IMAP watcher inside `mentord run` (`[inbound]`): [`crate::io::imap::watch`]
//! over this daemon's store. Each mail goes through the same [`crate::inbound::take_in`]
//! as `mentord deliver`; what needs the daemon (an agenda to pass on, a meeting
//! declined) wakes it at once. With several daemons on one store, the one holding the
//! `imap` lease watches; its lease runs a minute and passes on if it stops renewing.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::app::live::Wake;
use crate::app::{Source, take_in};
use crate::io::imap::{self, Cursor, ImapSettings, ImapTls, Intake, Taken};
use crate::program::{InboundConfig, Program, SecretSource};
use crate::store::Store;

/// How long the watcher's lease lasts; it renews at least every 30 seconds.
const LEASE_SECONDS: i64 = 60;

/// The program as last loaded, shared with the watcher (replaced on reload).
pub type SharedProgram = crate::app::live::LiveProgram;

/// Starts the watcher for `[inbound]`, if the program has one.
pub(crate) fn spawn(
    program: &SharedProgram,
    store: &Store,
    wake: mpsc::Sender<Wake>,
    shutdown: CancellationToken,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let current = read(program);
    let Some(inbound) = &current.inbound else {
        return Ok(None);
    };
    let settings = settings(inbound)?;
    tracing::info!(
        mailbox = %format!("{}@{}:{}", settings.user, settings.host, settings.port),
        folder = %settings.folder,
        done_folder = %settings.done_folder,
        "watching the replies mailbox"
    );
    let intake = StoreIntake {
        program: program.clone(),
        store: store.clone(),
        wake,
        holder: store.instance_id().unwrap_or("this daemon").to_string(),
    };
    Ok(Some(tokio::spawn(imap::watch(settings, intake, shutdown))))
}

fn read(program: &SharedProgram) -> Arc<Program> {
    program.load_full()
}

/// What the watcher needs from `[inbound]`, the password read now (from the
/// environment or a file), so a missing one stops the start with a clear error.
pub(crate) fn settings(inbound: &InboundConfig) -> anyhow::Result<ImapSettings> {
    let endpoint = &inbound.endpoint;
    let password = SecretSource::either(
        inbound.password_env.as_ref(),
        inbound.password_file.as_ref(),
    )
    .context("[inbound] has no password_env or password_file")?
    .read("the [inbound] password")?;
    let tls = match (inbound.tls, endpoint.implicit_tls) {
        (false, _) => ImapTls::None,
        (true, true) => ImapTls::Implicit,
        (true, false) => ImapTls::StartTls,
    };
    let port = endpoint.port.unwrap_or(match tls {
        ImapTls::Implicit => 993,
        ImapTls::StartTls | ImapTls::None => 143,
    });
    Ok(ImapSettings {
        host: endpoint.host.clone(),
        port,
        tls,
        user: endpoint.user.clone().unwrap_or_default(),
        password,
        folder: inbound.folder.clone(),
        done_folder: inbound.done_folder.clone(),
    })
}

/// Mail from the watcher into the store.
struct StoreIntake {
    program: SharedProgram,
    store: Store,
    wake: mpsc::Sender<Wake>,
    holder: String,
}

impl std::fmt::Debug for StoreIntake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreIntake")
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl Intake for StoreIntake {
    async fn take(&self, raw: Vec<u8>) -> anyhow::Result<Taken> {
        let program = read(&self.program);
        let verdict = take_in(
            &program,
            &self.store,
            &raw,
            Source::Imap,
            crate::clock::now()?,
        )
        .await?;
        if verdict.is_set_aside() {
            return Ok(Taken::SetAside);
        }
        // An agenda to pass on or a meeting to cancel: the daemon acts now.
        let _ = self.wake.try_send(Wake::Inbound);
        Ok(Taken::Used)
    }

    async fn cursor(&self, folder: &str) -> anyhow::Result<Option<Cursor>> {
        Ok(self
            .store
            .imap_cursor(folder)
            .await?
            .map(|(uid_validity, last_uid)| Cursor {
                uid_validity,
                last_uid,
            }))
    }

    async fn save_cursor(&self, folder: &str, cursor: Cursor) -> anyhow::Result<()> {
        self.store
            .save_imap_cursor(folder, cursor.uid_validity, cursor.last_uid)
            .await
    }

    async fn lead(&self) -> anyhow::Result<bool> {
        self.store
            .try_lease("imap", &self.holder, LEASE_SECONDS)
            .await
    }
}
