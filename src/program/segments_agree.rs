//! The segmented loader against its plain reference: program texts of every shape
//! (sections in any order, people split across segments, sub-tables after the people,
//! inline tables, arrays over several lines, comments, unknown keys, TOML syntax errors)
//! must give exactly what parsing the whole text in one piece gives, at any segment size.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;

use proptest::prelude::*;

use super::load::{parse_in_segments, parse_segmented, parse_whole};
use super::model::Program;
use crate::diagnostic::Diagnostic;

/// Small enough that most headers start a segment of their own, up to a few tables each.
const SEGMENT_SIZES: &[usize] = &[1, 64, 200, 1000];

const IDS: &[&str] = &["ada", "grace", "alan", "linus", "radia", "ken"];

/// Zones with half- and quarter-hour offsets among them (an unknown one comes from
/// [`ODD_LINES`]).
const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "UTC",
];

/// Lines that break TOML, each in its own way.
const SYNTAX_ERRORS: &[&str] = &[
    "name = \"unterminated",
    "= 3",
    "[people.broken",
    "key = }",
    "at = 10:00",
    "a = 1 = 2",
    "goals = [\"open\",",
    "[[pairs]",
    "x = { y = 1",
    "\"\"\" = 1",
];

/// Lines that are valid TOML but not a valid program.
const ODD_LINES: &[&str] = &[
    "colour = \"blue\"",
    "timezone = \"Mars/Olympus\"",
    "every = \"fortnight\"",
    "at = 25",
    "quiet_hours = \"off\"",
    "[store]\nurl = \"sqlite://other.db\"",
    "[mail]\ntransport = \"file\"\ndir = \"mail\"",
    "[peopel.eve]\nname = \"Eve\"",
    "[defaults]\nevery = \"week\"",
];

/// Text between and inside blocks that TOML ignores.
const FILLER: &[&str] = &[
    "",
    "\n",
    "# a comment\n",
    "\n# [people.commented_out]\n\n",
    "   \n\t\n",
];

fn program_block(zone: usize, coordinator: usize, inline_organizer: bool, skip: u8) -> String {
    let mut out = format!(
        "[program]\nname = \"Mentoring\"\ntimezone = \"{}\"\nstart = 2027-01-11\ncoordinator = \"{}\"\n",
        ZONES[zone], IDS[coordinator]
    );
    if inline_organizer {
        out.push_str("organizer = { name = \"Program\", email = \"program@example.org\" }\n");
    }
    match skip {
        0 => {}
        1 => out.push_str("skip = [2027-03-26, 2027-04-05]\n"),
        _ => out.push_str("skip = [\n  2027-03-26, # Good Friday\n  2027-04-05,\n]\n"),
    }
    out
}

fn person_block(id: usize, form: u8, zone: Option<usize>, shared_email: bool) -> String {
    let id = IDS[id];
    let email = if shared_email {
        "shared@example.org".to_string()
    } else {
        format!("{id}@example.org")
    };
    let zone = zone.map_or(String::new(), |z| format!("timezone = \"{}\"", ZONES[z]));
    match form {
        0 => format!("[people.{id}]\nname = \"Person {id}\"\nemail = \"{email}\"\n{zone}\n"),
        1 => {
            let zone = if zone.is_empty() {
                zone
            } else {
                format!(", {zone}")
            };
            format!("[people]\n{id} = {{ name = \"Person {id}\", email = \"{email}\"{zone} }}\n")
        }
        _ => format!(
            "[people.{id}]\nname = 'Person {id}'   # literal\nemail = \"{email}\"\n{zone}\n"
        ),
    }
}

fn pair_block(mentor: usize, mentee: usize, variant: u8) -> String {
    let mut out = format!(
        "[[pairs]]\nmentor = \"{}\"\nmentee = \"{}\"\n",
        IDS[mentor], IDS[mentee]
    );
    match variant {
        0 => {}
        1 => out.push_str("every = \"week\"\non = \"thu\"\nat = \"09:30\"\n"),
        2 => out.push_str("goals = [\n  \"Lead a review\",\n  \"Ship [the] runbook\",\n]\n"),
        3 => out.push_str("at = \"16:00\"\ntimezone = \"Asia/Kathmandu\"\nstatus = \"paused\"\n"),
        _ => out.push_str("rrule = \"FREQ=WEEKLY;INTERVAL=3;BYDAY=MO\"\nduration = \"1h\"\n"),
    }
    out
}

