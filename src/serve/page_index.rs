//! What the coordinator's page looks pairs up by, made once per computed report and
//! shared by every request until the next ([`super::page_cache`]): each pair's
//! health (from [`crate::report::build`]), its text for search folded once (ids, names,
//! email addresses: case and accents dropped), what the coordinator said of it in the
//! digest (snoozed, handled), and the pairs in every order the table sorts by. A request
//! then only walks one precomputed order and filters: linear in the pairs, whatever the
//! sort, for 300 or 50,000 pairs.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

use crate::report::{Health, Level};
use crate::status::PairLine;
use crate::store::Flag;

/// The longest search kept, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// `text` as search compares it: compatibility-decomposed (NFKD), its combining marks
/// dropped, in lower case; so `Nguyễn`, `NGUYEN` and `nguyen` are alike, and `ﬁ` is `fi`.
pub fn fold(text: &str) -> String {
    text.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A search as typed: trimmed, at most [`MAX_QUERY_CHARS`] characters.
pub fn bounded(q: &str) -> &str {
    let q = q.trim();
    match q.char_indices().nth(MAX_QUERY_CHARS) {
        Some((end, _)) => &q[..end],
        None => q,
    }
}

/// The columns the table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Worst first (at risk, watch, good), then by pair.
    #[default]
    Health,
    Pair,
    /// The next meeting, soonest first; none last.
    Next,
    /// The review's due date, earliest first; none last.
    Review,
    /// The last mail sent, oldest first; never first.
    Last,
}

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::Health,
        Sort::Pair,
        Sort::Next,
        Sort::Review,
        Sort::Last,
    ];

    pub fn parse(text: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Health => "health",
            Sort::Pair => "pair",
            Sort::Next => "next",
            Sort::Review => "review",
            Sort::Last => "last",
        }
    }
}

/// What the coordinator said of a flagged pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Said {
    /// Out of the digest until then (shown in the program's zone).
    pub snoozed_until: Option<String>,
    /// Marked handled, and nothing new since.
    pub handled: bool,
}

/// One pair's entry, beside its line of the status report.
#[derive(Debug, Clone)]
pub struct Entry {
    pub health: Option<Health>,
    /// Pair id, names and addresses, folded, separated by NUL (never in a query).
    folded: String,
    /// What the coordinator said of the digest's flag, if anything yet.
    pub said: Option<Said>,
}

/// Every pair's entry, and the pairs in each order.
#[derive(Debug, Default)]
pub struct Index {
    /// Aligned with the status report's pairs.
    pub entries: Vec<Entry>,
    /// Per [`Sort`] (in [`Sort::ALL`]'s order): positions in the report's pairs, ascending
    /// (health: worst first); missing values last.
    orders: Vec<Vec<u32>>,
}

/// What the index is made of, besides the status report's lines.
#[derive(Debug, Default)]
pub struct Sources<'s> {
    /// Health by pair id.
    pub health: HashMap<&'s str, &'s Health>,
    /// Both people's addresses by pair id.
    pub emails: HashMap<&'s str, [&'s str; 2]>,
    /// The digest's flags by pair id.
    pub flags: HashMap<&'s str, &'s Flag>,
}

impl Index {
    pub fn new(
        lines: &[PairLine],
        sources: &Sources<'_>,
        now: Timestamp,
        local: impl Fn(Timestamp) -> String,
    ) -> Index {
        let entries: Vec<Entry> = lines
            .iter()
            .map(|line| {
                let health = sources.health.get(line.pair.as_str()).map(|h| (*h).clone());
                let mut text = fold(&line.pair);
                for part in [&line.mentor, &line.mentee] {
                    text.push('\0');
                    text.push_str(&fold(part));
                }
                for email in sources.emails.get(line.pair.as_str()).into_iter().flatten() {
                    text.push('\0');
                    text.push_str(&fold(email));
                }
                let flag = sources.flags.get(line.pair.as_str());
                let said = flag.and_then(|f| {
                    let snoozed_until = f.snoozed_until.filter(|&until| until > now).map(&local);
                    let handled = f.handled_reasons.as_deref() == Some(f.reasons.as_str());
                    (snoozed_until.is_some() || handled).then_some(Said {
                        snoozed_until,
                        handled,
                    })
                });
                Entry {
                    health,
                    folded: text,
                    said,
                }
            })
            .collect();
        let orders = Sort::ALL
            .into_iter()
            .map(|sort| order(lines, &entries, sort))
            .collect();
        Index { entries, orders }
    }

