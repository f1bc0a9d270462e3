//! Walking the spanned TOML tree: tables that remember which keys were read so the rest
//! can be reported as unknown, typed reads that report a wrong type where it is (and the
//! checked text, names and addresses every section reads alike), and where a span is in
//! the file.

use jiff::civil::Date;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::values::{self, ValueError, check_email, check_name, check_text, closest};
use crate::diagnostic::{Diagnostics, Span};
use crate::vocab::Language;

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// How a table is named in messages; built into text only when a message needs it
/// (100,000 people would otherwise format 100,000 names for nothing).
#[derive(Debug, Clone, Copy)]
pub(crate) enum TableName<'a> {
    /// `[program]`, `[mail]`, …
    Fixed(&'static str),
    /// `[people.ID]`
    Person(&'a str),
    /// `[[pairs]] #N`, counted from 1.
    Pair(usize),
    /// An inline table under a key, e.g. `organizer`.
    Key(&'static str),
}

impl std::fmt::Display for TableName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableName::Fixed(name) => write!(f, "{name}"),
            TableName::Person(id) => write!(f, "[people.{id}]"),
            TableName::Pair(n) => write!(f, "[[pairs]] #{n}"),
            TableName::Key(key) => write!(f, "`{key}`"),
        }
    }
}

impl From<&'static str> for TableName<'_> {
    fn from(name: &'static str) -> Self {
        TableName::Fixed(name)
    }
}

/// One TOML table being read: which keys exist, which were used.
pub(crate) struct Table<'a, 'i> {
    pub(crate) name: TableName<'a>,
    pub(crate) span: Span,
    entries: Vec<(&'a str, Span, &'a Value<'i>)>,
    used: Vec<bool>,
}

impl<'a, 'i> Table<'a, 'i> {
    pub(crate) fn from_table(
        name: impl Into<TableName<'a>>,
        span: Span,
        table: &'a DeTable<'i>,
    ) -> Self {
        let entries: Vec<_> = table
            .iter()
            .map(|(k, v)| (k.get_ref().as_ref(), k.span(), v))
            .collect();
        let used = vec![false; entries.len()];
        Table {
            name: name.into(),
            span,
            entries,
            used,
        }
    }

    /// Reads `value` as a table, or reports that it is not one.
    pub(crate) fn from_value(
        name: impl Into<TableName<'a>>,
        value: &'a Value<'i>,
        diags: &mut Diagnostics,
    ) -> Option<Self> {
        let name = name.into();
        match value.get_ref() {
            DeValue::Table(table) => Some(Table::from_table(name, value.span(), table)),
            other => {
                diags
                    .error(
                        value.span(),
                        format!("{name} must be a table, found {}", type_name(other)),
                    )
                    .help("write it as a [section] or an inline table { ... }");
                None
            }
        }
    }

    pub(crate) fn get(&mut self, key: &str) -> Option<&'a Value<'i>> {
        let index = self.entries.iter().position(|(k, _, _)| *k == key)?;
        self.used[index] = true;
        Some(self.entries[index].2)
    }

    /// Span of a key's name, for messages about the key rather than its value.
    pub(crate) fn key_span(&self, key: &str) -> Option<Span> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, span, _)| span.clone())
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = (&'a str, Span, &'a Value<'i>)> + '_ {
        self.entries.iter().map(|(k, s, v)| (*k, s.clone(), *v))
    }

    pub(crate) fn require(
        &mut self,
        key: &str,
        diags: &mut Diagnostics,
        example: &str,
    ) -> Option<&'a Value<'i>> {
        let value = self.get(key);
        if value.is_none() {
            diags
                .error(
                    self.span.clone(),
                    format!("{} is missing `{key}`", self.name),
                )
                .help(format!("add `{key} = {example}`"));
        }
        value
    }

    /// Reports every key that was never read, suggesting the closest known one.
    /// `known` comes in parts (a pair's own keys and the shared ones) so nothing is
    /// built for the common case of a table without mistakes.
    pub(crate) fn finish(self, known: &[&[&str]], diags: &mut Diagnostics) {
        for ((key, span, _), used) in self.entries.iter().zip(&self.used) {
            if *used {
                continue;
            }
            let all: Vec<&str> = known.iter().flat_map(|k| k.iter().copied()).collect();
            let help = match closest(key, all.iter().copied()) {
                Some(suggestion) => format!("did you mean `{suggestion}`?"),
                None => format!("known keys here: {}", all.join(", ")),
            };
            diags
                .error(
                    span.clone(),
                    format!("unknown key `{key}` in {}", self.name),
                )
                .help(help);
        }
    }
}

pub(crate) fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date/time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn wrong_type(diags: &mut Diagnostics, value: &Value<'_>, key: &str, wanted: &str, example: &str) {
    diags
        .error(
            value.span(),
            format!(
                "`{key}` must be {wanted}, found {}",
                type_name(value.get_ref())
            ),
        )
        .help(format!("write it like `{key} = {example}`"));
}

/// A string value, with its span.
pub(crate) fn string<'a>(
    value: &'a Value<'_>,
    key: &str,
    example: &str,
    diags: &mut Diagnostics,
) -> Option<&'a str> {
    match value.get_ref() {
        DeValue::String(s) => Some(s.as_ref()),
        _ => {
            wrong_type(diags, value, key, "a string", example);
            None
        }
    }
}

