//! `[mail]`: the transport (a folder of `.eml` files or an SMTP relay), its URL, TLS,
//! password, pace and sessions, and the Reply-To of mail that asks for an answer.

use std::path::{Path, PathBuf};

use super::servers::{endpoint, env_name, tls_off, tls_required};
use crate::diagnostic::Diagnostics;
use crate::program::model::{DEFAULT_CONNECTIONS, MailConfig, SmtpEndpoint};
use crate::program::reader::{self, Table, Value};
use crate::program::values::{self, ValueError};

const MAIL_KEYS: &[&str] = &[
    "transport",
    "dir",
    "url",
    "tls",
    "password_env",
    "password_file",
    "rate",
    "connections",
    "reply_to",
];

/// `[mail]`; its `reply_to` (for any transport) goes to `reply_to`.
pub(crate) fn mail(
    value: &Value<'_>,
    base: &Path,
    diags: &mut Diagnostics,
    reply_to: &mut Option<String>,
) -> Option<MailConfig> {
    let mut t = Table::from_value("[mail]", value, diags)?;
    *reply_to = t.get("reply_to").and_then(|v| {
        reader::parsed(
            v,
            "reply_to",
            "\"mentoring+{token}@example.org\"",
            diags,
            values::parse_reply_to,
        )
    });
    let transport = t.get("transport").and_then(|v| {
        reader::parsed(v, "transport", "\"file\"", diags, |s| match s {
            "file" | "smtp" => Ok(s.to_string()),
            _ => Err(values::invalid(
                format!("unknown transport \"{s}\""),
                "use \"file\" or \"smtp\"",
            )),
        })
    });
    let dir = t
        .get("dir")
        .and_then(|v| reader::parsed(v, "dir", "\"outbox\"", diags, |d| mail_dir(base, d)));
    let url = t.get("url");
    let tls_off = tls_off(&mut t, diags);
    let password_env = t
        .get("password_env")
        .and_then(|v| env_name(v, "password_env", "MENTORD_SMTP_PASSWORD", diags));
    let password_file = t
        .get("password_file")
        .and_then(|v| reader::string(v, "password_file", "\"/run/secrets/smtp\"", diags))
        .map(|p| base.join(p));
    let rate = t
        .get("rate")
        .and_then(|v| reader::parsed(v, "rate", "\"10/s\"", diags, values::parse_rate))
        .unwrap_or_default();
    let connections = t
        .get("connections")
        .and_then(|v| connections(v, diags))
        .unwrap_or(DEFAULT_CONNECTIONS);
    let table_span = t.span.clone();
    t.finish(&[MAIL_KEYS], diags);
    if transport.as_deref() != Some("smtp") {
        return Some(MailConfig::File {
            dir: dir.unwrap_or_else(|| base.join("outbox")),
            connections,
        });
    }
    let Some(url_value) = url else {
        diags
            .error(
                table_span,
                "[mail] uses transport \"smtp\" but has no `url`",
            )
            .help("add `url = \"smtp://user@mail.example.org:587\"`");
        return None;
    };
    let url = reader::string(url_value, "url", "\"smtp://mail.example.org:587\"", diags)?;
    let endpoint = match smtp_endpoint(url) {
        Ok(endpoint) => endpoint,
        Err(e) => {
            reader::report(diags, url_value.span(), "url", e);
            return None;
        }
    };
    let tls = tls_required(tls_off, &endpoint.host, "SMTP", diags);
    Some(MailConfig::Smtp {
        endpoint,
        tls,
        password_env,
        password_file,
        rate,
        connections,
    })
}

/// The most sessions `[mail] connections` may ask for: more only add load on the relay.
const MAX_CONNECTIONS: i64 = 32;

/// `[mail] connections`: a whole number of sessions, 1 to [`MAX_CONNECTIONS`].
fn connections(value: &reader::Value<'_>, diags: &mut Diagnostics) -> Option<u32> {
    let help = format!(
        "write a whole number from 1 to {MAX_CONNECTIONS}, e.g. `connections = 4` (1 for a relay that takes one session at a time)"
    );
    let number = match value.get_ref() {
        toml::de::DeValue::Integer(n) => i64::from_str_radix(n.as_str(), n.radix()).ok(),
        _ => None,
    };
    match number {
        Some(n) if (1..=MAX_CONNECTIONS).contains(&n) => Some(n as u32),
        Some(n) => {
            diags
                .error(value.span(), format!("`connections`: {n} is out of range"))
                .help(help);
            None
        }
        None => {
            diags
                .error(
                    value.span(),
                    format!(
                        "`connections` must be a whole number, not {}",
                        reader::type_name(value.get_ref())
                    ),
                )
                .help(help);
            None
        }
    }
}

/// The folder `.eml` files are written to: a folder, or a path where one can be made.
fn mail_dir(base: &Path, dir: &str) -> Result<PathBuf, ValueError> {
    let help = "name a folder for the .eml files, e.g. \"outbox\" (made when missing; relative to the program file)";
    if dir.trim().is_empty() {
        return Err(values::invalid("is empty", help));
    }
    let path = base.join(dir);
    match std::fs::metadata(&path) {
        Ok(meta) if !meta.is_dir() => Err(values::invalid(
            format!("{dir:?} exists and is not a folder"),
            help,
        )),
        _ => Ok(path),
    }
}

/// Returns the host of an SMTP URL, refusing a password written into it.
/// `smtp://[user@]host[:port]` or `smtps://…`, read once: nothing parses it again.
pub(super) fn smtp_endpoint(url: &str) -> Result<SmtpEndpoint, ValueError> {
    let help = "write \"smtp://user@host:587\" (STARTTLS) or \"smtps://user@host:465\"; the password goes in an environment variable";
    endpoint(url, "smtp", help)
}