    /// Positions of the report's pairs in `sort`'s order, reversed with `descending`.
    pub fn ordered(&self, sort: Sort, descending: bool) -> Box<dyn Iterator<Item = usize> + '_> {
        let Some(order) = Sort::ALL
            .iter()
            .position(|&s| s == sort)
            .and_then(|i| self.orders.get(i))
        else {
            return Box::new(std::iter::empty());
        };
        let ascending = order.iter().map(|&i| i as usize);
        if descending {
            Box::new(ascending.rev())
        } else {
            Box::new(ascending)
        }
    }

    /// Whether the pair at `at` holds `needle` (folded) in its id, names or addresses.
    pub fn matches(&self, at: usize, needle: &str) -> bool {
        needle.is_empty()
            || self
                .entries
                .get(at)
                .is_some_and(|entry| entry.folded.contains(needle))
    }
}

fn rank(health: Option<&Health>) -> u8 {
    match health.map(|h| h.level) {
        Some(Level::AtRisk) => 0,
        Some(Level::Watch) => 1,
        Some(Level::Good) => 2,
        None => 3,
    }
}

/// Skips the weekday of `Tue 2027-01-12 10:00`: the rest sorts as text.
fn when(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(|t| t.get(4..).unwrap_or(t))
}

fn order(lines: &[PairLine], entries: &[Entry], sort: Sort) -> Vec<u32> {
    let mut order: Vec<u32> = (0..lines.len() as u32).collect();
    let line = |i: &u32| &lines[*i as usize];
    match sort {
        Sort::Health => order.sort_by(|a, b| {
            let (ha, hb) = (
                entries[*a as usize].health.as_ref(),
                entries[*b as usize].health.as_ref(),
            );
            rank(ha)
                .cmp(&rank(hb))
                .then(
                    hb.map_or(0, |h| h.reasons.len())
                        .cmp(&ha.map_or(0, |h| h.reasons.len())),
                )
                .then(line(a).pair.cmp(&line(b).pair))
        }),
        Sort::Pair => order.sort_by(|a, b| line(a).pair.cmp(&line(b).pair)),
        Sort::Next => order.sort_by_cached_key(|i| {
            let l = line(i);
            (when(&l.next_meeting).is_none(), when(&l.next_meeting), *i)
        }),
        Sort::Review => order.sort_by_cached_key(|i| {
            let l = line(i);
            (l.review_due.is_none(), l.review_due.as_deref(), *i)
        }),
        Sort::Last => order.sort_by_cached_key(|i| {
            let l = line(i);
            (when(&l.last_sent).is_some(), when(&l.last_sent), *i)
        }),
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_folds_accents_case_and_compatibility_forms() {
        assert_eq!(fold("Nguyễn Thị"), "nguyen thi");
        assert_eq!(fold("ZOË"), "zoe");
        assert_eq!(fold("ﬁle"), "file");
        assert_eq!(fold("Ada@Example.ORG"), "ada@example.org");
        assert!(fold("Nguyễn").contains(&fold("NGUYỄN")));
    }

    #[test]
    fn a_query_is_bounded() {
        let long = "é".repeat(1000);
        assert_eq!(bounded(&long).chars().count(), MAX_QUERY_CHARS);
        assert_eq!(bounded("  ada "), "ada");
        assert_eq!(Sort::parse("next"), Some(Sort::Next));
        assert_eq!(Sort::parse("evil"), None);
    }
}
