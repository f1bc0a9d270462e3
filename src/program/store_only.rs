//! Where a program's store is, read from a file that may be broken elsewhere: `status`
//! still shows what the store holds (the outbox, failures, the daemons) while the file
//! has a typo the coordinator has yet to fix, and `deliver` stores mail without reading
//! a 50,000-pair file. Only the `[store]` table is read: the file is lexed from its
//! start as the TOML lexer sees it (the same split before top-level headers as
//! [`super::segments`]) until the table after `[store]` begins, so a mistake in another
//! table does not hide it, and the people and pairs after it are not even read (the
//! file is read in growing pieces: the lexer's tokens before the end of a piece are
//! those of the whole file).

use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::Location;
use super::sections::{default_store, store_location};

/// The store of the program file `path` as far as its `[store]` table says, or `None`
/// when that table itself cannot be read (or the file not at all).
pub fn store_of(path: &Path) -> Option<Location> {
    let base = path.parent().unwrap_or(Path::new("."));
    let Some(segment) = store_table(path).ok()? else {
        return Some(default_store(base));
    };
    let parsed = DeTable::parse(&segment).ok()?;
    let DeValue::Table(store) = parsed.get_ref().get("store")?.get_ref() else {
        return None;
    };
    match store.get("url").map(|url| url.get_ref()) {
        None => Some(default_store(base)),
        Some(DeValue::String(url)) => store_location(url, base).ok(),
        Some(_) => None,
    }
}

/// The first piece of the file read; each next one is four times larger.
const FIRST_PIECE: u64 = 64 * 1024;

/// The text of the file's `[store]` table (its header to the next top-level header),
/// `None` when it has none.
fn store_table(path: &Path) -> std::io::Result<Option<String>> {
    let mut most = FIRST_PIECE;
    loop {
        let (bytes, whole) = super::file::read_program_prefix(path, most)?;
        let text = if whole {
            String::from_utf8_lossy(&bytes)
        } else {
            // A piece may end inside a character.
            let valid = std::str::from_utf8(&bytes).map_or_else(|e| e.valid_up_to(), |t| t.len());
            String::from_utf8_lossy(&bytes[..valid])
        };
        match store_range(&text, whole) {
            Some(range) => return Ok(Some(text[range].to_string())),
            None if whole => return Ok(None),
            None => most = most.saturating_mul(4),
        }
    }
}

/// Where the `[store]` table is in `text`: found when the next top-level header (or,
/// for the `whole` file, its end) closes it.
fn store_range(text: &str, whole: bool) -> Option<std::ops::Range<usize>> {
    let mut store_start = None;
    for start in super::segments::header_starts(text) {
        if let Some(store) = store_start {
            return Some(store..start);
        }
        if is_store_table(&text[start..]) {
            store_start = Some(start);
        }
    }
    store_start.filter(|_| whole).map(|start| start..text.len())
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
    fn a_store_table_past_the_first_piece_is_found() {
        let people: String = (0..20_000)
            .map(|i| format!("[people.p{i}]\nname = \"P \u{e9}{i}\"\n"))
            .collect();
        let text = format!("[program]\nname = \"x\"\n{people}[store]\nurl = \"sqlite://far.db\"\n");
        assert!(text.len() as u64 > 4 * FIRST_PIECE);
        assert_eq!(store_in(&text), Some(Location::Sqlite("far.db".into())));
        let text = format!("[store]\nurl = \"sqlite://near.db\"\n{people}");
        assert_eq!(store_in(&text), Some(Location::Sqlite("near.db".into())));
        let text = format!("s = \"\"\"\n[store]\nurl = \"sqlite://no.db\"\n\"\"\"\n{people}");
        assert_eq!(store_in(&text), Some(Location::Sqlite("mentord.db".into())));
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
