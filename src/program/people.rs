//! `[people.ID]`: one person each, kept even when invalid so that pairs naming them are
//! not told the person does not exist.

use rustc_hash::FxHashMap as HashMap;

use super::model::{Person, Zone};
use super::reader::{self, Table, TableName, Value, line_of};
use super::values;
use super::zones::Zones;
use crate::diagnostic::{Diagnostics, Span};

const PERSON_KEYS: &[&str] = &["name", "email", "timezone", "quiet_hours", "language"];

/// A person as read; an invalid one is kept (so pairs naming them are not told the
/// person does not exist) but never used.
#[derive(Debug)]
pub(crate) struct PersonEntry {
    pub(crate) person: Person,
    pub(crate) valid: bool,
}

/// Reads `[people.ID]`. `emails` holds every address seen so far (lower case, with its
/// place) so a second person with the same one is refused; `text` is the whole file,
/// for pointing at that place.
pub(crate) fn read_person(
    id: &str,
    value: &Value<'_>,
    zones: &mut Zones,
    emails: &mut HashMap<String, Span>,
    text: &str,
    diags: &mut Diagnostics,
) -> PersonEntry {
    let mut person = Person {
        id: id.to_string(),
        name: String::new(),
        email: String::new(),
        // Replaced by the program's zone in `finish` when the person sets none.
        zone: Zone {
            name: "".into(),
            tz: jiff::tz::TimeZone::UTC,
        },
        quiet_hours: None,
        language: None,
    };
    let Some(mut t) = Table::from_value(TableName::Person(id), value, diags) else {
        return PersonEntry {
            person,
            valid: false,
        };
    };
    let name = t
        .require("name", diags, "\"Grace Hopper\"")
        .and_then(|v| reader::name_text(v, "name", diags));
    let example = format!("\"{id}@example.org\"");
    let email = t.require("email", diags, &example).and_then(|v| {
        let email = reader::email(v, &example, diags)?;
        let key = email.to_lowercase();
        if let Some(first) = emails.get(&key) {
            let first = first.clone();
            diags
                .error(
                    v.span(),
                    format!("`email` {email:?} is already used by another person"),
                )
                .help(format!(
                    "give each person their own address (the other is on line {})",
                    line_of(text, &first)
                ));
            return None;
        }
        emails.insert(key, diags.absolute(v.span()));
        Some(email)
    });
    let zone = t.get("timezone").map(|v| zones.read(v, "timezone", diags));
    let quiet_hours = t.get("quiet_hours").map(|v| {
        if reader::is_off(v) {
            Some(Some(None))
        } else {
            reader::parsed(
                v,
                "quiet_hours",
                "\"21:00-07:00\"",
                diags,
                values::parse_quiet_hours,
            )
            .map(|q| Some(Some(q)))
        }
    });
    let language = t.get("language").map(|v| reader::language(v, diags));
    t.finish(&[PERSON_KEYS], diags);
    let mut valid = true;
    match name {
        Some(name) => person.name = name,
        None => valid = false,
    }
    match email {
        Some(email) => person.email = email,
        None => valid = false,
    }
    match zone {
        Some(Some(zone)) => person.zone = zone,
        Some(None) => valid = false,
        None => {}
    }
    match quiet_hours {
        Some(Some(q)) => person.quiet_hours = q,
        Some(None) => valid = false,
        None => {}
    }
    match language {
        Some(Some(language)) => person.language = Some(language),
        Some(None) => valid = false,
        None => {}
    }
    PersonEntry { person, valid }
}