/// A program text put together from shuffled blocks, then roughened line by line.
fn program_text() -> impl Strategy<Value = String> {
    let form = prop_oneof![26 => Just(0u8), 3 => Just(2u8), 1 => Just(1u8)];
    let person = (
        form,
        prop::option::weighted(0.3, 0..ZONES.len()),
        prop::bool::weighted(0.05),
    );
    let people = (
        prop::sample::subsequence((0..IDS.len()).collect::<Vec<_>>(), 2..=IDS.len()),
        prop::collection::vec(person, IDS.len()),
        // A person written twice, most often in another segment.
        prop::option::weighted(0.05, any::<prop::sample::Index>()),
    );
    let program = (
        prop::bool::weighted(0.95),
        0..ZONES.len(),
        any::<prop::sample::Index>(),
        prop::bool::weighted(0.9),
        0u8..3,
    );
    let pairs = prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            0u8..5,
        ),
        0..6,
    );
    let defaults = prop::option::of(any::<bool>());
    let preamble = prop::option::weighted(
        0.05,
        prop::sample::select(vec![
            "people = 1\n",
            "pairs = [{ mentor = \"ada\", mentee = \"ken\" }]\n",
            "people.ken = { name = \"Ken\", email = \"ken@example.org\" }\n",
        ]),
    );
    let edit = (
        any::<prop::sample::Index>(),
        prop_oneof![1 => Just(Edit::SyntaxError), 3 => Just(Edit::OddLine), 4 => Just(Edit::Comment)],
        any::<prop::sample::Index>(),
    );
    let edits = prop::collection::vec(edit, 0..3);
    (people, program, pairs, defaults, preamble)
        .prop_flat_map(|(people, program, pairs, defaults, preamble)| {
            let blocks = blocks(people, program, pairs, defaults);
            let fillers = prop::collection::vec(prop::sample::select(FILLER), blocks.len() + 1);
            (Just(blocks).prop_shuffle(), fillers, Just(preamble))
        })
        .prop_flat_map(move |blocks| (Just(blocks), edits.clone()))
        .prop_map(|((blocks, fillers, preamble), edits)| {
            let mut text = String::from(preamble.unwrap_or(""));
            for (block, filler) in blocks.iter().zip(&fillers) {
                text.push_str(filler);
                text.push_str(block);
            }
            text.push_str(fillers.last().unwrap_or(&""));
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            for (at, edit, pick) in edits {
                let inserted = match edit {
                    Edit::SyntaxError => pick.get(SYNTAX_ERRORS).to_string(),
                    Edit::OddLine => pick.get(ODD_LINES).to_string(),
                    Edit::Comment => format!("# note {}", pick.index(100)),
                };
                lines.insert(at.index(lines.len() + 1), inserted);
            }
            let mut text = lines.join("\n");
            text.push('\n');
            text
        })
}

/// A line put into a generated text, anywhere (often inside a table).
#[derive(Debug, Clone, Copy)]
enum Edit {
    SyntaxError,
    OddLine,
    Comment,
}

type PeopleSpec = (
    Vec<usize>,
    Vec<(u8, Option<usize>, bool)>,
    Option<prop::sample::Index>,
);
type ProgramSpec = (bool, usize, prop::sample::Index, bool, u8);
type PairSpec = (prop::sample::Index, prop::sample::Index, u8);

/// The blocks of a program, in file order before shuffling. Pairs and the coordinator
/// name people who are defined, so that many texts are valid programs.
fn blocks(
    (ids, people, again): PeopleSpec,
    (with_program, zone, coordinator, inline_organizer, skip): ProgramSpec,
    pairs: Vec<PairSpec>,
    defaults: Option<bool>,
) -> Vec<String> {
    let mut blocks = Vec::new();
    if with_program {
        let coordinator = ids[coordinator.index(ids.len())];
        blocks.push(program_block(zone, coordinator, inline_organizer, skip));
        if !inline_organizer {
            // Shuffled away from `[program]`, so often in a later segment.
            blocks.push(
                "[program.organizer]\nname = \"Program\"\nemail = \"program@example.org\"\n".into(),
            );
        }
    }
    for &id in &ids {
        let (form, zone, shared) = people[id];
        blocks.push(person_block(id, form, zone, shared));
    }
    if let Some(again) = again {
        blocks.push(person_block(ids[again.index(ids.len())], 0, None, false));
    }
    for (mentor, mentee, variant) in pairs {
        let mentor = mentor.index(ids.len());
        let mentee = (mentor + 1 + mentee.index(ids.len() - 1)) % ids.len();
        blocks.push(pair_block(ids[mentor], ids[mentee], variant));
    }
    match defaults {
        Some(true) => blocks.push(
            "[defaults]\nevery = \"2 weeks\"\non = \"tue\"\nat = \"10:00\"\ndigest = \"0 8 * * MON\"\n"
                .into(),
        ),
        Some(false) => blocks.push("[defaults]\nevery = \"month\"\non = \"2nd wed\"\n".into()),
        None => {}
    }
    blocks
}

/// What a parse gives, in a form two parses can be compared by.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok(String),
    Err(Vec<Diagnostic>),
}

fn outcome(result: Result<Program, Vec<Diagnostic>>) -> Outcome {
    match result {
        Ok(program) => Outcome::Ok(format!("{program:?}")),
        Err(diagnostics) => Outcome::Err(diagnostics),
    }
}

