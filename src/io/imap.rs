//! The IMAP side of inbound mail (connecting and logging in: [`connect`]).
//!
//! Owns: the connection to the replies mailbox (implicit TLS, STARTTLS, or plain for a
//! loopback test server), LOGIN, creating `done_folder`, walking new mail by UID, handing each
//! mail's raw bytes to the [`Intake`], moving what the intake used to `done_folder`, IDLE
//! between passes, the lead check, and reconnecting with backoff.
//!
//! Does not own: parsing or storing mail, dedup by Message-ID, the lease behind
//! [`Intake::lead`], the cursor's storage (all the intake's).
//!
//! Delivery is at-least-once: a mail is moved only after `take` said `Used`, and the cursor is
//! saved only after the move, so a crash in between hands the same mail over again (the intake
//! dedups by Message-ID). Decisions worth knowing:
//! - UIDVALIDITY differing from the saved cursor restarts from UID 1: mail the intake set
//!   aside (still in `folder`) is handed over again.
//! - A mail larger than [`MAX_MAIL_BYTES`] (per RFC822.SIZE) is not fetched nor handed to
//!   `take`: it is left unread in `folder`, logged, and the cursor moves past it (it counts as
//!   set aside). This bounds memory (async-imap buffers a whole response, up to 512 MiB).
//! - `take` returning `Err` (store down) ends the pass at that mail without moving the cursor
//!   past it; it and the mail after it are tried again on the next pass (next IDLE wake-up,
//!   ≤ 25 s). An intake must set aside mail it can never store, or the folder stalls.
//! - `lead()` is asked before connecting, after every IDLE (≤ 25 s) and every 20 s within a
//!   long pass; `false` logs out, waits 15 s, asks again.
//! - Shutdown is seen between mails and during IDLE/backoff (at once); a running `take` is
//!   never dropped half-way.
//! - `ImapTls::None` is refused for any host but a loopback one: the password never goes out
//!   in clear text.

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use futures_util::TryStreamExt as _;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

mod connect;

use connect::{ImapSession, open, within};
pub use connect::{ImapSettings, ImapTls};

/// Mail above this size (RFC822.SIZE) is left unread in the folder instead of being fetched.
pub const MAX_MAIL_BYTES: u32 = 50 * 1024 * 1024;

/// How long a leaving session waits for the server's answers to DONE and LOGOUT.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Slowest transfer rate a body fetch is given time for, on top of `command_timeout`.
const MIN_FETCH_BYTES_PER_SEC: u64 = 64 * 1024;

/// The intake's verdict on one mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Handled: the mail is moved to `done_folder`.
    Used,
    /// Not for us (or not understood): the mail stays unread in `folder`.
    SetAside,
}

/// How far the watcher got in a folder; only valid for the same UIDVALIDITY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub uid_validity: u32,
    pub last_uid: u32,
}

pub trait Intake: Send + Sync {
    /// Err: could not be stored now (store down): leave the mail where it is, try again later.
    fn take(&self, raw: Vec<u8>) -> impl Future<Output = anyhow::Result<Taken>> + Send;
    fn cursor(&self, folder: &str) -> impl Future<Output = anyhow::Result<Option<Cursor>>> + Send;
    fn save_cursor(
        &self,
        folder: &str,
        cursor: Cursor,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Whether this daemon may watch now; called before connecting and at least every 30 s while watching (it renews a lease).
    fn lead(&self) -> impl Future<Output = anyhow::Result<bool>> + Send;
}

/// Timings and limits of [`watch`]; the defaults are the product's, tests shorten them.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// Longest IDLE before a new pass and a lead renewal (≤ 25 s so `lead()` runs every 30 s).
    pub idle: Duration,
    /// Longest time between two `lead()` calls while working through a pass.
    pub lead_renew: Duration,
    /// Wait before asking `lead()` again when another daemon leads.
    pub not_leading_wait: Duration,
    /// First reconnect delay; doubles up to `backoff_max`, back to this after a good session.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Mail above this RFC822.SIZE is left unread in the folder, not handed over.
    pub max_mail_bytes: u32,
    /// Limit for connecting, logging in and any single command.
    pub command_timeout: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(25),
            lead_renew: Duration::from_secs(20),
            not_leading_wait: Duration::from_secs(15),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            max_mail_bytes: MAX_MAIL_BYTES,
            command_timeout: Duration::from_secs(120),
        }
    }
}

