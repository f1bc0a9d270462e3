//! `[inbound]`: the IMAP mailbox replies reach mentord in, and the receiving server whose
//! `Authentication-Results` mentord trusts.

use std::path::Path;

use super::servers::{endpoint, env_name, tls_off, tls_required};
use crate::diagnostic::Diagnostics;
use crate::program::model::{InboundConfig, SmtpEndpoint};
use crate::program::reader::{self, Table, Value};
use crate::program::values::{self, ValueError};

/// An IMAP server from `[inbound] imap`: `imaps://` (TLS from the first byte) or
/// `imap://` (STARTTLS), the same shape as an SMTP URL.
fn imap_endpoint(url: &str) -> Result<SmtpEndpoint, ValueError> {
    let help = "write \"imaps://user@host\" (TLS) or \"imap://user@host:143\" (STARTTLS); the password goes in an environment variable or a file";
    let endpoint = endpoint(url, "imap", help)?;
    if endpoint.user.is_none() {
        return Err(values::invalid(
            format!("\"{url}\" names no user"),
            "write the mailbox's user before the host: \"imaps://mentoring@mail.example.org\"",
        ));
    }
    Ok(endpoint)
}

const INBOUND_KEYS: &[&str] = &[
    "imap",
    "tls",
    "password_env",
    "password_file",
    "folder",
    "done_folder",
    "authserv_id",
];

/// What `[inbound]` says: the IMAP mailbox replies reach mentord in (`imap`; without it,
/// a mail server pipes mail into `mentord deliver`), and the receiving server whose
/// `Authentication-Results` mentord trusts.
#[derive(Debug, Default)]
pub(crate) struct Inbound {
    pub(crate) imap: Option<InboundConfig>,
    pub(crate) authserv_id: Option<String>,
}

/// `[inbound]`.
pub(crate) fn inbound(value: &Value<'_>, base: &Path, diags: &mut Diagnostics) -> Inbound {
    let Some(mut t) = Table::from_value("[inbound]", value, diags) else {
        return Inbound::default();
    };
    let authserv_id = t
        .get("authserv_id")
        .and_then(|v| reader::parsed(v, "authserv_id", "\"mx.example.org\"", diags, authserv_id));
    // `authserv_id` alone (mail piped into `deliver`) needs no mailbox.
    let wants_imap = INBOUND_KEYS
        .iter()
        .any(|&k| k != "authserv_id" && t.key_span(k).is_some());
    let imap = if wants_imap || authserv_id.is_none() {
        imap(t, base, diags)
    } else {
        t.finish(&[INBOUND_KEYS], diags);
        None
    };
    Inbound { imap, authserv_id }
}

/// An authserv-id (RFC 8601 §2.5): the receiving server's name as it writes it first in
/// its `Authentication-Results`.
fn authserv_id(text: &str) -> Result<String, ValueError> {
    let valid = !text.is_empty()
        && text.len() <= 255
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if !valid {
        return Err(values::invalid(
            format!("{text:?} is not an authserv-id"),
            "write the name your receiving mail server puts first in the Authentication-Results \
             header it adds, e.g. \"mx.example.org\"",
        ));
    }
    Ok(text.to_ascii_lowercase())
}

/// `[inbound]`'s IMAP mailbox.
fn imap(mut t: Table<'_, '_>, base: &Path, diags: &mut Diagnostics) -> Option<InboundConfig> {
    let url_value = t.require("imap", diags, "\"imaps://mentoring@mail.example.org\"");
    let endpoint = url_value.and_then(|v| {
        reader::parsed(
            v,
            "imap",
            "\"imaps://mentoring@mail.example.org\"",
            diags,
            imap_endpoint,
        )
    });
    let tls_off = tls_off(&mut t, diags);
    let password_env = t
        .get("password_env")
        .and_then(|v| env_name(v, "password_env", "MENTORD_IMAP_PASSWORD", diags));
    let password_file = t
        .get("password_file")
        .and_then(|v| reader::string(v, "password_file", "\"/run/secrets/imap\"", diags))
        .map(|p| base.join(p));
    let folder = t
        .get("folder")
        .and_then(|v| reader::parsed(v, "folder", "\"INBOX\"", diags, mailbox_name));
    let done_folder = t
        .get("done_folder")
        .and_then(|v| reader::parsed(v, "done_folder", "\"mentord\"", diags, mailbox_name));
    let table_span = t.span.clone();
    t.finish(&[INBOUND_KEYS], diags);
    let endpoint = endpoint?;
    if password_env.is_none() && password_file.is_none() {
        diags
            .error(table_span, "[inbound] has no password")
            .help("add `password_env = \"MENTORD_IMAP_PASSWORD\"` (or `password_file`)");
    }
    let tls = tls_required(tls_off, &endpoint.host, "IMAP", diags);
    Some(InboundConfig {
        endpoint,
        tls,
        password_env,
        password_file,
        folder: folder.unwrap_or_else(|| "INBOX".into()),
        done_folder: done_folder.unwrap_or_else(|| "mentord".into()),
    })
}

fn mailbox_name(text: &str) -> Result<String, ValueError> {
    if text.is_empty() || text.chars().any(|c| c.is_control()) {
        return Err(values::invalid(
            format!("{text:?} is not a mailbox name"),
            "write a folder name such as \"INBOX\" or \"mentord\"",
        ));
    }
    Ok(text.to_string())
}
