//! The program-wide sections: `[program]`, `[store]`, `[mail]`, `[inbound]` and `[http]`.

use std::path::{Path, PathBuf};

use jiff::civil::Date;

use super::reader::{self, Table, TableName, Value, email, name_text};
use super::values::{self, ValueError};
use super::zones::Zones;
use super::{
    HttpConfig, InboundConfig, Location, MailConfig, Mailbox, SmtpEndpoint, StoreConfig, Zone,
};
use crate::diagnostic::{Diagnostics, Span};

/// What `[program]` says, before people are known. Spans are absolute.
#[derive(Debug)]
pub struct ProgramHead {
    pub name: String,
    pub zone: Zone,
    pub start: Date,
    pub end: Option<Date>,
    pub coordinator: Option<(String, Span)>,
    pub organizer: Mailbox,
    pub skip: Vec<Date>,
    pub templates: Option<PathBuf>,
}

const PROGRAM_KEYS: &[&str] = &[
    "name",
    "timezone",
    "start",
    "end",
    "coordinator",
    "organizer",
    "skip",
    "templates",
];

pub fn program_head(
    value: &Value<'_>,
    base: &Path,
    zones: &mut Zones,
    diags: &mut Diagnostics,
) -> Option<ProgramHead> {
    let mut t = Table::from_value("[program]", value, diags)?;
    let name = t
        .require("name", diags, "\"Mentoring 2027\"")
        .and_then(|v| name_text(v, "name", diags));
    let zone = t
        .require("timezone", diags, "\"Europe/Berlin\"")
        .and_then(|v| zones.read(v, "timezone", diags));
    let start = t
        .require("start", diags, "2027-01-11")
        .and_then(|v| reader::date(v, "start", "2027-01-11", diags));
    let end = t
        .get("end")
        .map(|v| (reader::date(v, "end", "2027-06-30", diags), v.span()));
    let coordinator = t.require("coordinator", diags, "\"ada\"").and_then(|v| {
        reader::string(v, "coordinator", "\"ada\"", diags)
            .map(|s| (s.to_string(), diags.absolute(v.span())))
    });
    let organizer = t
        .require(
            "organizer",
            diags,
            "{ name = \"Mentoring Program\", email = \"mentoring@example.org\" }",
        )
        .and_then(|v| mailbox(v, "organizer", diags));
    let mut skip = t
        .get("skip")
        .and_then(|v| {
            reader::list(v, "skip", "[2027-04-05]", false, diags, |d, diags| {
                reader::date(d, "skip", "[2027-04-05, 2027-05-24]", diags)
            })
        })
        .unwrap_or_default();
    skip.sort_unstable();
    skip.dedup();
    let templates = t.get("templates").and_then(|v| {
        let folder = reader::string(v, "templates", "\"templates\"", diags)?;
        let relative = Path::new(folder);
        // A relative folder stays inside the program's own folder: `../..` would mail
        // whatever files sit there under a template's name. An absolute one is taken as
        // the coordinator's deliberate choice.
        let escapes = !relative.is_absolute()
            && relative
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir));
        let path = base.join(folder);
        if escapes {
            diags
                .error(
                    v.span(),
                    format!("`templates`: {folder:?} leaves the program file's folder"),
                )
                .help("keep the templates in a folder beside the program file, e.g. \"templates\", or give an absolute path");
            None
        } else if path.is_dir() {
            Some(path)
        } else {
            diags
                .error(
                    v.span(),
                    format!("`templates`: there is no folder {folder:?} next to the program file"),
                )
                .help("create the folder (it holds your overrides of the built-in templates) or remove the key");
            None
        }
    });
    t.finish(&[PROGRAM_KEYS], diags);
    let mut end = end;
    if let (Some((Some(e), span)), Some(s)) = (&end, start)
        && *e < s
    {
        diags
            .error(span.clone(), format!("`end` ({e}) is before `start` ({s})"))
            .help("the program must end on or after its start date");
        end = None;
    }
    Some(ProgramHead {
        name: name?,
        zone: zone?,
        start: start?,
        end: end.and_then(|(d, _)| d),
        coordinator,
        organizer: organizer?,
        skip,
        templates,
    })
}

