//! Reaching the replies mailbox: implicit TLS, STARTTLS (a server refusing it is an
//! error, never a fallback to plain), or plain text for a loopback test server only;
//! then LOGIN. Every step runs with a deadline that names it.

use crate::vocab::host::is_loopback;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use async_imap::imap_proto::{Response, Status};
use async_imap::{Client, Session};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Where and how to reach the replies mailbox.
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub tls: ImapTls,
    pub user: String,
    pub password: String,
    pub folder: String,
    pub done_folder: String,
}

impl fmt::Debug for ImapSettings {
    // Hand-written so the password can never reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("folder", &self.folder)
            .field("done_folder", &self.done_folder)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapTls {
    /// `imaps://`: TLS from the first byte.
    Implicit,
    /// `imap://`: plain connect, then `STARTTLS`; a server refusing it is an error, never a
    /// fallback to plain.
    StartTls,
    /// `tls = "none"`: plain text, only meant for a loopback test server.
    None,
}

/// Any byte stream a session can run on (plain TCP or TLS), boxed so one type serves all.
pub(super) trait ImapIo: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> ImapIo for T {}
pub(super) type Conn = Box<dyn ImapIo>;
pub(super) type ImapSession = Session<Conn>;

/// Runs `fut` with a deadline, naming the step in the error.
pub(super) async fn within<T, E>(
    limit: Duration,
    what: &str,
    fut: impl Future<Output = Result<T, E>>,
) -> anyhow::Result<T>
where
    E: Into<anyhow::Error>,
{
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r
            .map_err(Into::into)
            .with_context(|| format!("imap {what}")),
        Err(_) => bail!("imap {what}: timed out after {limit:?}"),
    }
}

/// Connects per the TLS setting and logs in.
pub(super) async fn open(settings: &ImapSettings) -> anyhow::Result<ImapSession> {
    if settings.tls == ImapTls::None && !is_loopback(&settings.host) {
        bail!(
            "plain IMAP (tls = \"none\") is only allowed to a loopback host, not {}",
            settings.host
        );
    }
    let tcp = TcpStream::connect((settings.host.as_str(), settings.port))
        .await
        .with_context(|| format!("connect to {}:{}", settings.host, settings.port))?;
    let client: Client<Conn> = match settings.tls {
        ImapTls::None => greeted(Client::new(Box::new(tcp) as Conn)).await?,
        ImapTls::Implicit => {
            let tls = tls_wrap(&settings.host, tcp).await?;
            greeted(Client::new(tls)).await?
        }
        ImapTls::StartTls => starttls(&settings.host, tcp).await?,
    };
    client
        .login(&settings.user, &settings.password)
        .await
        .map_err(|(e, _)| anyhow!(e))
        .with_context(|| format!("LOGIN as {}", settings.user))
}

/// Reads the server greeting, which async-imap leaves to the caller.
pub(super) async fn greeted(mut client: Client<Conn>) -> anyhow::Result<Client<Conn>> {
    let greeting = client
        .read_response()
        .await?
        .context("connection closed before the greeting")?;
    if let Response::Data {
        status: Status::Bye,
        ..
    } = greeting.parsed()
    {
        bail!("server said BYE in its greeting");
    }
    Ok(client)
}

/// Plain greeting, `STARTTLS`, then TLS on the same socket (no second greeting comes).
pub(super) async fn starttls(host: &str, tcp: TcpStream) -> anyhow::Result<Client<Conn>> {
    let mut client = greeted(Client::new(Box::new(tcp) as Conn)).await?;
    client
        .run_command_and_check_ok("STARTTLS", None)
        .await
        .context("server refused STARTTLS (required for imap://)")?;
    let plain = client.into_inner();
    let tls = tls_wrap(host, plain).await?;
    Ok(Client::new(tls))
}

/// TLS handshake checking the server against the system's roots (ring provider).
pub(super) async fn tls_wrap<S>(host: &str, io: S) -> anyhow::Result<Conn>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug + 'static,
{
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls_config()?));
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .with_context(|| format!("{host:?} is not a valid TLS server name"))?;
    let tls = connector
        .connect(name, io)
        .await
        .with_context(|| format!("TLS handshake with {host}"))?;
    Ok(Box::new(tls))
}

pub(super) fn tls_config() -> anyhow::Result<rustls::ClientConfig> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        bail!("no usable root certificates found ({:?})", found.errors);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