/// Runs until `shutdown` is cancelled; never returns an error (logs and reconnects).
pub async fn watch(
    settings: ImapSettings,
    intake: impl Intake,
    shutdown: tokio_util::sync::CancellationToken,
) {
    watch_tuned(settings, intake, shutdown, Tuning::default()).await;
}

/// [`watch`] with explicit timings (tests use short ones).
pub async fn watch_tuned(
    settings: ImapSettings,
    intake: impl Intake,
    shutdown: CancellationToken,
    tuning: Tuning,
) {
    let mut backoff = Backoff::new(tuning.backoff_min, tuning.backoff_max);
    info!(settings = ?settings, "imap watcher starting");
    while !shutdown.is_cancelled() {
        let lead_checked = Instant::now();
        match intake.lead().await {
            Ok(true) => {}
            Ok(false) => {
                debug!("another daemon leads; imap watcher waits");
                pause(&shutdown, tuning.not_leading_wait).await;
                continue;
            }
            Err(e) => {
                warn!(error = %format!("{e:#}"), "lead check failed; imap watcher waits");
                pause(&shutdown, backoff.next()).await;
                continue;
            }
        }
        let mut good = false;
        let watching = Watching {
            settings: &settings,
            intake: &intake,
            shutdown: &shutdown,
            tuning: &tuning,
            lead_checked,
        };
        let end = run_session(watching, &mut good).await;
        if good {
            // The session worked for a while: a later failure starts the backoff afresh.
            backoff.reset();
        }
        match end {
            Ok(End::Shutdown) => break,
            Ok(End::LostLead) => {
                info!("imap watcher lost the lead; logged out");
                pause(&shutdown, tuning.not_leading_wait).await;
            }
            Err(e) => {
                let delay = backoff.next();
                warn!(error = %format!("{e:#}"), retry_in = ?delay, "imap session failed");
                pause(&shutdown, delay).await;
            }
        }
    }
    info!("imap watcher stopped");
}

/// Sleeps, or returns early when shutdown is asked for.
async fn pause(shutdown: &CancellationToken, delay: Duration) {
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = tokio::time::sleep(delay) => {}
    }
}

/// Reconnect delays: `min`, doubling up to `max`.
struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            next: min,
        }
    }

    fn next(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(self.max);
        now
    }

    fn reset(&mut self) {
        self.next = self.min;
    }
}

/// Why a session ended without an error.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Shutdown,
    LostLead,
}

/// What a session starts from.
struct Watching<'a, I> {
    settings: &'a ImapSettings,
    intake: &'a I,
    shutdown: &'a CancellationToken,
    tuning: &'a Tuning,
    /// When `lead()` last said yes.
    lead_checked: Instant,
}

/// What one connected session needs at hand.
struct Ctx<'a, I> {
    settings: &'a ImapSettings,
    intake: &'a I,
    shutdown: &'a CancellationToken,
    tuning: &'a Tuning,
    can_move: bool,
    can_uid_expunge: bool,
    last_lead: Instant,
}

/// One connection: log in, prepare folders, then passes and IDLE until shutdown, lost lead or
/// an error. Sets `good` once the session got as far as IDLE.
async fn run_session<I: Intake>(w: Watching<'_, I>, good: &mut bool) -> anyhow::Result<End> {
    let Watching {
        settings,
        intake,
        shutdown,
        tuning,
        lead_checked,
    } = w;
    let connecting = within(tuning.command_timeout, "connect and log in", open(settings));
    let mut session = tokio::select! {
        _ = shutdown.cancelled() => return Ok(End::Shutdown),
        s = connecting => s?,
    };
    let caps = within(tuning.command_timeout, "CAPABILITY", session.capabilities()).await?;
    let mut ctx = Ctx {
        settings,
        intake,
        shutdown,
        tuning,
        can_move: caps.has_str("MOVE"),
        can_uid_expunge: caps.has_str("UIDPLUS"),
        last_lead: lead_checked,
    };
    debug!(
        can_move = ctx.can_move,
        can_uid_expunge = ctx.can_uid_expunge,
        "imap logged in"
    );
    ensure_folder(&mut session, &settings.done_folder, tuning).await?;
    let mut cursor = select_folder(&mut session, &ctx).await?;
    loop {
        match pass(&mut session, &mut ctx, &mut cursor).await? {
            Pass::Done | Pass::TakeFailed => {}
            Pass::LostLead => return logout(session, End::LostLead).await,
            Pass::Shutdown => return logout(session, End::Shutdown).await,
        }
        drain_unsolicited(&session);
        if !keep_lead(&mut ctx).await? {
            return logout(session, End::LostLead).await;
        }
        match idle(session, &ctx, good).await? {
            Some(back) => session = back,
            None => return Ok(End::Shutdown),
        }
        if !renew_lead(&mut ctx).await? {
            return logout(session, End::LostLead).await;
        }
    }
}