fn mailbox(value: &Value<'_>, key: &'static str, diags: &mut Diagnostics) -> Option<Mailbox> {
    let mut t = Table::from_value(TableName::Key(key), value, diags)?;
    let name = t
        .require("name", diags, "\"Mentoring Program\"")
        .and_then(|v| name_text(v, "name", diags));
    let email = t
        .require("email", diags, "\"mentoring@example.org\"")
        .and_then(|v| email(v, "\"mentoring@example.org\"", diags));
    t.finish(&[&["name", "email"]], diags);
    Some(Mailbox {
        name: name?,
        email: email?,
    })
}

pub fn store(value: &Value<'_>, base: &Path, diags: &mut Diagnostics) -> Option<StoreConfig> {
    let mut t = Table::from_value("[store]", value, diags)?;
    let location = t.get("url").and_then(|v| {
        reader::parsed(v, "url", "\"sqlite://mentord.db\"", diags, |s| {
            store_location(s, base)
        })
    });
    t.finish(&[&["url"]], diags);
    Some(StoreConfig {
        location: location.unwrap_or_else(|| default_store(base)),
    })
}

/// The store when `[store]` says nothing: `mentord.db` beside the program file.
pub fn default_store(base: &Path) -> Location {
    Location::Sqlite(base.join("mentord.db"))
}

/// A store URL: `postgres://…` as written; `sqlite://FILE` (or `sqlite:FILE`), a
/// relative path taken from the program file's folder.
fn store_location(url: &str, base: &Path) -> Result<Location, ValueError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Location::Postgres(url.to_string()));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|path| !path.is_empty())
        .ok_or_else(|| {
            values::invalid(
                format!("\"{}\" is not a store URL", super::redact(url)),
                "use \"sqlite://mentord.db\" or \"postgres://user@host/db\"",
            )
        })?;
    let path = Path::new(path);
    Ok(Location::Sqlite(if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }))
}

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
pub fn mail(
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
        .unwrap_or(super::DEFAULT_CONNECTIONS);
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
fn smtp_endpoint(url: &str) -> Result<SmtpEndpoint, ValueError> {
    let help = "write \"smtp://user@host:587\" (STARTTLS) or \"smtps://user@host:465\"; the password goes in an environment variable";
    endpoint(url, "smtp", help)
}

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

/// `scheme://user@host:port` or `schemes://…` (implicit TLS).
fn endpoint(url: &str, scheme: &str, help: &str) -> Result<SmtpEndpoint, ValueError> {
    let secure = format!("{scheme}s://");
    let plain = format!("{scheme}://");
    let (implicit_tls, rest) = match (url.strip_prefix(&secure), url.strip_prefix(&plain)) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => {
            return Err(values::invalid(
                format!("\"{url}\" is not a {plain} or {secure} URL"),
                help,
            ));
        }
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let (user, host_port) = match authority.rsplit_once('@') {
        Some((user, host)) => {
            if user.contains(':') {
                return Err(values::invalid(
                    "the URL contains a password",
                    "remove it from the URL and set `password_env = \"MENTORD_SMTP_PASSWORD\"`",
                ));
            }
            (Some(user.to_string()).filter(|u| !u.is_empty()), host)
        }
        None => (None, authority),
    };
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((host, rest)) => (host, rest.strip_prefix(':')),
            None => {
                return Err(values::invalid(
                    format!("\"{url}\" has an unclosed [ in its host"),
                    help,
                ));
            }
        },
        None => match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    if host.is_empty() {
        return Err(values::invalid(format!("\"{url}\" has no host"), help));
    }
    let port = match port {
        None => None,
        Some(port) => Some(
            port.parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| values::invalid(format!("\"{port}\" is not a port"), help))?,
        ),
    };
    Ok(SmtpEndpoint {
        implicit_tls,
        user,
        host: host.to_string(),
        port,
    })
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
pub struct Inbound {
    pub imap: Option<InboundConfig>,
    pub authserv_id: Option<String>,
}

