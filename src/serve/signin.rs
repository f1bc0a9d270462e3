//! Signing in to the coordinator's page (docs/serving.md): the password's least length, the
//! check of the credentials in constant time, and the wait after wrong guesses.
//!
//! A 1-character password was accepted and 1,000 wrong guesses took 0.1 s. Now `check`
//! and `run` refuse a password shorter than [`MIN_PASSWORD_CHARS`]; after
//! [`FREE_GUESSES`] wrong passwords from one client ([`super::client::Client`]) it waits
//! (429 with `Retry-After`), one second at first and twice as long after each further
//! wrong password, up to [`LONGEST_WAIT`]; during a wait even the right password is
//! refused, so waiting is the only way on. The right password clears the client's
//! record. Every refusal is logged with the client's address, never with what it tried.
//!
//! [`refusal`] is what the page asks: whether a request may see it, and the 401 or 429
//! with its log line when not.
//!
//! The table of clients is bounded: at most [`MAX_CLIENTS`], the oldest half dropped in
//! one linear pass when it is full, and a client quiet for [`FORGET_AFTER`] forgotten.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

use super::client::Client;
use super::page_html::guarded;
use crate::diagnostic::Span;
use crate::program::{Program, SecretSource};

/// The shortest password the page accepts, in characters.
pub const MIN_PASSWORD_CHARS: usize = 16;

/// Wrong passwords a client may give before it waits.
pub const FREE_GUESSES: u32 = 5;

/// The first wait; each wrong password after it doubles the wait.
const FIRST_WAIT: Duration = Duration::from_secs(1);

/// The longest wait.
pub const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);

/// A client that gave no wrong password for this long starts afresh.
const FORGET_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// The most clients with wrong guesses remembered.
const MAX_CLIENTS: usize = 10_000;

/// Why the page's password cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("{0:#}")]
    Unreadable(anyhow::Error),
    #[error(
        "the coordinator's page password ({from}) is {chars} character(s); it must be at least {MIN_PASSWORD_CHARS}"
    )]
    TooShort {
        chars: usize,
        /// Where it was read: the environment variable or the file, named.
        from: String,
        /// Where the file names the password's source.
        at: Option<Span>,
    },
}

/// The page's password, read now and checked, when `[http]` names one.
pub fn page_password(program: &Program) -> Result<Option<String>, PasswordError> {
    let Some(http) = &program.http else {
        return Ok(None);
    };
    let Some(source) = &http.password else {
        return Ok(None);
    };
    let password = source
        .read("the [http] password")
        .map_err(PasswordError::Unreadable)?;
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort {
            chars,
            from: match source {
                SecretSource::Env(name) => format!("the environment variable {name}"),
                SecretSource::File(path) => format!("the file {}", path.display()),
            },
            at: http.password_at.clone(),
        });
    }
    Ok(Some(password))
}

/// Whether `authorization` (the header's value) carries the coordinator's credentials.
/// Both sides are compared as HMACs (equal length, in constant time), so how long it
/// takes says nothing about the password or its length.
pub fn signed_in(authorization: Option<&str>, password: &str) -> bool {
    let given = authorization
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, encoded)| STANDARD.decode(encoded.trim()).ok());
    let Some(given) = given else {
        return false;
    };
    static KEY: OnceLock<hmac::Key> = OnceLock::new();
    let key = KEY.get_or_init(|| hmac::Key::new(hmac::HMAC_SHA256, b"mentord coordinator's page"));
    let expected = hmac::sign(key, format!("coordinator:{password}").as_bytes());
    hmac::verify(key, &given, expected.as_ref()).is_ok()
}

/// What a sign-in comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The right password, outside a wait.
    In,
    /// No credentials or wrong ones; `wrong` counts the client's wrong passwords.
    Refused { wrong: u32 },
    /// The client waits this long before any password is checked again.
    Wait(Duration),
}

/// Wrong passwords per client, and the waits they earned.
#[derive(Debug, Default)]
pub struct Guesses(Mutex<HashMap<Client, Record>>);

#[derive(Debug, Clone, Copy)]
struct Record {
    wrong: u32,
    /// When the client last gave a wrong password.
    last: Instant,
    /// Until when it waits.
    until: Instant,
}

