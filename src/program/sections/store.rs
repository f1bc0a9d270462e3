//! `[store]`: where the store lives, from its `url`, or `mentord.db` beside the program
//! file when the section says nothing.

use std::path::Path;

use jiff::SignedDuration;

use crate::diagnostic::Diagnostics;
use crate::program::location::{Location, redact};
use crate::program::model::StoreConfig;
use crate::program::reader::{self, Table, Value};
use crate::program::values::{self, ValueError};

pub(crate) fn store(
    value: &Value<'_>,
    base: &Path,
    diags: &mut Diagnostics,
) -> Option<StoreConfig> {
    let mut t = Table::from_value("[store]", value, diags)?;
    let location = t.get("url").and_then(|v| {
        reader::parsed(v, "url", "\"sqlite://mentord.db\"", diags, |s| {
            store_location(s, base)
        })
    });
    let keep_sent = t.get("keep_sent").map(|v| {
        if reader::is_off(v) {
            Some(None)
        } else {
            reader::parsed(v, "keep_sent", "\"30d\"", diags, parse_keep_sent).map(Some)
        }
    });
    t.finish(&[&["url", "keep_sent"]], diags);
    Some(StoreConfig {
        location: location.unwrap_or_else(|| default_store(base)),
        keep_sent: match keep_sent {
            Some(keep) => keep?,
            None => Some(DEFAULT_KEEP_SENT),
        },
    })
}

/// How long a sent message's body is kept when `[store]` says nothing: long enough for
/// a retry, a reply that quotes it and `status`, short enough that a year of 50,000
/// pairs fits on one disk.
pub(crate) const DEFAULT_KEEP_SENT: SignedDuration = SignedDuration::from_hours(30 * 24);

/// `keep_sent`: a duration of at least a day ("30d", "8 weeks"), or `"off"` (keep every
/// body for ever).
fn parse_keep_sent(text: &str) -> Result<SignedDuration, ValueError> {
    let keep = values::parse_positive_duration(text)?;
    if keep < SignedDuration::from_hours(24) {
        return Err(values::invalid(
            format!("\"{text}\" is less than a day"),
            "keep sent mail at least a day (\"30d\" is the default), so a retry or a reply can still find it; \"off\" keeps it for ever",
        ));
    }
    Ok(keep)
}

/// The store when `[store]` says nothing: `mentord.db` beside the program file.
pub(crate) fn default_store(base: &Path) -> Location {
    Location::Sqlite(base.join("mentord.db"))
}

/// A store URL: `postgres://…` as written; `sqlite://FILE` (or `sqlite:FILE`), a
/// relative path taken from the program file's folder.
pub(crate) fn store_location(url: &str, base: &Path) -> Result<Location, ValueError> {
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
                format!("\"{}\" is not a store URL", redact(url)),
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