/// Creates `name` unless it exists already.
async fn ensure_folder(
    session: &mut ImapSession,
    name: &str,
    tuning: &Tuning,
) -> anyhow::Result<()> {
    if folder_exists(session, name, tuning).await? {
        return Ok(());
    }
    info!(folder = name, "creating imap folder");
    let created = within(tuning.command_timeout, "CREATE", session.create(name)).await;
    // Another client may have created it in between: only its absence is an error.
    if created.is_err() && folder_exists(session, name, tuning).await? {
        return Ok(());
    }
    created
}

async fn folder_exists(
    session: &mut ImapSession,
    name: &str,
    tuning: &Tuning,
) -> anyhow::Result<bool> {
    let listing = async {
        let names: Vec<_> = session.list(None, Some(name)).await?.try_collect().await?;
        Ok::<_, async_imap::error::Error>(names.iter().any(|n| n.name() == name))
    };
    within(tuning.command_timeout, "LIST", listing).await
}

/// SELECTs the watched folder and returns where to start: the saved cursor, or UID 0 when
/// there is none or UIDVALIDITY changed (old UIDs mean nothing then).
async fn select_folder<I: Intake>(
    session: &mut ImapSession,
    ctx: &Ctx<'_, I>,
) -> anyhow::Result<Cursor> {
    let folder = &ctx.settings.folder;
    let mailbox = within(ctx.tuning.command_timeout, "SELECT", session.select(folder)).await?;
    let uid_validity = mailbox
        .uid_validity
        .with_context(|| format!("SELECT {folder}: server gave no UIDVALIDITY"))?;
    let saved = ctx.intake.cursor(folder).await.context("read cursor")?;
    Ok(start_cursor(saved, uid_validity, folder))
}

fn start_cursor(saved: Option<Cursor>, uid_validity: u32, folder: &str) -> Cursor {
    match saved {
        Some(c) if c.uid_validity == uid_validity => c,
        Some(c) => {
            warn!(
                folder,
                old = c.uid_validity,
                new = uid_validity,
                "UIDVALIDITY changed; reading the folder again from the start"
            );
            Cursor {
                uid_validity,
                last_uid: 0,
            }
        }
        None => Cursor {
            uid_validity,
            last_uid: 0,
        },
    }
}

/// How a pass over new mail ended.
enum Pass {
    Done,
    TakeFailed,
    LostLead,
    Shutdown,
}

/// Hands every mail above the cursor to the intake, oldest first.
async fn pass<I: Intake>(
    session: &mut ImapSession,
    ctx: &mut Ctx<'_, I>,
    cursor: &mut Cursor,
) -> anyhow::Result<Pass> {
    let new = new_mail(session, cursor.last_uid, ctx.tuning).await?;
    for (uid, size) in new {
        if ctx.shutdown.is_cancelled() {
            return Ok(Pass::Shutdown);
        }
        if !keep_lead(ctx).await? {
            return Ok(Pass::LostLead);
        }
        let Some(verdict) = handle(session, ctx, uid, size).await? else {
            return Ok(Pass::TakeFailed);
        };
        if verdict == Taken::Used {
            move_to_done(session, ctx, uid).await?;
        }
        cursor.last_uid = uid;
        let folder = &ctx.settings.folder;
        ctx.intake
            .save_cursor(folder, *cursor)
            .await
            .context("save cursor")?;
    }
    Ok(Pass::Done)
}

