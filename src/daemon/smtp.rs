//! The SMTP transport (lettre's SMTP client on tokio): STARTTLS required on `smtp://`,
//! implicit TLS on `smtps://`, plaintext only with `tls = "none"` to a loopback host
//! (refused by the loader otherwise). The password comes from an environment variable or
//! a file, never from the program file, and never appears in logs, errors or `Debug`
//! output.
//!
//! Connections are opened here, not by lettre's transport, so the socket can have
//! `TCP_NODELAY`: lettre 0.11.23 writes the end of DATA as a separate small segment,
//! which Nagle's algorithm holds back until the server's delayed ACK (40 ms a message).
//! A daemon keeps `[mail] connections` sessions ([`Lane`]s), each with one connection
//! kept and reused while it works (checked with NOOP after an idle spell) and replaced
//! after any error. The sessions share one [`Link`]: where the server is, the pace of
//! `rate` and the circuit breaker.
//!
//! Failures answer the caller's question: a 4xx reply, a timeout or a network error is
//! temporary (retry later), a 5xx reply to a message (its recipient or content) is
//! permanent (record it). Failing to connect, to secure the connection or to
//! authenticate, or a refusal of the sender (a 5xx to MAIL FROM, or 530/535 "log in
//! first") is the *link's* fault, not the message's: after repeated link failures in a row the transport pauses (a circuit
//! breaker), doubling the pause up to 15 minutes, instead of feeding a retry storm.

use std::fmt;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use jiff::{SignedDuration, Timestamp};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::Ehlo;
use lettre::transport::smtp::extension::ClientId;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::send_error::SendError;
use crate::program::{MailConfig, SecretSource};
use crate::store::Queued;

/// Consecutive connection or authentication failures that pause sending.
const BREAKER_THRESHOLD: u32 = 5;

/// The longest any one step (connect, a command, the message) may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A kept connection idle longer than this is checked with NOOP before reuse.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// `tls = "none"`, loopback only.
    None,
    StartTls,
    Implicit,
}

/// The transport: what every session shares (where the server is, who we are, the
/// rate and the breaker) and the sessions themselves, one connection each.
pub struct Smtp {
    link: Link,
    sessions: Vec<Session>,
}

/// What the sessions of one daemon share. The rate and the breaker are the link's, not
/// a session's: `rate = "10/s"` is ten a second over all sessions, and link failures on
/// any session count toward one pause, which stops them all.
pub struct Link {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    from: lettre::Address,
    described: String,
    /// Minimum time between two sends, from `rate`.
    interval: Option<Duration>,
    /// The most a rolling day may take, from `rate = "2000/day"` (counted in the store,
    /// over every daemon).
    daily: Option<u32>,
    state: Mutex<LinkState>,
}

/// The link's changing part, locked only between awaits.
#[derive(Debug)]
struct LinkState {
    /// When the next send may start, from `rate`.
    next_slot: Option<Instant>,
    failures_in_a_row: u32,
    paused_until: Option<Timestamp>,
    pause: SignedDuration,
    last_link_error: String,
    clock: TickClock,
}

/// One SMTP session: the connection kept between its sends, and when it was last used.
#[derive(Default)]
struct Session {
    connection: Option<(Connection, Instant)>,
}

/// An open connection, and whether its server takes commands in groups.
struct Connection {
    smtp: AsyncSmtpConnection,
    /// The server offers PIPELINING (RFC 2920): MAIL, RCPT and DATA go out in one
    /// write and their replies are read after, one round trip where there were three.
    pipelining: bool,
}

/// A session at work: it sends one message at a time, on its own connection, under the
/// link's rate and breaker.
pub struct Lane<'a> {
    link: &'a Link,
    session: &'a mut Session,
}

/// The time of a failure. The daemon says when its tick began, but the sends of one
/// tick can take minutes (a server that never answers waits out every timeout): a
/// pause counts from when the send failed, not from when the tick began. Measured on
/// tokio's clock, which a test can run fast.
#[derive(Debug, Default)]
struct TickClock {
    /// The tick's time as given, and when (monotonic) it was first given.
    tick: Option<(Timestamp, tokio::time::Instant)>,
}