impl Guesses {
    /// Judges one request from `ip` at `now`: `given` says whether it carried
    /// credentials, `right` whether they were right. Judged under one lock, so parallel
    /// guesses cannot slip past the count.
    pub fn judge(&self, ip: IpAddr, now: Instant, given: bool, right: bool) -> Verdict {
        let client = Client::of(ip);
        let mut table = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let record = table
            .get(&client)
            .copied()
            .filter(|r| now.saturating_duration_since(r.last) < FORGET_AFTER);
        if let Some(record) = record
            && now < record.until
        {
            return Verdict::Wait(record.until - now);
        }
        if right {
            table.remove(&client);
            return Verdict::In;
        }
        if !given {
            return Verdict::Refused {
                wrong: record.map_or(0, |r| r.wrong),
            };
        }
        let wrong = record.map_or(0, |r| r.wrong).saturating_add(1);
        let until = match wrong.checked_sub(FREE_GUESSES) {
            Some(beyond) => now + wait_after(beyond),
            None => now,
        };
        if !table.contains_key(&client) && table.len() >= MAX_CLIENTS {
            forget_oldest(&mut table, now);
        }
        table.insert(
            client,
            Record {
                wrong,
                last: now,
                until,
            },
        );
        Verdict::Refused { wrong }
    }
}

/// The wait after the `beyond`-th wrong password past the free ones (0 for the last
/// free one): one second, doubling, at most [`LONGEST_WAIT`].
fn wait_after(beyond: u32) -> Duration {
    FIRST_WAIT
        .checked_mul(1u32.checked_shl(beyond).unwrap_or(u32::MAX))
        .unwrap_or(LONGEST_WAIT)
        .min(LONGEST_WAIT)
}

/// Drops the clients that may start afresh, and if that is not enough, the older half
/// of the rest: linear in the table, and done once per [`MAX_CLIENTS`] / 2 new clients.
fn forget_oldest(table: &mut HashMap<Client, Record>, now: Instant) {
    table.retain(|_, r| now.saturating_duration_since(r.last) < FORGET_AFTER);
    if table.len() < MAX_CLIENTS {
        return;
    }
    let mut by_age: Vec<(Instant, Client)> = table.iter().map(|(c, r)| (r.last, *c)).collect();
    let middle = by_age.len() / 2;
    by_age.select_nth_unstable(middle);
    for (_, client) in &by_age[..=middle] {
        table.remove(client);
    }
}

/// `None` when the request from `peer` carries the coordinator's credentials and its
/// client is not waiting; the refusal otherwise, logged with the client's address
/// (never with what it tried).
pub fn refusal(
    guesses: &Guesses,
    peer: SocketAddr,
    headers: &HeaderMap,
    password: &str,
) -> Option<Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default());
    let right = signed_in(authorization, password);
    let client = peer.ip();
    match guesses.judge(client, Instant::now(), authorization.is_some(), right) {
        Verdict::In => None,
        Verdict::Refused { wrong: 0 } => {
            tracing::info!(%client, "the coordinator's page asked for its password");
            Some(unauthorized())
        }
        Verdict::Refused { wrong } => {
            tracing::warn!(%client, wrong, "a wrong password for the coordinator's page");
            Some(unauthorized())
        }
        Verdict::Wait(wait) => {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            tracing::warn!(%client, wait_seconds = seconds, "refused the coordinator's page: too many wrong passwords from this address, it waits");
            Some(too_many(seconds))
        }
    }
}

