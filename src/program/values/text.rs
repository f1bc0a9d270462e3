//! Text that reaches mail headers and calendar lines: one line, no control or hidden
//! characters, names that cannot pass for other names, bounded lengths, and ids safe for
//! the store and file names.

use crate::diagnostic::{ValueError, invalid};

/// The longest name (of a person, the organizer or the program): names reach mail
/// subjects, and a longer one is a mistake (a pasted paragraph), not a name.
pub(crate) const MAX_NAME_CHARS: usize = 200;

/// The longest other line of text (a location, a goal, a kind).
pub(crate) const MAX_TEXT_CHARS: usize = 1000;

/// Text that reaches a mail header or a calendar line: one line, no controls, nothing
/// invisible, at most [`MAX_TEXT_CHARS`]. Joiners (U+200C, U+200D) and tag characters
/// are allowed here: emoji sequences and some scripts need them.
pub(crate) fn check_text(text: &str) -> Result<(), ValueError> {
    check_line(text, false)?;
    check_length(text, MAX_TEXT_CHARS, "shorten it")
}

/// A name: as [`check_text`], without tag characters or stray joiners (two names must
/// not look alike yet differ), and at most [`MAX_NAME_CHARS`]. A joiner (U+200C ZWNJ,
/// U+200D ZWJ) between two letters of a script that writes with them stays: Persian
/// and many Indic names are spelled with one (`مهدی‌زاده`).
pub(crate) fn check_name(text: &str) -> Result<(), ValueError> {
    check_line(text, false)?;
    let chars: Vec<char> = text.chars().collect();
    let script_letter = |c: Option<&char>| c.is_some_and(|c| c.is_alphabetic() && !c.is_ascii());
    for (i, &c) in chars.iter().enumerate() {
        let joiner = matches!(c, '\u{200C}' | '\u{200D}');
        let in_word = joiner
            && script_letter(chars.get(i.wrapping_sub(1)))
            && script_letter(chars.get(i + 1));
        if (joiner && !in_word) || hidden(c, true).is_some() && !joiner {
            let hidden = hidden(c, true).unwrap_or(Hidden::Invisible);
            return Err(invalid(
                format!("contains U+{:04X}, {}", c as u32, hidden.what()),
                hidden.help(),
            ));
        }
    }
    check_length(
        text,
        MAX_NAME_CHARS,
        "shorten it: names appear in mail subjects and calendar invites",
    )
}

fn check_length(text: &str, max: usize, help: &str) -> Result<(), ValueError> {
    let chars = text.chars().count();
    if chars > max {
        return Err(invalid(
            format!("is {chars} characters long, more than the {max} allowed"),
            help,
        ));
    }
    Ok(())
}

fn check_line(text: &str, strict: bool) -> Result<(), ValueError> {
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(invalid(
            format!("contains the control character U+{:04X}", c as u32),
            "keep it on one line without control characters; it reaches mail headers and calendar lines",
        ));
    }
    match text.chars().find_map(|c| hidden(c, strict).map(|h| (c, h))) {
        None => Ok(()),
        Some((c, hidden)) => Err(invalid(
            format!("contains U+{:04X}, {}", c as u32, hidden.what()),
            hidden.help(),
        )),
    }
}

/// A character that cannot be seen but changes what text means or how it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hidden {
    LineBreak,
    Direction,
    Invisible,
}

impl Hidden {
    pub(crate) fn what(self) -> &'static str {
        match self {
            Hidden::LineBreak => "a line or paragraph separator",
            Hidden::Direction => "a character that changes the direction of text",
            Hidden::Invisible => "an invisible character",
        }
    }

    pub(crate) fn help(self) -> &'static str {
        match self {
            Hidden::LineBreak => "keep it on one line; it reaches mail headers and calendar lines",
            Hidden::Direction => {
                "remove it (it often comes with pasted text): it makes text show in another order than it is written"
            }
            Hidden::Invisible => {
                "remove it (it often comes with pasted text): it cannot be seen, so two different texts would look the same"
            }
        }
    }
}

/// Whether `c` is a hidden character; `strict` adds the joiners and tag characters
/// that names and addresses do without.
pub(crate) fn hidden(c: char, strict: bool) -> Option<Hidden> {
    match c {
        '\u{2028}' | '\u{2029}' => Some(Hidden::LineBreak),
        '\u{061C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => Some(Hidden::Direction),
        '\u{00AD}'
        | '\u{034F}'
        | '\u{115F}'
        | '\u{1160}'
        | '\u{17B4}'
        | '\u{17B5}'
        | '\u{180E}'
        | '\u{200B}'
        | '\u{2060}'..='\u{2064}'
        | '\u{206A}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}' => Some(Hidden::Invisible),
        '\u{200C}' | '\u{200D}' | '\u{E0000}'..='\u{E007F}' if strict => Some(Hidden::Invisible),
        _ => None,
    }
}

/// Ids name pairs and people in the store and in file names: keep them to a safe alphabet.
pub(crate) fn check_id(text: &str) -> Result<(), ValueError> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && !text.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            format!("\"{text}\" is not a usable id"),
            "use 1-64 ASCII letters, digits, '-', '_' or '.', not starting with '.'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_names() {
        for good in [
            "Grace Hopper",
            "Анна Каренина",
            "👩\u{200d}💻 on call",
            "❤\u{fe0f}",
        ] {
            assert!(check_text(good).is_ok(), "{good}");
        }
        for good in ["Grace Hopper", "Zoë d'Árc-Łukasz", "李小龙", "محمد"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        let cases = [
            ("Ada\u{2028}Lovelace", Hidden::LineBreak),
            ("Ada \u{202e}ecalevoL", Hidden::Direction),
            ("\u{2067}Ada\u{2069}", Hidden::Direction),
            ("A\u{200b}da", Hidden::Invisible),
            ("\u{feff}Ada", Hidden::Invisible),
            ("Lo\u{ad}ve\u{ad}lace", Hidden::Invisible),
        ];
        for (bad, hidden_kind) in cases {
            for check in [check_text, check_name] {
                let error = check(bad).unwrap_err();
                assert!(
                    error.message.contains(hidden_kind.what()),
                    "{bad:?}: {error:?}"
                );
            }
        }
        assert!(check_name("A\u{200d}da").is_err());
        assert!(check_name("\u{200c}Ada").is_err());
        // A Persian surname written with its zero-width non-joiner.
        assert!(check_name("مهدی\u{200c}زاده").is_ok());
        assert!(check_name(&"x".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(check_name(&"ü".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(check_text(&"x".repeat(MAX_TEXT_CHARS + 1)).is_err());
    }
}