impl TickClock {
    fn after(&mut self, tick: Timestamp) -> Timestamp {
        let began = match self.tick {
            Some((seen, began)) if seen == tick => began,
            _ => {
                let began = tokio::time::Instant::now();
                self.tick = Some((tick, began));
                began
            }
        };
        SignedDuration::try_from(began.elapsed())
            .ok()
            .and_then(|spent| tick.checked_add(spent).ok())
            .unwrap_or(tick)
    }
}

/// No credentials, no password: only where the mail goes.
impl fmt::Debug for Smtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp")
            .field("server", &self.link.described)
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Lane<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lane")
            .field("server", &self.link.described)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("server", &self.described)
            .finish_non_exhaustive()
    }
}

/// Why a send failed: the message (the server's verdict on it) or the link to the server.
enum Failure {
    Message(SendError),
    Link(String),
}

impl Smtp {
    /// Builds the transport from `[mail]`; `from` is the organizer's address.
    pub fn new(config: &MailConfig, from: &str) -> anyhow::Result<Smtp> {
        let MailConfig::Smtp {
            endpoint,
            tls,
            password_env,
            password_file,
            rate,
            connections,
        } = config
        else {
            bail!("not an SMTP configuration");
        };
        let implicit_tls = endpoint.implicit_tls;
        let (user, host, port) = (&endpoint.user, endpoint.host.clone(), endpoint.port);
        let security = match (*tls, implicit_tls) {
            (false, _) => Security::None,
            (true, true) => Security::Implicit,
            (true, false) => Security::StartTls,
        };
        let port = port.unwrap_or(match security {
            Security::None => 25,
            Security::Implicit => 465,
            Security::StartTls => 587,
        });
        let credentials = match &user {
            None => None,
            Some(user) => {
                let password =
                    SecretSource::either(password_env.as_ref(), password_file.as_ref())
                        .with_context(|| {
                            format!("the SMTP URL names user {user:?} but [mail] gives no password_env or password_file")
                        })?
                        .read("the SMTP password")?;
                Some(Credentials::new(user.clone(), password))
            }
        };
        let scheme = if implicit_tls { "smtps" } else { "smtp" };
        let described = format!(
            "{scheme}://{}{host}:{port}{}",
            user.as_deref().map(|u| format!("{u}@")).unwrap_or_default(),
            if *tls { "" } else { " (no TLS, loopback)" }
        );
        Ok(Smtp {
            link: Link {
                host,
                port,
                security,
                credentials,
                hello: ClientId::default(),
                from: from.parse().context("the organizer's address")?,
                described,
                interval: rate.per_second.map(|r| Duration::from_secs_f64(1.0 / r)),
                daily: rate.per_day,
                state: Mutex::new(LinkState {
                    next_slot: None,
                    failures_in_a_row: 0,
                    paused_until: None,
                    pause: SignedDuration::from_secs(60),
                    last_link_error: String::new(),
                    clock: TickClock::default(),
                }),
            },
            sessions: (0..(*connections).max(1))
                .map(|_| Session::default())
                .collect(),
        })
    }

    pub fn describe(&self) -> String {
        self.link.describe()
    }

    /// The sessions at work, each with the shared link.
    pub fn lanes(&mut self) -> (&Link, Vec<Lane<'_>>) {
        let link = &self.link;
        let lanes = self
            .sessions
            .iter_mut()
            .map(|session| Lane { link, session })
            .collect();
        (link, lanes)
    }

    /// While the breaker is open, when sending resumes.
    pub fn paused_until(&self, now: Timestamp) -> Option<Timestamp> {
        self.link.paused_until(now)
    }

    /// Why the breaker opened: the last link failure.
    pub(crate) fn pause_reason(&self) -> String {
        self.link.pause_reason()
    }

    /// The rolling day's budget, from `rate = "…/day"`.
    pub(crate) fn daily_budget(&self) -> Option<u32> {
        self.link.daily
    }
}

