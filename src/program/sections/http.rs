//! `[http]`: where mentord listens, the public URL its links point at, and where the key
//! that signs links and the coordinator's page password come from.

use std::path::Path;

use super::servers::env_name;
use crate::diagnostic::Diagnostics;
use crate::program::model::{HttpConfig, SecretSource};
use crate::program::reader::{self, Table, Value};
use crate::program::values::{self, ValueError};
use crate::vocab::host::is_loopback;

/// `NAME_env` or `NAME_file` (not both).
fn secret_source(
    t: &mut Table<'_, '_>,
    name: &str,
    example: &str,
    base: &Path,
    diags: &mut Diagnostics,
) -> Option<SecretSource> {
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
        (Some((name, _)), None) => Some(SecretSource::Env(name)),
        (None, Some(path)) => Some(SecretSource::File(path)),
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

pub(crate) fn http(value: &Value<'_>, base: &Path, diags: &mut Diagnostics) -> Option<HttpConfig> {
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
