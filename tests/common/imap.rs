//! tests/common/imap.rs — a real IMAP server (Dovecot) for tests.
//!
//! Owns: starting `dovecot -F` with a config of its own in a temp dir (passwd-file auth,
//! maildir, plain IMAP on a free 127.0.0.1 port, optional implicit TLS with a self-signed
//! cert), a plain async-imap client to append and list mail, delivering mail while the server
//! is down (straight into the maildir), changing UIDVALIDITY (doveadm), restart, and stopping
//! the server on drop. Needs Debian's `dovecot-imapd` (it is never started as a system
//! service); without it `start` fails saying so.
//!
//! Runs as any user: as root, Dovecot refuses root for its login and mail processes, so those
//! run as the `dovenull`/`dovecot` accounts the package creates, and the mail dir is made
//! writable for them.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
#![allow(dead_code)] // Each test binary uses a different part of the harness.

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use async_imap::Client;
use futures_util::TryStreamExt as _;
use tokio::net::TcpStream;

pub const USER: &str = "tester";
pub const PASSWORD: &str = "s3cret-pw";
const DOVECOT: &str = "/usr/sbin/dovecot";

/// One message as the server holds it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub uid: u32,
    pub flags: Vec<String>,
    pub subject: String,
}

impl Listed {
    pub fn seen(&self) -> bool {
        self.flags.iter().any(|f| f == "Seen")
    }
}

/// How to set the server up; `Default` is plain IMAP with Dovecot's own capabilities.
#[derive(Debug, Default, Clone, Copy)]
pub struct Options {
    /// Also listen with implicit TLS (and offer STARTTLS) with a self-signed cert for
    /// `localhost`, its PEM at [`ImapServer::cert_path`].
    pub tls: bool,
    /// Replace the capabilities advertised after login (e.g. without MOVE, to exercise a
    /// client's fallback; Dovecot still accepts the commands).
    pub capabilities: Option<&'static str>,
}

/// A running Dovecot; stopped (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct ImapServer {
    dir: tempfile::TempDir,
    pub port: u16,
    /// Port of the implicit-TLS listener, with `Options { tls: true, .. }`.
    pub tls_port: Option<u16>,
    child: Option<Child>,
}

