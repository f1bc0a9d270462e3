//! A person answers a check-in (SPEC §7): one of the five signed links in the mail, or a
//! reply whose new text starts with a digit 1–5 (the score; the rest is a comment).
//! Decided here once for both doors.
//!
//! - One answer per (pair, person, check-in date). A later answer replaces the score;
//!   it replaces the comment only when it brings one (a click after a reply keeps what
//!   the reply said). The same answer again (a second POST of the same link, the same
//!   mail delivered twice) changes nothing and says so.
//! - A reply without a leading digit is kept as a comment without a score: what the
//!   person wrote reaches the coordinator, and nothing is guessed. It is never passed on
//!   to the other person of the pair.
//! - Answers are the coordinator's only: nothing here logs a score or a comment.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::program::{Pair, PersonIndex, Program};
use crate::store::{CheckinRecord, CheckinVia, Store};

/// The longest comment kept, in characters; the rest is cut off.
pub const MAX_COMMENT: usize = 2_000;

/// What an answer to a check-in did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// The first answer to this check-in.
    Recorded,
    /// An answer that replaced an earlier one (whose score it was).
    Changed { before: Option<u8> },
    /// The same answer as before: nothing changed.
    Already,
    /// The person is not the mentor or the mentee of the pair: nothing recorded.
    NotTheirs,
}

/// The score and comment of a reply's new text: a first word that is a digit 1–5 (alone
/// or followed by punctuation: "4", "4.", "4/5") is the score, the rest the comment.
/// Without one, the whole text is the comment. Bounded: [`MAX_COMMENT`] characters.
pub fn read_reply(text: &str) -> (Option<u8>, Option<String>) {
    let text = text.trim_start();
    let first_word_end = text.find(char::is_whitespace).unwrap_or(text.len());
    let word = &text[..first_word_end];
    let mut chars = word.chars();
    let score = match (chars.next(), chars.next()) {
        (Some(d @ '1'..='5'), next) if next.is_none_or(|c| !c.is_alphanumeric()) => {
            Some(d as u8 - b'0')
        }
        _ => None,
    };
    let rest = if score.is_some() {
        text[first_word_end..]
            .trim_start()
            .trim_start_matches(['-', '–', '—', ':', ','])
    } else {
        text
    };
    (score, comment(rest))
}

/// A comment as kept: trimmed, cut to [`MAX_COMMENT`] characters; `None` when empty.
fn comment(text: &str) -> Option<String> {
    let cut: String = text.trim().chars().take(MAX_COMMENT).collect();
    let cut = cut.trim_end();
    (!cut.is_empty()).then(|| cut.to_string())
}

/// `person` answers `pair`'s check-in of `occurrence` with a score and/or a comment.
#[allow(clippy::too_many_arguments)]
pub async fn answer(
    store: &Store,
    program: &Program,
    pair: &Pair,
    person: PersonIndex,
    occurrence: Date,
    score: Option<u8>,
    comment: Option<&str>,
    via: CheckinVia,
    now: Timestamp,
) -> anyhow::Result<Answered> {
    if person != pair.mentor && person != pair.mentee {
        return Ok(Answered::NotTheirs);
    }
    let person_id = &program.person(person).id;
    let score = score.filter(|s| (1..=5).contains(s));
    let comment = comment.and_then(self::comment);
    if score.is_none() && comment.is_none() {
        return Ok(Answered::Already);
    }
    let before = store.checkin(&pair.id, person_id, occurrence).await?;
    if let Some(before) = &before {
        let same_score = score.is_none_or(|s| before.score == Some(s));
        let same_comment = comment.is_none() || comment == before.comment;
        if same_score && same_comment {
            return Ok(Answered::Already);
        }
    }
    store
        .record_checkin(&CheckinRecord {
            pair: pair.id.clone(),
            person: person_id.clone(),
            occurrence,
            score,
            comment,
            answered_at: now,
            via,
        })
        .await?;
    // Who and which check-in, never the answer.
    tracing::info!(pair = %pair.id, person = %person_id, %occurrence, via = via.name(), "check-in answered");
    Ok(match before {
        None => Answered::Recorded,
        Some(before) => Answered::Changed {
            before: before.score,
        },
    })
}

/// The words for a score, as the mail's links say them.
pub fn score_words(score: u8) -> &'static str {
    match score {
        1 => "very badly",
        2 => "badly",
        3 => "so-so",
        4 => "well",
        _ => "very well",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_digit_is_the_score() {
        let cases: &[(&str, Option<u8>, Option<&str>)] = &[
            (
                "2 we keep missing each other",
                Some(2),
                Some("we keep missing each other"),
            ),
            ("  4", Some(4), None),
            ("5. Great sessions", Some(5), Some("Great sessions")),
            ("3/5 - fine", Some(3), Some("fine")),
            (
                "1\n\nIt is not working.",
                Some(1),
                Some("It is not working."),
            ),
            // Not a score: out of range, a number, a word.
            ("6 out of 5", None, Some("6 out of 5")),
            ("12 meetings so far", None, Some("12 meetings so far")),
            (
                "2nd meeting was better",
                None,
                Some("2nd meeting was better"),
            ),
            ("Good, thanks", None, Some("Good, thanks")),
            ("", None, None),
        ];
        for (text, score, comment) in cases {
            let (s, c) = read_reply(text);
            assert_eq!((s, c.as_deref()), (*score, *comment), "{text:?}");
        }
    }

    #[test]
    fn a_comment_is_bounded() {
        let long = format!("3 {}", "x".repeat(10 * MAX_COMMENT));
        let (score, comment) = read_reply(&long);
        assert_eq!(score, Some(3));
        assert_eq!(comment.map(|c| c.chars().count()), Some(MAX_COMMENT));
    }
}
