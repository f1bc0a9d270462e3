//! A person's language: a BCP 47 tag (RFC 5646) as the program file writes it
//! (`"de"`, `"pt-BR"`, `"de-AT"`), checked for its shape and kept in its canonical case
//! (`pt-BR`, `zh-Hant-TW`), with the fallback chain templates are looked up by
//! (`de-AT` → `de` → the program's language).

use std::fmt;

/// The languages mentord writes its own mail in.
pub const BUILT_IN: [&str; 6] = ["en", "de", "fr", "es", "pt", "ja"];

/// A well-formed BCP 47 language tag, in canonical case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Language(String);

/// Why a text is not a language tag, in words for the one who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a language tag")]
pub struct BadLanguage(pub String);

impl Language {
    /// English, the language of a program that names none.
    pub fn english() -> Language {
        Language("en".to_string())
    }

    /// Reads a tag: a primary language of 2–3 letters, then subtags of 1–8 letters or
    /// digits (script, region, variants, extensions), separated by `-` (`_` is taken
    /// for `-`, as spreadsheets and locales write it). At most 35 characters.
    pub fn parse(text: &str) -> Result<Language, BadLanguage> {
        let bad = || BadLanguage(text.to_string());
        if text.is_empty() || text.len() > 35 {
            return Err(bad());
        }
        let mut canonical = String::with_capacity(text.len());
        for (i, subtag) in text.split(['-', '_']).enumerate() {
            let ascii = subtag.bytes().all(|b| b.is_ascii_alphanumeric());
            if !ascii || subtag.is_empty() || subtag.len() > 8 {
                return Err(bad());
            }
            if i == 0 {
                if !(2..=3).contains(&subtag.len())
                    || !subtag.bytes().all(|b| b.is_ascii_alphabetic())
                {
                    return Err(bad());
                }
                canonical.push_str(&subtag.to_ascii_lowercase());
                continue;
            }
            canonical.push('-');
            match subtag.len() {
                // Script: title case (`Hant`).
                4 if subtag.bytes().all(|b| b.is_ascii_alphabetic()) => {
                    canonical.push_str(&subtag[..1].to_ascii_uppercase());
                    canonical.push_str(&subtag[1..].to_ascii_lowercase());
                }
                // Region: upper case (`BR`); a numeric region (`419`) stays as it is.
                2 => canonical.push_str(&subtag.to_ascii_uppercase()),
                _ => canonical.push_str(&subtag.to_ascii_lowercase()),
            }
        }
        Ok(Language(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The primary language (`de` of `de-AT`).
    pub fn primary(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }

    /// Whether mentord has its own templates in this language (by its primary subtag).
    pub fn is_built_in(&self) -> bool {
        BUILT_IN.contains(&self.primary())
    }

    /// The tags to look a template up by, most specific first: `de-AT-1996`, `de-AT`,
    /// `de`.
    pub fn fallbacks(&self) -> impl Iterator<Item = &str> {
        let tag = self.0.as_str();
        let cuts = tag
            .char_indices()
            .filter(|&(_, c)| c == '-')
            .map(|(i, _)| i)
            .collect::<Vec<_>>();
        std::iter::once(tag).chain(cuts.into_iter().rev().map(move |i| &tag[..i]))
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_in_canonical_case() {
        for (text, canonical) in [
            ("de", "de"),
            ("EN", "en"),
            ("pt-br", "pt-BR"),
            ("pt_BR", "pt-BR"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("es-419", "es-419"),
            ("de-AT-1996", "de-AT-1996"),
        ] {
            assert_eq!(Language::parse(text).unwrap().as_str(), canonical);
        }
    }

    #[test]
    fn what_is_not_a_tag_is_refused() {
        for text in [
            "",
            "d",
            "deutsch",
            "de-",
            "-de",
            "de--AT",
            "12",
            "de-AT!",
            "de AT",
            "ja-日本",
            "en-abcdefghi",
        ] {
            assert!(Language::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn fallbacks_run_from_the_most_specific() {
        let tag = Language::parse("de-AT-1996").unwrap();
        assert_eq!(
            tag.fallbacks().collect::<Vec<_>>(),
            ["de-AT-1996", "de-AT", "de"]
        );
        assert_eq!(tag.primary(), "de");
        assert!(tag.is_built_in());
        assert!(!Language::parse("nl").unwrap().is_built_in());
    }
}