impl ImapServer {
    /// Plain IMAP only.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> anyhow::Result<Self> {
        // tests/ical/setup.sh installs the Debian packages the tests need, Dovecot too.
        super::python();
        if !Path::new(DOVECOT).exists() {
            bail!(
                "{DOVECOT} not found: install Dovecot with `apt-get install -y dovecot-imapd` \
                 (the tests start their own instance; the system service is not used)"
            );
        }
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let tls_port = if options.tls {
            Some(free_port()?)
        } else {
            None
        };
        let mut server = Self {
            dir,
            port,
            tls_port,
            child: None,
        };
        server.write_files(options)?;
        server.spawn().await?;
        Ok(server)
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn conf_path(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("dovecot.log")
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn write_files(&self, options: Options) -> anyhow::Result<()> {
        let root = self.dir.path();
        let accounts = Accounts::detect()?;
        for sub in ["run", "state", "home"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        // Dovecot's unprivileged processes (other users when we are root) must reach these.
        set_mode(root, 0o755)?;
        set_mode(&root.join("home"), 0o777)?;
        let passwd = root.join("passwd");
        std::fs::write(&passwd, format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"))?;
        set_mode(&passwd, 0o644)?;
        if options.tls {
            make_cert(root)?;
        }
        let mut conf = dovecot_conf(root, self.port, self.tls_port, &accounts);
        if let Some(caps) = options.capabilities {
            conf.push_str(&format!("imap_capability = {caps}\n"));
        }
        std::fs::write(self.conf_path(), conf)?;
        Ok(())
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("dovecot.stderr"))?;
        let child = Command::new(DOVECOT)
            // Own process group: on stop, its imap processes must die with the master (left
            // alone they keep serving open sessions for seconds after the master is gone).
            .process_group(0)
            .arg("-F")
            .arg("-c")
            .arg(self.conf_path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("spawn dovecot")?;
        self.child = Some(child);
        self.wait_ready().await
    }

    /// Ready once a client gets the greeting and can log in.
    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "dovecot exited ({status}): {}\n{}",
                    std::fs::read_to_string(self.dir.path().join("dovecot.stderr"))
                        .unwrap_or_default(),
                    self.log()
                );
            }
            match self.session().await {
                Ok(mut s) => {
                    s.logout().await.ok();
                    return Ok(());
                }
                Err(e) if Instant::now() > deadline => {
                    return Err(e.context(format!("dovecot not ready: {}", self.log())));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Stops the server and every process of it (open sessions drop), keeping its data.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        signal_group(&child, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait()?.is_none() || group_alive(&child) {
            if Instant::now() > deadline {
                signal_group(&child, "-KILL");
                child.wait()?;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Starts again after [`ImapServer::stop`], same port and mail.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        self.spawn().await
    }

    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        self.start_again().await
    }

    /// A logged-in plain session of our own.
    pub async fn session(&self) -> anyhow::Result<async_imap::Session<TcpStream>> {
        session_on(self.port).await
    }

    /// APPENDs a mail (no flags) to `folder`, creating the folder if needed.
    pub async fn append(&self, folder: &str, raw: &[u8]) -> anyhow::Result<()> {
        append_on(self.port, folder, raw).await
    }

    /// The messages in `folder` with their flags (read-only: EXAMINE, BODY.PEEK).
    pub async fn list(&self, folder: &str) -> anyhow::Result<Vec<Listed>> {
        let mut s = self.session().await?;
        let mailbox = match s.examine(folder).await {
            Ok(m) => m,
            Err(async_imap::error::Error::No(_)) => return Ok(Vec::new()), // no such folder
            Err(e) => return Err(e.into()),
        };
        if mailbox.exists == 0 {
            return Ok(Vec::new());
        }
        let fetches: Vec<_> = s
            .uid_fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            .await?
            .try_collect()
            .await?;
        let mut out: Vec<Listed> = fetches
            .iter()
            .map(|f| Listed {
                uid: f.uid.unwrap_or(0),
                flags: f.flags().map(|fl| flag_name(&fl)).collect(),
                subject: subject_of(f.header().unwrap_or_default()),
            })
            .collect();
        s.logout().await.ok();
        out.sort_by_key(|l| l.uid);
        Ok(out)
    }

    /// Puts a mail straight into the maildir, as a delivery agent would; works while the
    /// server is down (it indexes the file when it next looks).
    pub fn deliver_offline(&self, folder: &str, raw: &[u8]) -> anyhow::Result<()> {
        let maildir = self.dir.path().join("home").join(USER).join("Maildir");
        let base = if folder == "INBOX" {
            maildir
        } else {
            maildir.join(format!(".{folder}"))
        };
        // A unique maildir name: a counter, not the clock (only clock::now reads it).
        static DELIVERED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = DELIVERED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{n}.P{}.mentord-test", std::process::id());
        let tmp = base.join("tmp").join(&name);
        std::fs::write(&tmp, raw)?;
        set_mode(&tmp, 0o666)?;
        std::fs::rename(&tmp, base.join("new").join(&name))?;
        Ok(())
    }

    /// Gives `folder` a new UIDVALIDITY (mail stays), as after a server-side rebuild.
    pub fn set_uid_validity(&self, folder: &str, uid_validity: u32) -> anyhow::Result<()> {
        self.doveadm(&[
            "mailbox",
            "update",
            "--uid-validity",
            &uid_validity.to_string(),
            "-u",
            USER,
            folder,
        ])
    }

    fn doveadm(&self, args: &[&str]) -> anyhow::Result<()> {
        let conf = self.conf_path();
        let out = Command::new("doveadm")
            .arg("-c")
            .arg(&conf)
            .args(args)
            .output()
            .context("run doveadm")?;
        if !out.status.success() {
            bail!("doveadm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }
}

/// A logged-in plain session to a test server on `port` (e.g. from another process).
pub async fn session_on(port: u16) -> anyhow::Result<async_imap::Session<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let mut client = Client::new(tcp);
    client.read_response().await?.context("no greeting")?;
    client
        .login(USER, PASSWORD)
        .await
        .map_err(|(e, _)| anyhow::anyhow!(e))
}

/// [`ImapServer::append`] for a test server on `port` (e.g. from another process).
pub async fn append_on(port: u16, folder: &str, raw: &[u8]) -> anyhow::Result<()> {
    let mut s = session_on(port).await?;
    if folder != "INBOX" {
        s.create(folder).await.ok();
    }
    s.append(folder, None, None, raw).await?;
    s.logout().await.ok();
    Ok(())
}

impl Drop for ImapServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_group(&child, "-TERM");
            let deadline = Instant::now() + Duration::from_secs(10);
            while (matches!(child.try_wait(), Ok(None)) || group_alive(&child))
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            signal_group(&child, "-KILL");
            child.wait().ok();
        }
    }
}

/// Who Dovecot's processes run as.
#[derive(Debug)]
struct Accounts {
    login_user: String,
    internal_user: String,
    internal_group: String,
    mail_uid: String,
    mail_gid: String,
}

impl Accounts {
    fn detect() -> anyhow::Result<Self> {
        let uid = id(&["-u"])?;
        if uid == "0" {
            // Dovecot refuses to run login or mail processes as root.
            return Ok(Self {
                login_user: "dovenull".into(),
                internal_user: "dovecot".into(),
                internal_group: "dovecot".into(),
                mail_uid: "dovecot".into(),
                mail_gid: "dovecot".into(),
            });
        }
        let user = id(&["-un"])?;
        let group = id(&["-gn"])?;
        Ok(Self {
            login_user: user.clone(),
            internal_user: user,
            internal_group: group,
            mail_uid: uid,
            mail_gid: id(&["-g"])?,
        })
    }
}

fn id(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("id").args(args).output().context("run id")?;
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

fn dovecot_conf(root: &Path, port: u16, tls_port: Option<u16>, a: &Accounts) -> String {
    let root = root.display();
    let ssl = match tls_port {
        Some(_) => format!(
            "ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem\n\
             ssl_min_protocol = TLSv1.2\n"
        ),
        None => "ssl = no\n".to_owned(),
    };
    let imaps_port = tls_port.unwrap_or(0);
    format!(
        r#"protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
{ssl}disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login}
default_internal_user = {internal}
default_internal_group = {group}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{root}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service anvil {{
  chroot =
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
"#,
        login = a.login_user,
        internal = a.internal_user,
        group = a.internal_group,
        uid = a.mail_uid,
        gid = a.mail_gid,
    )
}

/// A self-signed cert for `localhost` (openssl CLI, which dovecot-core pulls in).
fn make_cert(root: &Path) -> anyhow::Result<()> {
    let out = Command::new("openssl")
        .current_dir(root)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            // webpki rejects a CA cert as the server's own (CaUsedAsEndEntity).
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ])
        .output()
        .context("run openssl (apt-get install -y openssl)")?;
    if !out.status.success() {
        bail!("openssl: {}", String::from_utf8_lossy(&out.stderr));
    }
    set_mode(&root.join("key.pem"), 0o644)?;
    Ok(())
}

/// Signals the server's process group (the master and all its children; ours by id).
fn signal_group(child: &Child, signal: &str) {
    Command::new("kill")
        .args([signal, "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status()
        .ok();
}

/// Whether any process of the server's group is still there.
fn group_alive(child: &Child) -> bool {
    Command::new("kill")
        .args(["-0", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", path.display()))
}

/// A port free right now (the small race with other processes is accepted in tests).
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn flag_name(flag: &async_imap::types::Flag<'_>) -> String {
    use async_imap::types::Flag;
    match flag {
        Flag::Seen => "Seen".into(),
        Flag::Answered => "Answered".into(),
        Flag::Flagged => "Flagged".into(),
        Flag::Deleted => "Deleted".into(),
        Flag::Draft => "Draft".into(),
        Flag::Recent => "Recent".into(),
        Flag::MayCreate => "MayCreate".into(),
        Flag::Custom(c) => c.to_string(),
    }
}

fn subject_of(header: &[u8]) -> String {
    let text = String::from_utf8_lossy(header);
    text.lines()
        .find_map(|l| l.strip_prefix("Subject:"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// A small RFC 5322 mail; `subject` doubles as its identity in tests.
pub fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: someone@example.org\r\nTo: mentord@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\n\
         Reply body for {subject}.\r\n"
    )
    .into_bytes()
}
