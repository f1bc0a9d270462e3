//! `feeds`: each person's secret calendar-feed token (SPEC §9). A token is 24 random
//! bytes (192 bits) in base64url, made on a person's first use and kept until
//! [`Store::reset_feed`]. A request is looked up by the token's SHA-256, never by the
//! token itself, so how long the lookup takes says nothing about any stored token.

use base64::Engine as _;
use jiff::Timestamp;

use super::{Store, on, on_writer, seconds};

/// Random bytes in a token.
const TOKEN_BYTES: usize = 24;

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
}