/// 429: the client waits `seconds` before any password is checked again.
fn too_many(seconds: u64) -> Response {
    let mut response = guarded(
        (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many wrong passwords from your address: try again in {seconds} second(s).\n"
            ),
        )
            .into_response(),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

fn unauthorized() -> Response {
    let mut response = guarded(
        (
            StatusCode::UNAUTHORIZED,
            "Sign in as \"coordinator\" with the page's password.\n",
        )
            .into_response(),
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"mentord\""),
    );
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ALICE: &str = "192.0.2.1";
    const MALLORY: &str = "198.51.100.7";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn five_wrong_passwords_then_a_doubling_wait_that_even_the_right_one_must_sit_out() {
        let guesses = Guesses::default();
        let start = Instant::now();
        for wrong in 1..=FREE_GUESSES {
            assert_eq!(
                guesses.judge(ip(MALLORY), start, true, false),
                Verdict::Refused { wrong }
            );
        }
        let at = |secs: u64| start + Duration::from_millis(secs);
        assert_eq!(
            guesses.judge(ip(MALLORY), at(500), true, true),
            Verdict::Wait(Duration::from_millis(500)),
            "the right password waits too"
        );
        // Another client is not held up.
        assert_eq!(guesses.judge(ip(ALICE), at(500), true, true), Verdict::In);
        // After the wait, one more wrong password: two seconds, then four, …
        assert_eq!(
            guesses.judge(ip(MALLORY), at(1000), true, false),
            Verdict::Refused { wrong: 6 }
        );
        assert_eq!(
            guesses.judge(ip(MALLORY), at(1000), true, true),
            Verdict::Wait(Duration::from_secs(2))
        );
        assert_eq!(
            guesses.judge(ip(MALLORY), at(3000), true, false),
            Verdict::Refused { wrong: 7 }
        );
        assert_eq!(
            guesses.judge(ip(MALLORY), at(3000), false, false),
            Verdict::Wait(Duration::from_secs(4))
        );
        // The right password after the wait: in, and the record is gone.
        assert_eq!(
            guesses.judge(ip(MALLORY), at(7000), true, true),
            Verdict::In
        );
        assert_eq!(
            guesses.judge(ip(MALLORY), at(7000), true, false),
            Verdict::Refused { wrong: 1 }
        );
    }

    #[test]
    fn waits_double_up_to_a_quarter_of_an_hour() {
        let waits: Vec<u64> = (0..14).map(|n| wait_after(n).as_secs()).collect();
        assert_eq!(
            waits,
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]
        );
        assert_eq!(wait_after(u32::MAX), LONGEST_WAIT);
    }

    #[test]
    fn requests_without_credentials_are_not_guesses() {
        let guesses = Guesses::default();
        let now = Instant::now();
        for _ in 0..100 {
            assert_eq!(
                guesses.judge(ip(ALICE), now, false, false),
                Verdict::Refused { wrong: 0 }
            );
        }
        assert_eq!(guesses.judge(ip(ALICE), now, true, true), Verdict::In);
    }

    #[test]
    fn the_table_stays_bounded_and_keeps_the_newest() {
        let guesses = Guesses::default();
        let start = Instant::now();
        let n = u32::try_from(MAX_CLIENTS).unwrap() * 3;
        for i in 0..n {
            let at = start + Duration::from_millis(u64::from(i));
            let client = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            for _ in 0..FREE_GUESSES {
                guesses.judge(client, at, true, false);
            }
        }
        let table = guesses.0.lock().unwrap();
        assert!(table.len() <= MAX_CLIENTS, "{}", table.len());
        let newest = Client::of(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n - 1)));
        assert!(table.contains_key(&newest));
    }

    #[test]
    fn a_client_quiet_for_a_day_starts_afresh() {
        let guesses = Guesses::default();
        let start = Instant::now();
        for _ in 0..FREE_GUESSES + 3 {
            guesses.judge(ip(MALLORY), start, true, false);
        }
        let later = start + FORGET_AFTER + LONGEST_WAIT;
        assert_eq!(
            guesses.judge(ip(MALLORY), later, true, false),
            Verdict::Refused { wrong: 1 }
        );
    }

    #[test]
    fn only_the_coordinator_signs_in() {
        let basic = |text: &str| format!("Basic {}", STANDARD.encode(text));
        let right = basic("coordinator:s3cret");
        assert!(signed_in(Some(&right), "s3cret"));
        assert!(signed_in(Some(&right.replace("Basic", "basic")), "s3cret"));
        assert!(!signed_in(Some(&basic("coordinator:s3cre")), "s3cret"));
        assert!(!signed_in(Some(&basic("coordinator:s3cret ")), "s3cret"));
        assert!(!signed_in(Some(&basic("ada:s3cret")), "s3cret"));
        assert!(!signed_in(Some("Bearer s3cret"), "s3cret"));
        assert!(!signed_in(Some("Basic !!!"), "s3cret"));
        assert!(!signed_in(None, "s3cret"));
    }
}