impl Link {
    fn state(&self) -> std::sync::MutexGuard<'_, LinkState> {
        // Each holder only assigns fields: a panic while the lock was held cannot leave
        // the state half-written, so a poisoned lock is used as it is.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn describe(&self) -> String {
        self.described.clone()
    }

    /// While the breaker is open, when sending resumes.
    pub(crate) fn paused_until(&self, now: Timestamp) -> Option<Timestamp> {
        self.state().paused_until.filter(|&until| until > now)
    }

    /// Why the breaker opened: the last link failure.
    pub(crate) fn pause_reason(&self) -> String {
        format!("{}: {}", self.described, self.state().last_link_error)
    }

    /// Waits for this send's turn under `rate`: slots are handed out in order over all
    /// sessions.
    async fn wait_for_slot(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let wait = {
            let mut state = self.state();
            let now = Instant::now();
            let slot = state.next_slot.map_or(now, |next| next.max(now));
            state.next_slot = Some(slot + interval);
            slot - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Counts a send's outcome toward the breaker.
    fn judge(&self, result: Result<(), Failure>, tick: Timestamp) -> Result<(), SendError> {
        let mut state = self.state();
        let now = state.clock.after(tick);
        match result {
            Ok(()) => {
                state.failures_in_a_row = 0;
                state.pause = SignedDuration::from_secs(60);
                Ok(())
            }
            Err(Failure::Message(error)) => {
                state.failures_in_a_row = 0;
                Err(error)
            }
            Err(Failure::Link(error)) => {
                state.failures_in_a_row += 1;
                state.last_link_error.clone_from(&error);
                if state.failures_in_a_row >= BREAKER_THRESHOLD {
                    let until = now.checked_add(state.pause).unwrap_or(now);
                    tracing::error!(server = %self.described, %error, resume_at = %until, "sending paused after repeated connection failures");
                    state.paused_until = Some(until);
                    state.pause = (state.pause * 2).min(SignedDuration::from_mins(15));
                    state.failures_in_a_row = 0;
                }
                Err(SendError::Transient(error))
            }
        }
    }

    /// Opens a connection: TCP with `TCP_NODELAY`, TLS as configured, EHLO once more
    /// for what lettre does not read (PIPELINING), then AUTH.
    async fn connect(&self) -> Result<Connection, Failure> {
        let link = |e: &dyn fmt::Display| Failure::Link(e.to_string());
        let tcp = within(TcpStream::connect((self.host.as_str(), self.port)))
            .await
            .map_err(|e| link(&e))?
            .map_err(|e| link(&format!("cannot connect: {e}")))?;
        tcp.set_nodelay(true).map_err(|e| link(&e))?;
        let tls = || TlsParameters::new(self.host.clone()).map_err(|e| link(&e));
        let stream: Box<dyn AsyncTokioStream> = match self.security {
            Security::Implicit => {
                #[allow(deprecated)] // the only public way to lettre's TLS on a socket we made
                let mut stream =
                    lettre::transport::smtp::client::AsyncNetworkStream::use_existing_tokio1(
                        Box::new(tcp),
                    );
                within(stream.upgrade_tls(tls()?))
                    .await
                    .map_err(|e| link(&e))?
                    .map_err(|e| link(&e))?;
                Box::new(Tls(tokio_util::compat::FuturesAsyncReadCompatExt::compat(
                    stream,
                )))
            }
            Security::None | Security::StartTls => Box::new(tcp),
        };
        let mut connection = within(AsyncSmtpConnection::connect_with_transport(
            stream,
            &self.hello,
        ))
        .await
        .map_err(|e| link(&e))?
        .map_err(|e| link(&e))?;
        if self.security == Security::StartTls {
            if !connection.can_starttls() {
                return Err(link(&"the server does not offer STARTTLS"));
            }
            within(connection.starttls(tls()?, &self.hello))
                .await
                .map_err(|e| link(&e))?
                .map_err(|e| link(&format!("STARTTLS: {e}")))?;
        }
        // lettre keeps only the extensions it uses from its EHLO; a second EHLO (RFC
        // 5321 allows one at any time; it resets only the mail transaction) says the
        // rest. Before AUTH, so no server can take it as starting over.
        // A server that refuses it (OpenSMTPD: "503 Already identified") gets the
        // commands one at a time, as before; the refusal was read, the session is in step.
        let pipelining = match within(connection.command(Ehlo::new(self.hello.clone())))
            .await
            .map_err(|e| link(&e))?
        {
            Ok(ehlo) => ehlo.message().skip(1).any(|line| {
                line.split_ascii_whitespace()
                    .next()
                    .is_some_and(|keyword| keyword.eq_ignore_ascii_case("PIPELINING"))
            }),
            Err(refused) if refused.is_permanent() || refused.is_transient() => false,
            Err(error) => return Err(link(&format!("EHLO: {error}"))),
        };
        if let Some(credentials) = &self.credentials {
            within(connection.auth(&[Mechanism::Plain, Mechanism::Login], credentials))
                .await
                .map_err(|e| link(&e))?
                .map_err(|e| link(&format!("authentication failed: {e}")))?;
        }
        Ok(Connection {
            smtp: connection,
            pipelining,
        })
    }
}

impl Lane<'_> {
    pub(crate) fn describe(&self) -> &str {
        &self.link.described
    }

    pub async fn send(&mut self, message: &Queued, now: Timestamp) -> Result<(), SendError> {
        let link = self.link;
        link.state().clock.after(now);
        link.wait_for_slot().await;
        let to: lettre::Address = message
            .recipient
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient {:?}: {e}", message.recipient)))?;
        let envelope = Envelope::new(Some(link.from.clone()), vec![to])
            .map_err(|e| SendError::Permanent(format!("envelope: {e}")))?;
        let result = self.try_send(&envelope, &message.body).await;
        link.judge(result, now)
    }

    async fn try_send(&mut self, envelope: &Envelope, body: &[u8]) -> Result<(), Failure> {
        let mut connection = match self.session.connection.take() {
            Some((mut kept, used)) => {
                let fresh = used.elapsed() < CHECK_AFTER_IDLE
                    || within(kept.smtp.test_connected()).await.unwrap_or(false);
                if fresh {
                    kept
                } else {
                    kept.smtp.abort().await;
                    self.link.connect().await?
                }
            }
            None => self.link.connect().await?,
        };
        match transaction(&mut connection, envelope, body).await {
            Ok(()) => {
                self.session.connection = Some((connection, Instant::now()));
                Ok(())
            }
            // After any error the connection is dropped: the next send opens another.
            Err(failure) => {
                connection.smtp.abort().await;
                Err(failure)
            }
        }
    }
}

