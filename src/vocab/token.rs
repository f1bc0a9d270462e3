//! Reply tokens: the `{token}` in `[mail] reply_to` that names the message a reply
//! answers. A token is the HMAC-SHA256 of the message's `Message-ID` under a key the store
//! keeps, cut to 100 bits and written in lowercase base32 (20 letters and digits): short
//! enough for any local part (`mentoring+` and a token is 30 octets of the 64), the same
//! for a resend after a crash, and impossible to guess or to derive from another
//! message's. The store keeps each message's token beside it, so a reply is matched by
//! one indexed lookup and nothing has to be decoded.

use ring::hmac;

/// Letters in a token.
pub const LEN: usize = 20;

/// The key that signs tokens.
#[derive(Clone)]
pub struct TokenKey(hmac::Key);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(…)")
    }
}

impl TokenKey {
    pub fn new(secret: &[u8]) -> TokenKey {
        TokenKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The key of previews (`check`, tests of composing): nothing composed with it is
    /// ever sent, so it needs no secret. The daemon and `simulate` use the store's.
    pub fn preview() -> &'static TokenKey {
        static PREVIEW: std::sync::LazyLock<TokenKey> =
            std::sync::LazyLock::new(|| TokenKey::new(b"mentord preview: never sent"));
        &PREVIEW
    }

    /// The token of the message with this `Message-ID`.
    pub fn token(&self, message_id: &str) -> String {
        let tag = hmac::sign(&self.0, message_id.as_bytes());
        base32(&tag.as_ref()[..LEN * 5 / 8])
    }

    /// The `Message-ID` of the message with delivery key text `key`, at `domain`: the
    /// same for a resend after a crash, and not computable without the store's key (a
    /// forger who knows the program, a pair and a meeting time cannot name it in
    /// `In-Reply-To`). 130 bits in lowercase base32.
    pub fn message_id(&self, key: &str, domain: &str) -> String {
        let tag = hmac::sign(&self.0, format!("message-id\n{key}").as_bytes());
        format!("<{}@{domain}>", &base32(&tag.as_ref()[..17])[..26])
    }

    /// The UID of a new series of `pair` in `program`, keyed like Message-IDs. Series
    /// sent before the key existed keep the UID they were sent with (the store has it).
    pub fn series_uid(&self, program: &str, pair: &str) -> String {
        let tag = hmac::sign(&self.0, format!("series\n{program}\n{pair}").as_bytes());
        format!("{}@mentord", base32(&tag.as_ref()[..20]))
    }

    /// The token in the `ORGANIZER` address of `person`'s own copy of the series `uid`:
    /// a calendar answer sent there proves it comes from whoever holds that invite.
    /// The same for every copy of the series that person gets, so updates keep it.
    pub fn organizer_token(&self, uid: &str, person: &str) -> String {
        self.token(&format!("organizer\n{uid}\n{person}"))
    }
}

/// RFC 4648 base32 in lowercase, without padding: letters and the digits 2–7 only.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// `reply_to` with the token in place: `mentoring+{token}@example.org` →
/// `mentoring+abc…@example.org`.
pub fn address(pattern: &str, token: &str) -> String {
    pattern.replacen("{token}", token, 1)
}

/// The token in `address`, if it has the shape of `pattern` (compared without case, as
/// mail servers and clients may change it).
pub fn find(pattern: &str, address: &str) -> Option<String> {
    let (before, after) = pattern.split_once("{token}")?;
    let address = address.trim().to_ascii_lowercase();
    let rest = address.strip_prefix(&before.to_ascii_lowercase())?;
    let token = rest.strip_suffix(&after.to_ascii_lowercase())?;
    (token.len() == LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
    .then(|| token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_follows_rfc_4648() {
        // RFC 4648 §10, lower-cased and unpadded.
        for (input, output) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(base32(input.as_bytes()), output);
        }
    }

    #[test]
    fn tokens_are_short_lowercase_and_keyed() {
        let key = TokenKey::new(b"0123456789abcdef0123456789abcdef");
        let token = key.token("<a@example.org>");
        assert_eq!(token.len(), LEN);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert_eq!(token, key.token("<a@example.org>"));
        assert_ne!(token, key.token("<b@example.org>"));
        assert_ne!(
            token,
            TokenKey::new(b"another key").token("<a@example.org>")
        );
        let to = address("mentoring+{token}@example.org", &token);
        assert!(to.split('@').next().is_some_and(|local| local.len() <= 64));
        assert_eq!(
            find("mentoring+{token}@example.org", &to),
            Some(token.clone())
        );
        assert_eq!(
            find("mentoring+{token}@example.org", &to.to_uppercase()),
            Some(token)
        );
        assert_eq!(
            find("mentoring+{token}@example.org", "mentoring+abc@example.org"),
            None
        );
        assert_eq!(
            find("mentoring+{token}@example.org", "other@example.org"),
            None
        );
    }
}