fn assert_agree(text: &str) {
    let base = Path::new(".");
    let whole = outcome(parse_whole(text, base));
    for &size in SEGMENT_SIZES {
        let segmented = outcome(parse_segmented(text, base, size));
        assert_eq!(segmented, whole, "segments of {size} bytes, text:\n{text}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn segmented_parse_equals_whole_parse(text in program_text()) {
        assert_agree(&text);
    }
}

/// The example file and the stress file take the fast path: without this, a loader
/// that always fell back to one piece would pass every test above.
#[test]
fn usual_files_are_read_in_segments() {
    for file in ["config/mentord.toml", "tests/programs/stress.toml"] {
        let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        assert_agree(&text);
        for &size in SEGMENT_SIZES {
            let fast = parse_in_segments(&text, Path::new("."), size);
            assert!(fast.is_ok(), "{file} in segments of {size} bytes");
        }
    }
}

/// The head of a valid program, for the regression cases below.
const HEAD: &str = "[program]\nname = \"M\"\ntimezone = \"UTC\"\nstart = 2027-01-11\ncoordinator = \"ada\"\norganizer = { name = \"P\", email = \"p@example.org\" }\n[people.ada]\nname = \"A\"\nemail = \"a@example.org\"\n";

const KEN: &str = "[people.ken]\nname = \"K\"\nemail = \"k@example.org\"\n";

/// Found by the property test: a pair missing its mentor in one segment and a duplicate
/// key in the next. The segments before the syntax error had been read, so their
/// errors ("[[pairs]] #1 is missing `mentor`") came out with the syntax error; the
/// whole text reports only the syntax error. A syntax error now sends the file to a
/// single-piece parse.
#[test]
fn errors_read_before_a_syntax_error_are_not_reported() {
    assert_agree("[[pairs]]\n[defaults]\nevery = \"week\"\nevery = \"week\"\n");
}

/// Found by the property test: after an unclosed header the parser's recovery carries
/// on past the next headers, so the whole text has duplicate keys (the two pairs' keys
/// land in one table) that no single segment has.
#[test]
fn syntax_errors_are_those_of_the_whole_text() {
    let text = "[people.broken\n[[pairs]]\nmentor = \"ada\"\nmentee = \"ada\"\n[[pairs]]\nmentor = \"ada\"\nmentee = \"ada\"\n";
    assert!(matches!(parse_whole(text, Path::new(".")), Err(d) if d.len() > 1));
    assert_agree(text);
}

/// A person defined twice, the second time after a syntax error: reading stopped at
/// the error, so the duplicate was never seen, while the whole text reports it.
#[test]
fn a_duplicate_after_a_syntax_error_is_reported() {
    assert_agree(&format!("{HEAD}{KEN}= 1\n{KEN}"));
}

/// `[people]` written twice is a duplicate table in TOML; in segments each was read as
/// a table of its own and the file was accepted.
#[test]
fn people_twice_is_an_error() {
    let people = "[people]\nken = { name = \"K\", email = \"k@example.org\" }\n";
    let text = format!(
        "{HEAD}{people}[people.bob]\nname = \"B\"\nemail = \"b@example.org\"\n[people]\nzed = {{ name = \"Z\", email = \"z@example.org\" }}\n"
    );
    assert!(parse_whole(&text, Path::new(".")).is_err());
    assert_agree(&text);
}

/// `pairs = [...]` cannot be extended by `[[pairs]]` in TOML; in segments the two were
/// joined and the file was accepted.
#[test]
fn an_inline_pairs_array_is_not_extended() {
    let text = format!(
        "pairs = [{{ mentor = \"ada\", mentee = \"ken\" }}]\n{HEAD}{KEN}[[pairs]]\nmentor = \"ken\"\nmentee = \"ada\"\n"
    );
    assert!(parse_whole(&text, Path::new(".")).is_err());
    assert_agree(&text);
}

/// `people = 1` and then `[people.ken]` is a TOML error; in segments it was "[people]
/// must be a table" for the first and a person for the second.
#[test]
fn people_not_a_table_then_a_person() {
    assert_agree(&format!("people = 1\n{HEAD}{KEN}"));
}

/// `[pairs.x]` after a `[[pairs]]` is a table in the last pair (an unknown key there);
/// in a segment of its own it made `pairs` a table ("must be an array of tables").
#[test]
fn a_sub_table_of_the_last_pair() {
    assert_agree(&format!(
        "{HEAD}{KEN}[[pairs]]\nmentor = \"ken\"\nmentee = \"ada\"\n[pairs.x]\n"
    ));
}

/// Dotted keys before the first header and `[people.ID]` headers after join in TOML,
/// and in segments too, without falling back.
#[test]
fn dotted_people_then_headers_stay_in_segments() {
    let text = format!("people.ken = {{ name = \"K\", email = \"k@example.org\" }}\n{HEAD}");
    assert_agree(&text);
    assert!(parse_in_segments(&text, Path::new("."), 1).is_ok());
}