/// Fetches one mail and asks the intake; `None` when the intake could not store it now.
async fn handle<I: Intake>(
    session: &mut ImapSession,
    ctx: &Ctx<'_, I>,
    uid: u32,
    size: u32,
) -> anyhow::Result<Option<Taken>> {
    if size > ctx.tuning.max_mail_bytes {
        warn!(
            uid,
            size,
            limit = ctx.tuning.max_mail_bytes,
            "mail too large; left unread in the folder, not handed over"
        );
        return Ok(Some(Taken::SetAside));
    }
    let Some(raw) = fetch_raw(session, uid, size, ctx.tuning).await? else {
        // Gone between listing and fetching (expunged by another client): nothing to do.
        debug!(uid, "mail vanished before fetch");
        return Ok(Some(Taken::SetAside));
    };
    match ctx.intake.take(raw).await {
        Ok(verdict) => {
            debug!(uid, ?verdict, "mail taken");
            Ok(Some(verdict))
        }
        Err(e) => {
            warn!(uid, error = %format!("{e:#}"), "intake could not take mail; will retry");
            Ok(None)
        }
    }
}

/// UIDs and sizes above `last_uid`, ascending. `n:*` always matches the highest message, even
/// below `n`, hence the filter.
async fn new_mail(
    session: &mut ImapSession,
    last_uid: u32,
    tuning: &Tuning,
) -> anyhow::Result<Vec<(u32, u32)>> {
    let set = format!("{}:*", last_uid.saturating_add(1));
    let listing = async {
        let fetches: Vec<_> = session
            .uid_fetch(&set, "(UID RFC822.SIZE)")
            .await?
            .try_collect()
            .await?;
        Ok::<_, async_imap::error::Error>(fetches)
    };
    let fetches = within(tuning.command_timeout, "UID FETCH sizes", listing).await?;
    let mut new: Vec<(u32, u32)> = fetches
        .iter()
        .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
        .filter(|(uid, _)| *uid > last_uid)
        .collect();
    new.sort_unstable();
    new.dedup_by_key(|(uid, _)| *uid);
    Ok(new)
}

/// The raw bytes of one mail, without setting \Seen (BODY.PEEK).
async fn fetch_raw(
    session: &mut ImapSession,
    uid: u32,
    size: u32,
    tuning: &Tuning,
) -> anyhow::Result<Option<Vec<u8>>> {
    // A big mail on a slow link must not time out forever: allow for its size.
    let limit =
        tuning.command_timeout + Duration::from_secs(u64::from(size) / MIN_FETCH_BYTES_PER_SEC);
    let fetching = async {
        let fetches: Vec<_> = session
            .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
            .await?
            .try_collect()
            .await?;
        Ok::<_, async_imap::error::Error>(fetches)
    };
    let fetches = within(limit, "UID FETCH body", fetching).await?;
    // Unsolicited FETCH responses for other mail may be mixed in: match on the UID.
    Ok(fetches
        .iter()
        .filter(|f| f.uid == Some(uid))
        .find_map(|f| f.body().map(<[u8]>::to_vec)))
}

/// Moves a used mail to `done_folder`: `UID MOVE`, or COPY + \Deleted + expunge without MOVE.
async fn move_to_done<I: Intake>(
    session: &mut ImapSession,
    ctx: &Ctx<'_, I>,
    uid: u32,
) -> anyhow::Result<()> {
    let done = &ctx.settings.done_folder;
    let limit = ctx.tuning.command_timeout;
    let set = uid.to_string();
    if ctx.can_move {
        return within(limit, "UID MOVE", session.uid_mv(&set, done)).await;
    }
    within(limit, "UID COPY", session.uid_copy(&set, done)).await?;
    let flag = async {
        let _: Vec<_> = session
            .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
            .await?
            .try_collect()
            .await?;
        Ok::<_, async_imap::error::Error>(())
    };
    within(limit, "UID STORE \\Deleted", flag).await?;
    let expunge = async {
        // Without UIDPLUS only a plain EXPUNGE exists; it also removes other \Deleted mail,
        // which in a folder only we move out of is ours anyway.
        let _: Vec<_> = if ctx.can_uid_expunge {
            session.uid_expunge(&set).await?.try_collect().await?
        } else {
            session.expunge().await?.try_collect().await?
        };
        Ok::<_, async_imap::error::Error>(())
    };
    within(limit, "EXPUNGE", expunge).await
}

