//! `feeds`: each person's secret calendar-feed token (SPEC §9). A token is 24 random
//! bytes (192 bits) in base64url, made on a person's first use and kept until
//! [`Store::reset_feed`]. A request is looked up by the token's SHA-256, never by the
//! token itself, so how long the lookup takes says nothing about any stored token.

use std::collections::HashMap;

use base64::Engine as _;
use jiff::Timestamp;

use super::{Store, on, on_writer, seconds};

/// Random bytes in a token.
const TOKEN_BYTES: usize = 24;

/// People a statement of [`Store::feed_tokens`] names (four values each: well within
/// SQLite's and PostgreSQL's limits on bound values).
const TOKENS_PER_STATEMENT: usize = 500;

/// The longest text that can be a token (base64url of [`TOKEN_BYTES`] is 32).
pub const MAX_TOKEN_CHARS: usize = 64;

fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("the system gave no random bytes for a feed token"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn hash(token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a fresh token for a person, keeping one they have.
const KEEP: &str = "INSERT INTO feeds (person, token, token_hash, created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (person) DO NOTHING";
/// Writes a fresh token for a person, replacing one they have.
const REPLACE: &str = "INSERT INTO feeds (person, token, token_hash, created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (person) DO UPDATE SET token = excluded.token, \
     token_hash = excluded.token_hash, created_at = excluded.created_at";

impl Store {
    /// `person`'s feed token, made now if they have none yet (two daemons asking at once
    /// get the same one).
    pub async fn feed_token(&self, person: &str, now: Timestamp) -> anyhow::Result<String> {
        self.write_feed(person, now, KEEP).await?;
        let token: String = on!(self, |pool| {
            sqlx::query_scalar("SELECT token FROM feeds WHERE person = $1")
                .bind(person)
                .fetch_one(pool)
                .await?
        });
        Ok(token)
    }

    /// The feed tokens of `people`, each made now for those who have none yet: for the
    /// links of a batch of mail, a few statements for the whole batch (of any size),
    /// never one per message. People who got a token keep it.
    pub async fn feed_tokens(
        &self,
        people: &[&str],
        now: Timestamp,
    ) -> anyhow::Result<HashMap<String, String>> {
        let mut out = HashMap::with_capacity(people.len());
        for chunk in people.chunks(TOKENS_PER_STATEMENT) {
            let found = self.read_tokens(chunk).await?;
            let missing: Vec<&str> = (chunk.iter().copied())
                .filter(|p| !found.contains_key(*p))
                .collect();
            out.extend(found);
            if missing.is_empty() {
                continue;
            }
            let mut fresh = Vec::with_capacity(missing.len());
            for person in &missing {
                let token = new_token()?;
                let digest = hash(&token);
                fresh.push((*person, token, digest));
            }
            on_writer!(self, |pool| {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO feeds (person, token, token_hash, created_at) ",
                );
                insert.push_values(&fresh, |mut row, (person, token, digest)| {
                    row.push_bind(*person)
                        .push_bind(token)
                        .push_bind(digest)
                        .push_bind(seconds(now));
                });
                insert.push(" ON CONFLICT (person) DO NOTHING");
                insert.build().execute(pool).await?;
            });
            // Another daemon may have given some of them one meanwhile: theirs stands.
            out.extend(self.read_tokens(&missing).await?);
        }
        Ok(out)
    }

    async fn read_tokens(&self, people: &[&str]) -> anyhow::Result<HashMap<String, String>> {
        let rows: Vec<(String, String)> = on!(self, |pool| {
            let mut query =
                sqlx::QueryBuilder::new("SELECT person, token FROM feeds WHERE person IN (");
            let mut list = query.separated(", ");
            for person in people {
                list.push_bind(*person);
            }
            query.push(")");
            query.build_query_as().fetch_all(pool).await?
        });
        Ok(rows.into_iter().collect())
    }

    /// The person (their id) whose feed `token` is; `None` for a token unknown or reset.
    pub async fn person_of_feed(&self, token: &str) -> anyhow::Result<Option<String>> {
        if token.len() > MAX_TOKEN_CHARS {
            return Ok(None);
        }
        let digest = hash(token);
        let person: Option<String> = on!(self, |pool| {
            sqlx::query_scalar("SELECT person FROM feeds WHERE token_hash = $1")
                .bind(&digest)
                .fetch_optional(pool)
                .await?
        });
        Ok(person)
    }

    /// A new token for `person`; the old one answers nothing from now on.
    pub async fn reset_feed(&self, person: &str, now: Timestamp) -> anyhow::Result<String> {
        self.write_feed(person, now, REPLACE).await
    }

    /// Writes a fresh token for `person` with `sql` ([`KEEP`] or [`REPLACE`]); returns it (which a
    /// conflict that keeps the old one leaves unused).
    async fn write_feed(
        &self,
        person: &str,
        now: Timestamp,
        sql: &'static str,
    ) -> anyhow::Result<String> {
        let fresh = new_token()?;
        on_writer!(self, |pool| {
            sqlx::query(sql)
                .bind(person)
                .bind(&fresh)
                .bind(hash(&fresh))
                .bind(seconds(now))
                .execute(pool)
                .await?;
        });
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A person's token is made once and kept; it names them and nobody else; a reset
    /// makes a new one and the old one names nobody from then on.
    #[tokio::test]
    async fn a_token_is_kept_until_reset() {
        let store = Store::open_memory().await.unwrap();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let grace = store.feed_token("grace", now).await.unwrap();
        assert!(grace.len() >= 32, "{grace}");
        assert_eq!(store.feed_token("grace", now).await.unwrap(), grace);
        let alan = store.feed_token("alan", now).await.unwrap();
        assert_ne!(alan, grace);
        assert_eq!(
            store.person_of_feed(&grace).await.unwrap().as_deref(),
            Some("grace")
        );
        assert_eq!(store.person_of_feed("nope").await.unwrap(), None);
        let new = store.reset_feed("grace", now).await.unwrap();
        assert_ne!(new, grace);
        assert_eq!(store.person_of_feed(&grace).await.unwrap(), None);
        assert_eq!(
            store.person_of_feed(&new).await.unwrap().as_deref(),
            Some("grace")
        );
        assert_eq!(store.feed_token("grace", now).await.unwrap(), new);
    }

    /// A batch keeps the tokens people have, makes the missing ones, and a second batch
    /// finds the same; more people than a statement names are all answered.
    #[tokio::test]
    async fn a_batch_keeps_and_makes_tokens() {
        let store = Store::open_memory().await.unwrap();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let grace = store.feed_token("grace", now).await.unwrap();
        let names: Vec<String> = (0..1_200).map(|i| format!("p{i}")).collect();
        let mut people: Vec<&str> = names.iter().map(String::as_str).collect();
        people.push("grace");
        let first = store.feed_tokens(&people, now).await.unwrap();
        assert_eq!(first.len(), people.len());
        assert_eq!(first["grace"], grace);
        let again = store.feed_tokens(&people, now).await.unwrap();
        assert_eq!(again, first);
        assert_eq!(
            store
                .person_of_feed(&first["p1100"])
                .await
                .unwrap()
                .as_deref(),
            Some("p1100")
        );
    }
}