/// One mail transaction (MAIL, RCPT, DATA, the message), each reply judged on its
/// own. The sender is the same for every message, so a 5xx to MAIL FROM (530
/// authentication required, a policy refusal of the sender) is the link's fault and
/// pauses sending, where it used to fail every message for good; so are
/// 530/534/535/538 at any step. A 5xx to RCPT or to the message is this message's (an
/// unknown recipient, rejected content); a 4xx anywhere is temporary.
///
/// With PIPELINING the three commands go out in one write and the three replies are
/// read in turn (RFC 2920: DATA last in the group, the message only after its 354). A
/// refused command ends the transaction and the caller drops the connection, so
/// replies left unread never meet the next message.
async fn transaction(
    connection: &mut Connection,
    envelope: &Envelope,
    body: &[u8],
) -> Result<(), Failure> {
    use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
    use lettre::transport::smtp::extension::{Extension, MailBodyParameter, MailParameter};
    let smtp = &mut connection.smtp;
    let mut options = Vec::new();
    if !body.is_ascii() && smtp.server_info().supports_feature(Extension::EightBitMime) {
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let non_ascii = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii {
        if !smtp.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(Failure::Message(SendError::Permanent(
                "the address is not ASCII and the server does not offer SMTPUTF8".into(),
            )));
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    let mail = Mail::new(envelope.from().cloned(), options);
    let recipients = envelope.to().iter().map(|to| Rcpt::new(to.clone(), vec![]));
    if connection.pipelining {
        use std::fmt::Write as _;
        let mut group = mail.to_string();
        for rcpt in recipients {
            let _ = write!(group, "{rcpt}");
        }
        let _ = write!(group, "{Data}");
        step(smtp.command(group), Stage::Sender).await?;
        for _ in envelope.to() {
            step(smtp.read_response(), Stage::Message).await?;
        }
        step(smtp.read_response(), Stage::Message).await?;
    } else {
        step(smtp.command(mail), Stage::Sender).await?;
        for rcpt in recipients {
            step(smtp.command(rcpt), Stage::Message).await?;
        }
        step(smtp.command(Data), Stage::Message).await?;
    }
    match std::str::from_utf8(body) {
        // The message and its end in one write.
        Ok(text) => step(smtp.command(DotStuffed(text)), Stage::Message).await,
        Err(_) => step(smtp.message(body), Stage::Message).await,
    }
}

/// A message as DATA carries it (RFC 5321 4.5.2): a line that starts with a period
/// gets another in front, and `CRLF . CRLF` ends it. The same bytes as lettre's
/// `message()`, which copies byte by byte and writes the end apart.
struct DotStuffed<'a>(&'a str);

impl fmt::Display for DotStuffed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        if rest.starts_with('.') {
            f.write_str(".")?;
        }
        while let Some(at) = rest.find("\r\n.") {
            // Up to and including the line's period, then the period again.
            f.write_str(&rest[..at + 3])?;
            f.write_str(".")?;
            rest = &rest[at + 3..];
        }
        f.write_str(rest)?;
        f.write_str("\r\n.\r\n")
    }
}

