//! Signed action links (docs/serving.md): a token names one action, one person, one pair and,
//! where it applies, one meeting, and expires. It is the claim in readable fields and
//! its HMAC-SHA256 under `[http] secret`, both base64url: nothing is stored per link,
//! every instance verifies every link, and a changed byte or a past expiry is refused
//! before anything is looked up. Verification is constant-time (`ring::hmac::verify`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use ring::hmac;

use crate::vocab::MessageKind;

/// Links expire within this, whatever they are for.
pub const MAX_LIFETIME: SignedDuration = SignedDuration::from_hours(24 * 60);

/// The shortest secret accepted.
pub const MIN_SECRET_BYTES: usize = 32;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Cancel one meeting for both (agenda prompt, mentor reminder).
    CantMakeIt,
    /// Write the agenda for one meeting (agenda prompt).
    Agenda,
    /// Write the action items after one meeting (follow-up).
    ActionItems,
    /// Record the relationship review as held (review nudges).
    ReviewDone,
    /// Answer a check-in with a score, 1 (very badly) to 5 (very well).
    Checkin(u8),
    /// Stop one kind of optional mail for this person.
    Unsubscribe(MessageKind),
    /// The coordinator: send the pair a friendly check-in, to both.
    Nudge,
    /// The coordinator: keep a pair out of the digest for two weeks, unless it gets worse.
    Snooze,
    /// The coordinator: the pair's trouble is dealt with; out of the digest until its
    /// reasons change.
    Handled,
}

impl Action {
    /// Whether the coordinator takes it (from the digest), not a person of the pair.
    pub fn is_coordinators(self) -> bool {
        matches!(self, Action::Nudge | Action::Snooze | Action::Handled)
    }
}

impl Action {
    fn encode(self) -> String {
        match self {
            Action::CantMakeIt => "cancel".into(),
            Action::Agenda => "agenda".into(),
            Action::ActionItems => "items".into(),
            Action::ReviewDone => "review".into(),
            Action::Checkin(score) => format!("checkin:{score}"),
            Action::Unsubscribe(kind) => format!("unsub:{}", kind.name()),
            Action::Nudge => "nudge".into(),
            Action::Snooze => "snooze".into(),
            Action::Handled => "handled".into(),
        }
    }

    fn decode(text: &str) -> Option<Action> {
        Some(match text {
            "cancel" => Action::CantMakeIt,
            "agenda" => Action::Agenda,
            "items" => Action::ActionItems,
            "review" => Action::ReviewDone,
            "nudge" => Action::Nudge,
            "snooze" => Action::Snooze,
            "handled" => Action::Handled,
            _ => match text.strip_prefix("checkin:") {
                Some(score) => Action::Checkin(score.parse().ok().filter(|s| (1..=5).contains(s))?),
                None => Action::Unsubscribe(text.strip_prefix("unsub:")?.parse().ok()?),
            },
        })
    }
}

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub action: Action,
    /// A person id.
    pub person: String,
    /// A pair id; empty for program-wide mail (the digest).
    pub pair: String,
    /// The meeting's start (as in delivery keys), the review's due date or the check-in's
    /// date (its delivery key's occurrence); empty when
    /// the action is about no meeting.
    pub subject: String,
    pub expires: Timestamp,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("this link is not one mentord made, or it was changed")]
    Forged,
    #[error("this link has expired")]
    Expired,
}

/// A calendar feed's two addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedLinks {
    pub https: String,
    pub webcal: String,
}

impl FeedLinks {
    /// The feed with `token` under `public_url` (`https://host/path`, no trailing slash).
    pub fn new(public_url: &str, token: &str) -> FeedLinks {
        let https = format!("{}/ics/{token}.ics", public_url.trim_end_matches('/'));
        let webcal = format!(
            "webcal://{}",
            https.split_once("://").map_or(&*https, |(_, rest)| rest)
        );
        FeedLinks { https, webcal }
    }
}

/// Makes and checks tokens, and the links around them.
#[derive(Clone)]
pub struct Signer {
    key: hmac::Key,
    public_url: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// The signer of a simulation: links shown as they would look, signed with a key of
    /// its own, never served.
    pub fn preview(public_url: &str) -> anyhow::Result<Signer> {
        Signer::new(&[0x5a; MIN_SECRET_BYTES], public_url)
    }

    /// `secret` must be at least [`MIN_SECRET_BYTES`] long.
    pub fn new(secret: &[u8], public_url: &str) -> anyhow::Result<Signer> {
        if secret.len() < MIN_SECRET_BYTES {
            anyhow::bail!(
                "the [http] secret is {} bytes; links need at least {MIN_SECRET_BYTES} (e.g. `openssl rand -base64 48`)",
                secret.len()
            );
        }
        Ok(Signer {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            public_url: public_url.trim_end_matches('/').to_string(),
        })
    }

