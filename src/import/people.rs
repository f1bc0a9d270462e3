//! The people sheet: one person per row. What only the sheet can tell is checked here:
//! empty names and addresses, ids (given, or derived from the address or the name),
//! the same id or address twice. Zones, quiet hours and the shape of an address are
//! left to the program loader (see [`super::verdict`]).

use rustc_hash::FxHashMap as HashMap;
use rustc_hash::FxHashSet as HashSet;

use super::RowError;
use super::sheet::{Columns, Row, Sheet};
use super::toml_text;
use crate::program::values::check_id;

pub const COLUMNS: Columns = Columns {
    known: &[&["id", "name", "email", "timezone", "quiet_hours"]],
    required: &["name", "email"],
    aliases: &[
        ("e_mail", "email"),
        ("email_address", "email"),
        ("time_zone", "timezone"),
    ],
    toml_floor,
};

/// The columns written into a person's table as strings, in order.
const WRITTEN: [&str; 4] = ["name", "email", "timezone", "quiet_hours"];

/// The TOML bytes a row makes, at the least: exactly, but for the `-2` a derived id
/// may get and the longer key of a second row with an id already taken.
fn toml_floor(row: &Row) -> usize {
    let key = match row.get("id") {
        Some(id) => toml_text::key(id),
        None => toml_text::key(&base_id(row.get("email"), row.get("name"))),
    };
    let lines: usize = WRITTEN
        .iter()
        .filter_map(|column| Some(toml_text::string_line_len(column, row.get(column)?)))
        .sum();
    toml_text::table_len(&format!("[people.{key}]")) + lines
}

/// One person as it goes into the TOML.
#[derive(Debug)]
pub struct Person {
    pub line: u64,
    /// The `[people.KEY]` the row is written under: its id, or for a second row with an
    /// id already taken, a key no pair can name (the row is refused anyway, and its
    /// other cells are still checked).
    pub key: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub timezone: Option<String>,
    pub quiet_hours: Option<String>,
}

/// Everyone in the sheet, and the ways a pair may name them.
#[derive(Debug, Default)]
pub struct People {
    pub list: Vec<Person>,
    by_id: HashMap<String, usize>,
    by_email: HashMap<String, usize>,
    by_name: HashMap<String, Named>,
}

/// Who has a name (lower case): most names one person, with no list to allocate.
#[derive(Debug)]
enum Named {
    One(usize),
    Many(Vec<usize>),
}

/// How a pair's cell names a person.
#[derive(Debug)]
pub enum Lookup<'a> {
    Person(&'a Person),
    /// A name that more than one person has: their lines.
    Ambiguous(Vec<u64>),
    Unknown,
}

impl People {
    /// The person a cell names: by id, by email address (any case), or by a name only
    /// one person has (any case).
    pub fn find(&self, cell: &str) -> Lookup<'_> {
        let index = if cell.contains('@') {
            self.by_email.get(&cell.to_lowercase())
        } else {
            self.by_id.get(cell)
        };
        if let Some(&i) = index {
            return Lookup::Person(&self.list[i]);
        }
        match self.by_name.get(&cell.to_lowercase()) {
            Some(Named::One(i)) => Lookup::Person(&self.list[*i]),
            Some(Named::Many(many)) => {
                Lookup::Ambiguous(many.iter().map(|&i| self.list[i].line).collect())
            }
            None => Lookup::Unknown,
        }
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.keys().map(String::as_str)
    }
}

/// Reads every row of the people sheet, moving its cells into the people; problems go
/// to `errors`.
pub fn read(sheet: Sheet, errors: &mut Vec<RowError>) -> People {
    let file = sheet.name.as_str();
    // Ids written in the sheet come first: a derived id never takes one of them (nor
    // one of an earlier row, in `by_id`).
    let given: HashSet<String> = sheet
        .rows
        .iter()
        .filter_map(|r| r.get("id"))
        .map(str::to_string)
        .collect();
    let mut suffixes = Suffixes::default();
    let mut people = People::default();
    people.list.reserve_exact(sheet.rows.len());
    for mut row in sheet.rows {
        let line = row.line;
        let name = row.take("name");
        let email = row.take("email");
        if name.is_none() {
            errors.push(RowError::new(
                file,
                line,
                Some("name"),
                "`name` is empty",
                "every person needs a name, as mail will show it: \"Grace Hopper\"",
            ));
        }
        if email.is_none() {
            errors.push(RowError::new(
                file,
                line,
                Some("email"),
                "`email` is empty",
                "every person needs their own address: \"grace@example.org\"",
            ));
        }
        let id = match row.take("id") {
            Some(id) => {
                if let Err(e) = check_id(&id) {
                    errors.push(RowError::new(
                        file,
                        line,
                        Some("id"),
                        format!("`id`: {}", e.message),
                        format!("{}; or leave the cell empty to derive one", e.help),
                    ));
                }
                id
            }
            None => derive_id(email.as_deref(), name.as_deref(), &mut suffixes, |id| {
                given.contains(id) || people.by_id.contains_key(id)
            }),
        };
        let key = match people.by_id.get(&id) {
            Some(&first) => {
                let first = people.list[first].line;
                errors.push(RowError::new(
                    file,
                    line,
                    Some("id"),
                    format!("`id` {id:?} is also the id on line {first}"),
                    "give each person their own id (or leave the cell empty to derive one from the address)",
                ));
                format!("line {line}: a second {id}")
            }
            None => id,
        };
        let index = people.list.len();
        if let Some(email) = &email {
            let lower = email.to_lowercase();
            match people.by_email.get(&lower) {
                Some(&first) => errors.push(RowError::new(
                    file,
                    line,
                    Some("email"),
                    format!(
                        "`email` {email:?} is also the address on line {}",
                        people.list[first].line
                    ),
                    "give each person their own address; a person is one row",
                )),
                None => {
                    people.by_email.insert(lower, index);
                }
            }
        }
        if let Some(name) = &name {
            people
                .by_name
                .entry(name.to_lowercase())
                .and_modify(|named| match named {
                    Named::One(first) => *named = Named::Many(vec![*first, index]),
                    Named::Many(many) => many.push(index),
                })
                .or_insert(Named::One(index));
        }
        people.by_id.insert(key.clone(), index);
        people.list.push(Person {
            line,
            key,
            name,
            email,
            timezone: row.take("timezone"),
            quiet_hours: row.take("quiet_hours"),
        });
    }
    people
}

