//! The SMTP transport (lettre on tokio): STARTTLS required on `smtp://`, implicit TLS on
//! `smtps://`, plaintext only with `tls = "none"` to a loopback host (refused by the
//! loader otherwise). The password comes from an environment variable or a file, never
//! from the program file, and never appears in logs, errors or `Debug` output.
//!
//! Failures answer the caller's question: a 4xx reply, a timeout or a network error is
//! temporary (retry later), a 5xx reply is permanent (record it). After repeated
//! connection or authentication failures in a row the transport *pauses* (a circuit
//! breaker), doubling the pause up to 15 minutes, instead of feeding a retry storm.

use std::fmt;
use std::time::Duration;

use anyhow::{Context as _, bail};
use jiff::{SignedDuration, Timestamp};
use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::transport::SendError;
use crate::program::MailConfig;
use crate::store::Queued;

/// Consecutive connection or authentication failures that pause sending.
const BREAKER_THRESHOLD: u32 = 5;

pub struct Smtp {
    mailer: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::Address,
    described: String,
    /// Minimum time between two sends, from `rate`.
    interval: Option<Duration>,
    last_send: Option<std::time::Instant>,
    failures_in_a_row: u32,
    paused_until: Option<Timestamp>,
    pause: SignedDuration,
}

/// No credentials, no password: only where the mail goes.
impl fmt::Debug for Smtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp")
            .field("server", &self.described)
            .finish_non_exhaustive()
    }
}

impl Smtp {
    /// Builds the transport from `[mail]`; `from` is the organizer's address.
    pub fn new(config: &MailConfig, from: &str) -> anyhow::Result<Smtp> {
        let MailConfig::Smtp {
            url,
            tls,
            password_env,
            password_file,
            rate,
        } = config
        else {
            bail!("not an SMTP configuration");
        };
        let (implicit_tls, rest) = match url.strip_prefix("smtps://") {
            Some(rest) => (true, rest),
            None => (
                false,
                url.strip_prefix("smtp://")
                    .context("an smtp:// or smtps:// URL")?,
            ),
        };
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user.to_string()), host),
            None => (None, authority),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => (
                host.trim_matches(['[', ']']).to_string(),
                Some(port.parse::<u16>().context("the SMTP port")?),
            ),
            _ => (host_port.trim_matches(['[', ']']).to_string(), None),
        };
        let mut builder = if !*tls {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
                .port(port.unwrap_or(25))
        } else if implicit_tls {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&host)?.port(port.unwrap_or(465))
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)?.port(port.unwrap_or(587))
        };
        if let Some(user) = &user {
            let password = match (password_env, password_file) {
                (Some(var), _) => std::env::var(var).with_context(|| {
                    format!("the SMTP password: environment variable {var} is not set")
                })?,
                (None, Some(path)) => std::fs::read_to_string(path)
                    .with_context(|| format!("the SMTP password: cannot read {}", path.display()))?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
                (None, None) => bail!(
                    "the SMTP URL names user {user:?} but [mail] gives no password_env or password_file"
                ),
            };
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let mailer = builder
            .timeout(Some(Duration::from_secs(30)))
            .pool_config(PoolConfig::new().max_size(4))
            .build();
        let scheme = if implicit_tls { "smtps" } else { "smtp" };
        let described = format!(
            "{scheme}://{}{host}:{}{}",
            user.as_deref().map(|u| format!("{u}@")).unwrap_or_default(),
            port.unwrap_or(if !*tls {
                25
            } else if implicit_tls {
                465
            } else {
                587
            }),
            if *tls { "" } else { " (no TLS, loopback)" }
        );
        Ok(Smtp {
            mailer,
            from: from.parse().context("the organizer's address")?,
            described,
            interval: rate.map(|r| Duration::from_secs_f64(1.0 / r)),
            last_send: None,
            failures_in_a_row: 0,
            paused_until: None,
            pause: SignedDuration::from_secs(60),
        })
    }

    pub fn describe(&self) -> String {
        self.described.clone()
    }

    /// While the breaker is open, when sending resumes.
    pub fn paused_until(&self, now: Timestamp) -> Option<Timestamp> {
        self.paused_until.filter(|&until| until > now)
    }

    pub async fn send(&mut self, message: &Queued, now: Timestamp) -> Result<(), SendError> {
        if let Some(interval) = self.interval
            && let Some(last) = self.last_send
        {
            let elapsed = last.elapsed();
            if elapsed < interval {
                tokio::time::sleep(interval - elapsed).await;
            }
        }
        self.last_send = Some(std::time::Instant::now());
        let to: lettre::Address = message
            .recipient
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient {:?}: {e}", message.recipient)))?;
        let envelope = Envelope::new(Some(self.from.clone()), vec![to])
            .map_err(|e| SendError::Permanent(format!("envelope: {e}")))?;
        match self.mailer.send_raw(&envelope, &message.body).await {
            Ok(_) => {
                self.failures_in_a_row = 0;
                self.pause = SignedDuration::from_secs(60);
                Ok(())
            }
            Err(e) if e.is_permanent() => {
                self.failures_in_a_row = 0;
                Err(SendError::Permanent(e.to_string()))
            }
            Err(e) => {
                // A 4xx reply is the server's verdict on this message; anything else
                // (no connection, TLS, authentication, timeout) is the link, which the
                // breaker watches.
                if !e.is_transient() {
                    self.failures_in_a_row += 1;
                    if self.failures_in_a_row >= BREAKER_THRESHOLD {
                        let until = now.checked_add(self.pause).unwrap_or(now);
                        tracing::error!(server = %self.described, error = %e, resume_at = %until, "sending paused after repeated connection failures");
                        self.paused_until = Some(until);
                        self.pause = (self.pause * 2).min(SignedDuration::from_mins(15));
                        self.failures_in_a_row = 0;
                    }
                }
                Err(SendError::Transient(e.to_string()))
            }
        }
    }
}
