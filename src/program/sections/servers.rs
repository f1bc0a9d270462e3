//! What `[mail]`, `[inbound]` and `[http]` say alike about a server: its URL's parts,
//! whether TLS may be off (only on loopback), and the names of the environment variables
//! that hold its secrets.

use crate::diagnostic::{Diagnostics, Span};
use crate::program::model::SmtpEndpoint;
use crate::program::reader::{self, Table, Value};
use crate::program::values::{self, ValueError};
use crate::vocab::host::is_loopback;

/// `scheme://user@host:port` or `schemes://…` (implicit TLS).
pub(super) fn endpoint(url: &str, scheme: &str, help: &str) -> Result<SmtpEndpoint, ValueError> {
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

/// `tls = "none"` (true) or `"required"`, and where it was written.
pub(super) fn tls_off(t: &mut Table<'_, '_>, diags: &mut Diagnostics) -> Option<(bool, Span)> {
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
pub(super) fn tls_required(
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

/// A `…_env` key's value: the name of an environment variable holding a secret.
pub(super) fn env_name(
    v: &Value<'_>,
    key: &str,
    example: &str,
    diags: &mut Diagnostics,
) -> Option<String> {
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