/// [`renew_lead`] when the last check is `lead_renew` old, else the answer stands.
async fn keep_lead<I: Intake>(ctx: &mut Ctx<'_, I>) -> anyhow::Result<bool> {
    if ctx.last_lead.elapsed() < ctx.tuning.lead_renew {
        return Ok(true);
    }
    renew_lead(ctx).await
}

/// Asks the intake whether we still lead (this renews its lease).
async fn renew_lead<I: Intake>(ctx: &mut Ctx<'_, I>) -> anyhow::Result<bool> {
    let leads = ctx.intake.lead().await.context("lead check")?;
    ctx.last_lead = Instant::now();
    Ok(leads)
}

/// async-imap queues untagged responses it did not expect (EXISTS, EXPUNGE…) in a bounded
/// channel and drops them when full; we re-list by UID anyway, so just empty it.
fn drain_unsolicited(session: &ImapSession) {
    while session.unsolicited_responses.try_recv().is_ok() {}
}

/// IDLEs until the server reports a change, `tuning.idle` passes, or shutdown. Returns the
/// session after DONE, or `None` on shutdown (then already logged out, best effort).
async fn idle<I: Intake>(
    session: ImapSession,
    ctx: &Ctx<'_, I>,
    good: &mut bool,
) -> anyhow::Result<Option<ImapSession>> {
    let limit = ctx.tuning.command_timeout;
    let mut handle = session.idle();
    within(limit, "IDLE", handle.init()).await?;
    // Logged in, one pass done, server idling: the connection works.
    *good = true;
    let woke = {
        // Keep `_stop` alive: dropping the StopSource interrupts the wait at once.
        let (wait, _stop) = handle.wait_with_timeout(ctx.tuning.idle);
        // async-imap restarts its timeout on every response (keepalives too): cap it here.
        let capped = tokio::time::timeout(ctx.tuning.idle, wait);
        tokio::select! {
            _ = ctx.shutdown.cancelled() => None,
            r = capped => Some(r),
        }
    };
    match woke {
        None => {
            // Shutting down: leave politely if the server answers quickly, else just go.
            if let Ok(session) = within(SHUTDOWN_GRACE, "IDLE DONE", handle.done()).await {
                logout(session, End::Shutdown).await?;
            }
            return Ok(None);
        }
        Some(Ok(Ok(why))) => debug!(?why, "idle ended"),
        Some(Ok(Err(e))) => return Err(anyhow!(e).context("imap IDLE")),
        Some(Err(_elapsed)) => debug!("idle capped"),
    }
    // DONE also fails when the server went away during IDLE (the wait reports a closed
    // connection as an interrupt, a BYE as new data): the error ends the session.
    let session = within(limit, "IDLE DONE", handle.done()).await?;
    Ok(Some(session))
}

/// Best-effort LOGOUT; the outcome is what the session ended with.
async fn logout(mut session: ImapSession, end: End) -> anyhow::Result<End> {
    if let Err(e) = within(SHUTDOWN_GRACE, "LOGOUT", session.logout()).await {
        debug!(error = %format!("{e:#}"), "logout failed");
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::host::is_loopback;

    #[test]
    fn backoff_doubles_to_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
        let got: Vec<u64> = (0..11).map(|_| b.next().as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        b.reset();
        assert_eq!(b.next(), Duration::from_secs(1));
    }

    #[test]
    fn cursor_restarts_on_new_uidvalidity() {
        let saved = Some(Cursor {
            uid_validity: 7,
            last_uid: 42,
        });
        assert_eq!(start_cursor(saved, 7, "INBOX").last_uid, 42);
        let restarted = start_cursor(saved, 8, "INBOX");
        assert_eq!(
            restarted,
            Cursor {
                uid_validity: 8,
                last_uid: 0
            }
        );
        assert_eq!(start_cursor(None, 9, "INBOX").last_uid, 0);
    }

    #[test]
    fn plain_text_only_to_loopback() {
        for host in ["localhost", "127.0.0.1", "127.5.0.1", "::1", "[::1]"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["imap.example.org", "10.0.0.1", "localhost.example.org"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn debug_hides_password() {
        let s = ImapSettings {
            host: "h".into(),
            port: 1,
            tls: ImapTls::None,
            user: "u".into(),
            password: "hunter2".into(),
            folder: "INBOX".into(),
            done_folder: "mentord".into(),
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