/// `[inbound]`.
pub fn inbound(value: &Value<'_>, base: &Path, diags: &mut Diagnostics) -> Inbound {
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

/// `tls = "none"` (true) or `"required"`, and where it was written.
fn tls_off(t: &mut Table<'_, '_>, diags: &mut Diagnostics) -> Option<(bool, Span)> {
    t.get("tls").and_then(|v| {
        reader::parsed(v, "tls", "\"none\"", diags, |s| match s {
            "none" => Ok(true),
            "required" => Ok(false),
            _ => Err(values::invalid(
                format!("unknown tls setting \"{s}\""),
                "leave `tls` out (TLS is required), or write \"none\" for a loopback test server",
            )),
        })
        .map(|off| (off, v.span()))
    })
}

/// Whether TLS is used: always, unless `tls = "none"` for a loopback host (anything else
/// is refused, so a password never crosses a network in clear).
fn tls_required(
    tls_off: Option<(bool, Span)>,
    host: &str,
    protocol: &str,
    diags: &mut Diagnostics,
) -> bool {
    let Some((true, span)) = tls_off else {
        return true;
    };
    if !is_loopback(host) {
        diags
            .error(
                span,
                format!("`tls = \"none\"` is refused for \"{host}\": it is not a loopback address"),
            )
            .help(format!(
                "plaintext {protocol} is only for a test server on 127.0.0.1; remove `tls` to require TLS"
            ));
    }
    false
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A `…_env` key's value: the name of an environment variable holding a secret.
fn env_name(v: &Value<'_>, key: &str, example: &str, diags: &mut Diagnostics) -> Option<String> {
    reader::parsed(v, key, &format!("\"{example}\""), diags, |s| {
        let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok {
            Ok(s.to_string())
        } else {
            Err(values::invalid(
                format!("\"{s}\" is not an environment variable name"),
                format!("name the variable that holds the secret, e.g. \"{example}\""),
            ))
        }
    })
}

/// `NAME_env` or `NAME_file` (not both).
fn secret_source(
    t: &mut Table<'_, '_>,
    name: &str,
    example: &str,
    base: &Path,
    diags: &mut Diagnostics,
) -> Option<super::SecretSource> {
    let env_key = format!("{name}_env");
    let file_key = format!("{name}_file");
    let env = t
        .get(&env_key)
        .and_then(|v| env_name(v, &env_key, example, diags).map(|n| (n, v.span())));
    let file = t
        .get(&file_key)
        .and_then(|v| reader::string(v, &file_key, "\"/run/secrets/mentord\"", diags))
        .map(|p| base.join(p));
    match (env, file) {
        (Some((_, span)), Some(_)) => {
            diags
                .error(span, format!("both `{env_key}` and `{file_key}` are set"))
                .help("keep one of them");
            None
        }
        (Some((name, _)), None) => Some(super::SecretSource::Env(name)),
        (None, Some(path)) => Some(super::SecretSource::File(path)),
        (None, None) => None,
    }
}

/// `https://host[:port][/path]`, or `http://` for a loopback host; kept without a
/// trailing slash.
fn public_url(text: &str) -> Result<String, ValueError> {
    let help = "write the address people reach mentord at, e.g. \"https://mentoring.example.org\"";
    let (secure, rest) = match (text.strip_prefix("https://"), text.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        _ => {
            return Err(values::invalid(
                format!("\"{text}\" is not an http(s) URL"),
                help,
            ));
        }
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() || authority.contains('@') || text.contains(['?', '#', ' ']) {
        return Err(values::invalid(
            format!("\"{text}\" is not a usable public URL"),
            help,
        ));
    }
    if !secure && !is_loopback(host) {
        return Err(values::invalid(
            format!(
                "\"{text}\" is not https: links in mail would carry their tokens in clear text"
            ),
            "use https:// (plain http:// only for a loopback test)",
        ));
    }
    Ok(text.trim_end_matches('/').to_string())
}

pub fn http(value: &Value<'_>, base: &Path, diags: &mut Diagnostics) -> Option<HttpConfig> {
    let mut t = Table::from_value("[http]", value, diags)?;
    let listen = t.get("listen").and_then(|v| {
        reader::parsed(v, "listen", "\"127.0.0.1:8025\"", diags, |s| {
            s.parse().map_err(|_| {
                values::invalid(
                    format!("\"{s}\" is not an address and port"),
                    "write e.g. \"127.0.0.1:8025\"",
                )
            })
        })
    });
    let public_url = t.get("public_url").and_then(|v| {
        reader::parsed(
            v,
            "public_url",
            "\"https://mentoring.example.org\"",
            diags,
            public_url,
        )
    });
    let secret = secret_source(&mut t, "secret", "MENTORD_SECRET", base, diags);
    let password_at = ["password_env", "password_file"]
        .into_iter()
        .find_map(|key| t.get(key).map(|v| diags.absolute(v.span())));
    let password = secret_source(&mut t, "password", "MENTORD_STATUS_PASSWORD", base, diags);
    let table_span = t.span.clone();
    t.finish(
        &[&[
            "listen",
            "public_url",
            "secret_env",
            "secret_file",
            "password_env",
            "password_file",
        ]],
        diags,
    );
    if public_url.is_some() && secret.is_none() {
        diags
            .error(table_span, "[http] has a `public_url` but no key to sign links with")
            .help("add `secret_env = \"MENTORD_SECRET\"` (or `secret_file`): at least 32 random bytes, e.g. from `openssl rand -base64 48`");
    }
    Some(HttpConfig {
        listen,
        public_url,
        secret,
        password,
        password_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The URLs are read once, here; the transport and the store take the parts.
    #[test]
    fn urls_are_read_into_their_parts() {
        let endpoint = |url: &str| smtp_endpoint(url).map_err(|e| e.message);
        assert_eq!(
            endpoint("smtps://mentoring@mail.example.org:465"),
            Ok(SmtpEndpoint {
                implicit_tls: true,
                user: Some("mentoring".into()),
                host: "mail.example.org".into(),
                port: Some(465),
            })
        );
        assert_eq!(
            endpoint("smtp://[::1]:2525"),
            Ok(SmtpEndpoint {
                implicit_tls: false,
                user: None,
                host: "::1".into(),
                port: Some(2525),
            })
        );
        assert_eq!(
            endpoint("smtp://mail.example.org").map(|e| e.port),
            Ok(None)
        );
        assert!(endpoint("smtp://mail.example.org:99999").is_err());
        assert!(endpoint("smtp://user:secret@mail.example.org").is_err());
        assert!(endpoint("http://mail.example.org").is_err());

        let base = Path::new("/srv/mentoring");
        assert_eq!(
            store_location("sqlite://state/mentord.db", base).ok(),
            Some(Location::Sqlite(base.join("state/mentord.db")))
        );
        assert_eq!(
            store_location("sqlite:///var/lib/mentord/mentord.db", base).ok(),
            Some(Location::Sqlite("/var/lib/mentord/mentord.db".into()))
        );
        assert_eq!(
            store_location("postgres://m@db/mentoring", base).ok(),
            Some(Location::Postgres("postgres://m@db/mentoring".into()))
        );
        assert!(store_location("sqlite://", base).is_err());
        assert!(store_location("mysql://db", base).is_err());
    }
}