/// Which part of the transaction a reply answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Sender,
    Message,
}

async fn step(
    command: impl Future<
        Output = Result<
            lettre::transport::smtp::response::Response,
            lettre::transport::smtp::Error,
        >,
    >,
    stage: Stage,
) -> Result<(), Failure> {
    let error = match within(command).await {
        Ok(Ok(_)) => return Ok(()),
        Ok(Err(error)) => error,
        Err(timeout) => return Err(Failure::Link(timeout)),
    };
    let code = error.status().map(|c| c.to_string());
    let session = matches!(code.as_deref(), Some("530" | "534" | "535" | "538"));
    Err(if error.is_transient() {
        Failure::Message(SendError::Transient(error.to_string()))
    } else if error.is_permanent() && (session || stage == Stage::Sender) {
        Failure::Link(format!("the server refuses mentord's mail: {error}"))
    } else if error.is_permanent() || error.is_client() {
        Failure::Message(SendError::Permanent(error.to_string()))
    } else {
        Failure::Link(error.to_string())
    })
}

/// Runs one step of the conversation with the [`TIMEOUT`].
async fn within<T>(step: impl Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(TIMEOUT, step)
        .await
        .map_err(|_| format!("no answer within {} s", TIMEOUT.as_secs()))
}

/// Implicit TLS: lettre's TLS stream (futures-io) over our socket, seen through tokio's
/// traits so lettre's client can speak SMTP over it.
#[allow(deprecated)]
type TlsStream = tokio_util::compat::Compat<lettre::transport::smtp::client::AsyncNetworkStream>;

#[derive(Debug)]
struct Tls(TlsStream);

impl AsyncTokioStream for Tls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().peer_addr()
    }
}

impl AsyncRead for Tls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::DotStuffed;

    /// lettre's transparency, byte by byte, as its `ClientCodec` does it: a period at the
    /// start of a line (after CRLF, or first) is doubled.
    fn lettre_stuffed(body: &str) -> String {
        let mut out = String::new();
        let mut line_start = true;
        let mut after_cr = false;
        for c in body.chars() {
            out.push(c);
            if c == '.' && line_start {
                out.push('.');
            }
            line_start = after_cr && c == '\n';
            after_cr = c == '\r';
        }
        out + "\r\n.\r\n"
    }

    #[test]
    fn periods_at_line_starts_are_doubled_as_lettre_doubles_them() {
        for body in [
            "",
            ".",
            "..",
            ".starts",
            "a\r\n.b",
            "a\r\n.\r\n.\r\nb",
            "a\n.bare line feed",
            "a\r.bare return",
            "a\r\r\n.twice",
            "no period at all\r\n",
            "ends with a period\r\n.",
            "mid.line. periods\r\n..two",
        ] {
            assert_eq!(
                DotStuffed(body).to_string(),
                lettre_stuffed(body),
                "{body:?}"
            );
        }
    }
}