    pub fn token(&self, claim: &Claim) -> String {
        let payload = [
            "1",
            &claim.action.encode(),
            &claim.person,
            &claim.pair,
            &claim.subject,
            &claim.expires.as_second().to_string(),
        ]
        .join("\n");
        let tag = hmac::sign(&self.key, payload.as_bytes());
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// The link for `claim`: `/u/…` for an unsubscribe (RFC 8058's one-click target),
    /// `/a/…` for the rest.
    pub fn link(&self, claim: &Claim) -> String {
        let path = match claim.action {
            Action::Unsubscribe(_) => "u",
            _ => "a",
        };
        format!("{}/{path}/{}", self.public_url, self.token(claim))
    }

    /// A person's calendar feed (SPEC §9) with `token`: its `https://` address and the
    /// `webcal://` form calendar apps open as a subscription.
    pub fn feed(&self, token: &str) -> FeedLinks {
        FeedLinks::new(&self.public_url, token)
    }

    /// A simulation's feed token for `person`: the same every run, made with this
    /// (preview) key, never stored or served.
    pub fn preview_feed_token(&self, person: &str) -> String {
        let tag = hmac::sign(&self.key, format!("feed\n{person}").as_bytes());
        URL_SAFE_NO_PAD.encode(&tag.as_ref()[..24])
    }

    /// The claim of a token made by this key and not expired at `now`.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<Claim, Refused> {
        let (payload, tag) = token.split_once('.').ok_or(Refused::Forged)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| Refused::Forged)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| Refused::Forged)?;
        hmac::verify(&self.key, &payload, &tag).map_err(|_| Refused::Forged)?;
        // Signed by us: what follows can only fail for a token of another version.
        let payload = String::from_utf8(payload).map_err(|_| Refused::Forged)?;
        let fields: Vec<&str> = payload.split('\n').collect();
        let [version, action, person, pair, subject, expires] = fields[..] else {
            return Err(Refused::Forged);
        };
        if version != "1" {
            return Err(Refused::Forged);
        }
        let claim = Claim {
            action: Action::decode(action).ok_or(Refused::Forged)?,
            person: person.to_string(),
            pair: pair.to_string(),
            subject: subject.to_string(),
            expires: expires
                .parse::<i64>()
                .ok()
                .and_then(|s| Timestamp::from_second(s).ok())
                .ok_or(Refused::Forged)?,
        };
        if claim.expires <= now {
            return Err(Refused::Expired);
        }
        Ok(claim)
    }
}

/// When a link in a mail sent at `at` expires: at `until` (a meeting's start, say), and
/// within [`MAX_LIFETIME`] in any case.
pub fn expiry(at: Timestamp, until: Option<Timestamp>) -> Timestamp {
    let longest = at.checked_add(MAX_LIFETIME).unwrap_or(Timestamp::MAX);
    until.map_or(longest, |u| u.min(longest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new(&[7u8; 32], "https://m.example.org/").unwrap()
    }

    fn claim() -> Claim {
        Claim {
            action: Action::CantMakeIt,
            person: "alan".into(),
            pair: "grace-alan".into(),
            subject: "2027-01-12T10:00:00Z".into(),
            expires: "2027-01-12T10:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_token_reads_back_until_it_expires() {
        let s = signer();
        let token = s.token(&claim());
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
        let before = "2027-01-11T10:00:00Z".parse().unwrap();
        assert_eq!(s.verify(&token, before), Ok(claim()));
        let after = "2027-01-12T10:00:00Z".parse().unwrap();
        assert_eq!(s.verify(&token, after), Err(Refused::Expired));
        assert!(s.link(&claim()).starts_with("https://m.example.org/a/"));
    }

    #[test]
    fn any_changed_byte_is_refused() {
        let s = signer();
        let token = s.token(&claim());
        let now = "2027-01-11T10:00:00Z".parse().unwrap();
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            if changed != token {
                assert!(s.verify(&changed, now).is_err(), "byte {i}");
            }
        }
        let other = Signer::new(&[8u8; 32], "https://m.example.org").unwrap();
        assert_eq!(other.verify(&token, now), Err(Refused::Forged));
        assert_eq!(s.verify("garbage", now), Err(Refused::Forged));
        assert_eq!(s.verify("", now), Err(Refused::Forged));
        assert!(Signer::new(b"short", "https://x").is_err());
    }

    #[test]
    fn a_checkin_link_names_its_score() {
        let s = signer();
        let mut c = claim();
        c.action = Action::Checkin(4);
        c.subject = "2027-02-09".into();
        let now = "2027-01-11T10:00:00Z".parse().unwrap();
        assert_eq!(s.verify(&s.token(&c), now), Ok(c.clone()));
        assert!(s.link(&c).contains("/a/"));
        assert_eq!(Action::decode("checkin:6"), None);
        assert_eq!(Action::decode("checkin:0"), None);
        assert_eq!(Action::decode("checkin:x"), None);
    }

    #[test]
    fn unsubscribe_names_its_kind() {
        let s = signer();
        let mut c = claim();
        c.action = Action::Unsubscribe(MessageKind::Followup);
        let token = s.token(&c);
        let now = "2027-01-11T10:00:00Z".parse().unwrap();
        assert_eq!(s.verify(&token, now).unwrap().action, c.action);
        assert!(s.link(&c).contains("/u/"));
    }
}