/// A string run through a value parser; the parser's error lands on the value.
pub(crate) fn parsed<T>(
    value: &Value<'_>,
    key: &str,
    example: &str,
    diags: &mut Diagnostics,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Option<T> {
    let text = string(value, key, example, diags)?;
    match parse(text) {
        Ok(v) => Some(v),
        Err(e) => {
            report(diags, value.span(), key, e);
            None
        }
    }
}

pub(crate) fn report(diags: &mut Diagnostics, span: Span, key: &str, error: ValueError) {
    diags
        .error(span, format!("`{key}`: {}", error.message))
        .help(error.help);
}

/// A plain date: a TOML local date `2027-01-11` or the string `"2027-01-11"`.
pub(crate) fn date(
    value: &Value<'_>,
    key: &str,
    example: &str,
    diags: &mut Diagnostics,
) -> Option<Date> {
    let help = format!("write a date without quotes or time, like `{key} = {example}`");
    match value.get_ref() {
        DeValue::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => {
            let d = dt.date?;
            match Date::new(d.year as i16, d.month as i8, d.day as i8) {
                Ok(date) => Some(date),
                Err(_) => {
                    diags
                        .error(value.span(), format!("`{key}` is not a real date"))
                        .help(help);
                    None
                }
            }
        }
        DeValue::Datetime(_) => {
            diags
                .error(
                    value.span(),
                    format!("`{key}` must be a date, not a date and time"),
                )
                .help(help);
            None
        }
        DeValue::String(s) => match s.parse::<Date>() {
            Ok(date) if s.len() == 10 => Some(date),
            _ => {
                diags
                    .error(value.span(), format!("`{key}`: \"{s}\" is not a date"))
                    .help(help);
                None
            }
        },
        _ => {
            wrong_type(diags, value, key, "a date", example);
            None
        }
    }
}

/// An array whose items each go through `item`; a lone item is accepted as a list of one
/// when `allow_single` is set.
pub(crate) fn list<'a, 'i, T>(
    value: &'a Value<'i>,
    key: &str,
    example: &str,
    allow_single: bool,
    diags: &mut Diagnostics,
    mut item: impl FnMut(&'a Value<'i>, &mut Diagnostics) -> Option<T>,
) -> Option<Vec<T>> {
    match value.get_ref() {
        DeValue::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for v in items.iter() {
                match item(v, diags) {
                    Some(x) => out.push(x),
                    None => ok = false,
                }
            }
            ok.then_some(out)
        }
        _ if allow_single => item(value, diags).map(|x| vec![x]),
        _ => {
            wrong_type(diags, value, key, "an array", example);
            None
        }
    }
}

/// Whether a string value is the word `off`, which switches a setting off.
pub(crate) fn is_off(value: &Value<'_>) -> bool {
    matches!(value.get_ref(), DeValue::String(s) if s.trim().eq_ignore_ascii_case("off"))
}

/// The span of bytes `range` of a string value's text, or the whole value when the
/// string was written with escapes (then source bytes and text bytes differ).
pub(crate) fn span_within(value: &Value<'_>, text: &str, range: Span) -> Span {
    let span = value.span();
    if span.len() == text.len() + 2 {
        let start = span.start + 1 + range.start;
        start..(span.start + 1 + range.end).max(start + 1)
    } else {
        span
    }
}

/// One line of text that will reach a header or a calendar line.
pub(crate) fn text(value: &Value<'_>, key: &str, diags: &mut Diagnostics) -> Option<String> {
    checked_text(value, key, diags, check_text)
}

/// A name (of a person, the organizer or the program): it reaches mail subjects.
pub(crate) fn name_text(value: &Value<'_>, key: &str, diags: &mut Diagnostics) -> Option<String> {
    checked_text(value, key, diags, check_name)
}

fn checked_text(
    value: &Value<'_>,
    key: &str,
    diags: &mut Diagnostics,
    check: fn(&str) -> Result<(), ValueError>,
) -> Option<String> {
    parsed(value, key, "\"...\"", diags, |s| {
        check(s)?;
        if s.trim().is_empty() {
            return Err(values::invalid(
                "is empty",
                "write some text, or remove the key",
            ));
        }
        Ok(s.to_string())
    })
}

/// An email address, checked; `example` is shown in the help.
pub(crate) fn email(value: &Value<'_>, example: &str, diags: &mut Diagnostics) -> Option<String> {
    parsed(value, "email", example, diags, |s| {
        check_email(s).map(|()| s.to_string())
    })
}

/// 1-based line of a span's start, for messages that point at an earlier place.
pub(super) fn line_of(text: &str, span: &Span) -> usize {
    let end = span.start.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A language tag (BCP 47): `"de"`, `"pt-BR"`. One mentord writes no mail in is taken,
/// with a warning: the person's mail falls back to the program's language.
pub(crate) fn language(value: &Value<'_>, diags: &mut Diagnostics) -> Option<Language> {
    parsed(value, "language", "\"de\"", diags, |text| {
        Language::parse(text).map_err(|e| {
            crate::diagnostic::invalid(
                e.to_string(),
                format!(
                    "write a BCP 47 tag such as \"de\" or \"pt-BR\" (built in: {})",
                    crate::vocab::language::BUILT_IN.join(", ")
                ),
            )
        })
    })
    .inspect(|language| {
        if !language.is_built_in() {
            diags
                .warning(
                    value.span(),
                    format!("`language`: mentord has no mail of its own in \"{language}\""),
                )
                .help(format!(
                    "mail to this person falls back to the program's language; built in: {}",
                    crate::vocab::language::BUILT_IN.join(", ")
                ));
        }
    })
}