/// For each base of a derived id, the suffix to try next: a thousand people whose
/// addresses all begin `info@` get `info`, `info-2`, … without trying each again.
type Suffixes = HashMap<String, u64>;

/// An id for a row without one: the address's part before `@`, else the name, made
/// safe (lowercase ASCII letters, digits, `-_.`) and not `taken`.
fn derive_id(
    email: Option<&str>,
    name: Option<&str>,
    suffixes: &mut Suffixes,
    taken: impl Fn(&str) -> bool,
) -> String {
    let base = base_id(email, name);
    let next = suffixes.entry(base.clone()).or_insert(1);
    let mut id = match *next {
        1 => base.clone(),
        n => format!("{base}-{n}"),
    };
    while taken(&id) {
        *next += 1;
        id = format!("{base}-{}", *next);
    }
    *next += 1;
    id
}

/// What a derived id starts from: the address's part before `@`, else the name, made
/// safe; "person" when neither gives anything.
fn base_id(email: Option<&str>, name: Option<&str>) -> String {
    email
        .and_then(|e| e.split('@').next())
        .map(safe_id)
        .filter(|s| !s.is_empty())
        .or_else(|| name.map(safe_id).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "person".to_string())
}

/// `"José Müller"` → `"jose-mueller"`: common Latin letters lose their accents, any
/// other run of characters becomes one `-`; at most 56 bytes, so a `-N` still fits.
fn safe_id(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        let folded = fold(c);
        if folded.is_empty() {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push_str(folded);
        }
    }
    out.truncate(56);
    out.trim_matches(['-', '.', '_']).to_string()
}

/// A lowercase character as ASCII id text; empty when it has none.
fn fold(c: char) -> &'static str {
    const KEPT: &str = "abcdefghijklmnopqrstuvwxyz0123456789-_.";
    if let Some(i) = KEPT.find(c) {
        return &KEPT[i..i + 1];
    }
    match c {
        'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'ä' | 'æ' => "ae",
        'ç' | 'ć' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'ğ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
        'ł' | 'ľ' | 'ĺ' => "l",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ō' | 'ő' => "o",
        'ö' | 'ø' | 'œ' => "oe",
        'ř' | 'ŕ' => "r",
        'ś' | 'š' | 'ş' | 'ș' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
        'ü' => "ue",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Derives ids as [`read`] does: against the ids taken so far.
    fn deriver(taken: &[&str]) -> impl FnMut(Option<&str>, Option<&str>) -> String {
        let mut taken: HashSet<String> = taken.iter().map(|t| t.to_string()).collect();
        let mut suffixes = Suffixes::default();
        move |email, name| {
            let id = derive_id(email, name, &mut suffixes, |id| taken.contains(id));
            assert!(taken.insert(id.clone()), "{id} twice");
            id
        }
    }

    #[test]
    fn derived_ids_are_safe_and_unique() {
        let mut derive = deriver(&["ada", "grace.hopper-2"]);
        let mut ids = Vec::new();
        let mut derive = |email, name| {
            let id = derive(email, name);
            ids.push(id.clone());
            id
        };
        assert_eq!(derive(Some("ada@example.org"), None), "ada-2");
        assert_eq!(derive(Some("ada@example.net"), None), "ada-3");
        assert_eq!(derive(Some("Grace.Hopper@x.org"), None), "grace.hopper");
        // A suffix a given id has is passed over.
        assert_eq!(derive(Some("grace.hopper@y.org"), None), "grace.hopper-3");
        assert_eq!(derive(Some("alan+mentoring@x.org"), None), "alan-mentoring");
        assert_eq!(derive(None, Some("José Müller")), "jose-mueller");
        assert_eq!(
            derive(Some("@x.org"), Some(" Łukasz  Øster ")),
            "lukasz-oester"
        );
        assert_eq!(derive(None, Some("李四")), "person");
        assert_eq!(derive(None, Some("王五")), "person-2");
        assert_eq!(derive(Some(".hidden..@x.org"), None), "hidden");
        for id in ids {
            assert!(check_id(&id).is_ok(), "{id}");
        }
    }

    /// Many addresses on one base: each id is found at once, not after trying all the
    /// ones before it (50,000 took seconds, quadratic).
    #[test]
    fn many_ids_on_one_base_are_linear() {
        let mut derive = deriver(&[]);
        for n in 1..=50_000 {
            let id = derive(Some("info@example.org"), None);
            assert_eq!(
                id,
                if n == 1 {
                    "info".into()
                } else {
                    format!("info-{n}")
                }
            );
        }
    }

    #[test]
    fn long_names_make_ids_that_fit() {
        let mut derive = deriver(&[]);
        let id = derive(None, Some(&"a".repeat(300)));
        assert_eq!(id.len(), 56);
        let second = derive(None, Some(&"a".repeat(300)));
        assert!(check_id(&second).is_ok());
    }
}
