//! Where the store lives, from `[store] url`, and how it is shown: a PostgreSQL
//! password never appears in a log or an error.

use std::path::{Path, PathBuf};

use anyhow::bail;

/// Where the store lives, from `[store] url`.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Location {
    /// Reads a store URL; a relative SQLite path is taken from `base` (the program
    /// file's folder).
    pub fn parse(url: &str, base: &Path) -> anyhow::Result<Location> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_string()));
        }
        let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        else {
            bail!("{url:?} is not a store URL: use sqlite://FILE or postgres://USER@HOST/DB");
        };
        let path = Path::new(rest.split('?').next().unwrap_or(rest));
        Ok(Location::Sqlite(if path.is_absolute() {
            path.to_path_buf()
        } else {
            base.join(path)
        }))
    }

    /// For logs and errors: a PostgreSQL password never shows.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => redact(url),
        }
    }
}

/// A path is a SQLite file.
impl From<&Path> for Location {
    fn from(path: &Path) -> Location {
        Location::Sqlite(path.to_path_buf())
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Location {
        Location::Sqlite(path.clone())
    }
}

impl From<&Location> for Location {
    fn from(location: &Location) -> Location {
        location.clone()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub(super) fn redact(url: &str) -> String {
    // A password can also sit in the query (`?password=`): drop the whole query then.
    let url = if url.contains("password") {
        url.split('?').next().unwrap_or_default()
    } else {
        url
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://mentord:s3cret@db.example.org:5432/mentoring"),
            "postgres://mentord:***@db.example.org:5432/mentoring"
        );
        assert_eq!(
            redact("postgres://db.example.org/mentoring?user=m&password=s3cret"),
            "postgres://db.example.org/mentoring?user=m&password=s3cret"
                .split('?')
                .next()
                .unwrap_or_default()
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1:5432/test"),
            "postgres://postgres@127.0.0.1:5432/test"
        );
    }
}
