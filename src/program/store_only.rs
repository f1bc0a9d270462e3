//! Where a program's store is, read from a file that may be broken elsewhere: `status`
//! still shows what the store holds (the outbox, failures, the daemons) while the file
//! has a typo the coordinator has yet to fix. Only the `[store]` table is read; the
//! file split before its top-level headers as the TOML lexer sees them
//! ([`super::segments`]), so a mistake in another table does not hide it.

use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::Location;
use super::sections::{default_store, store_location};

/// The store of the program file `path` as far as its `[store]` table says, or `None`
/// when that table itself cannot be read (or the file not at all).
pub fn store_of(path: &Path) -> Option<Location> {
    let bytes = super::file::read_program_file(path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let base = path.parent().unwrap_or(Path::new("."));
    let store_segment = super::segments::segments(&text, 0)
        .into_iter()
        .map(|range| &text[range])
        .find(|segment| is_store_table(segment));
    let Some(segment) = store_segment else {
        return Some(default_store(base));
    };
    let parsed = DeTable::parse(segment).ok()?;
    let DeValue::Table(store) = parsed.get_ref().get("store")?.get_ref() else {
        return None;
    };
    match store.get("url").map(|url| url.get_ref()) {
        None => Some(default_store(base)),
        Some(DeValue::String(url)) => store_location(url, base).ok(),
        Some(_) => None,
    }
}

/// Whether `segment` starts (after comments and blank lines) with the `[store]` header.
fn is_store_table(segment: &str) -> bool {
    segment
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .is_some_and(|line| {
            line.strip_prefix('[')
                .and_then(|rest| rest.split_once(']'))
                .is_some_and(|(name, _)| name.trim() == "store")
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn store_in(text: &str) -> Option<Location> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mentord.toml");
        std::fs::write(&path, text).unwrap();
        store_of(&path).map(|location| match location {
            Location::Sqlite(path) => {
                Location::Sqlite(path.strip_prefix(dir.path()).unwrap().to_path_buf())
            }
            other => other,
        })
    }

    #[test]
    fn a_typo_elsewhere_hides_no_store() {
        let text = "[program]\nname = \"x\"\ntimezone = \"UTC\" oops\n\n[store]\nurl = \"sqlite://s.db\"\n\n[mail]\ntransprt = 1\n";
        assert_eq!(store_in(text), Some(Location::Sqlite("s.db".into())));
        let text = "[program]\nname = \"x\n[store] # the store\nurl = \"postgres://u@h/db\"\n";
        assert_eq!(
            store_in(text),
            Some(Location::Postgres("postgres://u@h/db".into()))
        );
    }

    #[test]
    fn no_store_table_is_the_default_beside_the_file() {
        assert_eq!(
            store_in("[program]\nname = = 1\n"),
            Some(Location::Sqlite("mentord.db".into()))
        );
        assert_eq!(store_in("[store]\nurl = \"nope://x\"\n"), None);
        assert_eq!(store_in("[store]\nurl = \n"), None);
    }
}
