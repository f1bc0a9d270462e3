//! PostgreSQL for the tests: a fresh database per test on the server that
//! `MENTORD_TEST_POSTGRES` names (`.ci/run` sets it to the local server,
//! `postgres://postgres@127.0.0.1:5432/test`), dropped when the test ends. Unset, the
//! PostgreSQL variants are skipped with a note on stderr; set but unreachable, the test
//! fails: a CI run never passes by silently testing less.

use std::sync::atomic::{AtomicU32, Ordering};

use mentord::store::Location;

pub const VARIABLE: &str = "MENTORD_TEST_POSTGRES";

/// A database of its own for one test.
#[derive(Debug)]
pub struct Database {
    pub url: String,
    admin: String,
    name: String,
}

impl Database {
    pub fn location(&self) -> Location {
        Location::Postgres(self.url.clone())
    }
}

/// Runs `work` on a runtime of its own, on a thread of its own: callable from sync and
/// async tests alike.
pub fn blocking<T, F>(work: F) -> T
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work)
    })
    .join()
    .unwrap()
}

/// A connection to the database at `url`.
pub async fn connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection as _;
    sqlx::PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("{VARIABLE}: cannot connect to {url}: {e}"))
}

/// A new empty database, or `None` when `MENTORD_TEST_POSTGRES` is not set.
pub fn database() -> Option<Database> {
    let Ok(admin) = std::env::var(VARIABLE) else {
        eprintln!("note: {VARIABLE} is not set; the PostgreSQL variant of this test is skipped");
        return None;
    };
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "mentord_test_{}_{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::SeqCst)
    );
    let (url, statement) = (
        with_database(&admin, &name),
        format!("CREATE DATABASE {name}"),
    );
    let server = admin.clone();
    blocking(async move {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut connect(&server).await)
            .await
            .unwrap();
    });
    Some(Database { url, admin, name })
}

impl Drop for Database {
    fn drop(&mut self) {
        let (admin, statement) = (
            self.admin.clone(),
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        blocking(async move {
            use sqlx::Connection as _;
            if let Ok(mut connection) = sqlx::PgConnection::connect(&admin).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&mut connection)
                    .await;
            }
        });
    }
}

/// The server's URL with another database name.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{server}/{name}{query}")
}

/// Every backend a store test runs on: SQLite in `dir`, and PostgreSQL when configured.
/// Keep the `Database` alive for the test's length.
pub fn backends(dir: &std::path::Path) -> Vec<(Location, Option<Database>)> {
    let mut out = vec![(Location::Sqlite(dir.join("mentord.db")), None)];
    if let Some(database) = database() {
        out.push((database.location(), Some(database)));
    }
    out
}
