//! `[store]`: where the store lives, from its `url`, or `mentord.db` beside the program
//! file when the section says nothing.

use std::path::Path;

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
    t.finish(&[&["url"]], diags);
    Some(StoreConfig {
        location: location.unwrap_or_else(|| default_store(base)),
    })
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
