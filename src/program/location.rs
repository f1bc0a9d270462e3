//! Where the store lives, read from `[store] url` by the loader (a relative SQLite path
//! taken from the program file's folder), and how it is shown: a PostgreSQL password
//! never appears in a log or an error.

use std::path::{Path, PathBuf};

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
pub(crate) fn redact(url: &str) -> String {
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
