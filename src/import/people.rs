//! The people sheet: one person per row. What only the sheet can tell is checked here:
//! empty names and addresses, ids (given, or derived from the address or the name),
//! the same id or address twice. Zones, quiet hours and the shape of an address are
//! left to the program loader (see [`super::verdict`]).

use rustc_hash::FxHashMap as HashMap;
use rustc_hash::FxHashSet as HashSet;

use super::RowError;
use super::sheet::{Columns, Sheet};
use crate::program::values::check_id;

pub const COLUMNS: Columns = Columns {
    known: &[&["id", "name", "email", "timezone", "quiet_hours"]],
    required: &["name", "email"],
    aliases: &[
        ("e_mail", "email"),
        ("email_address", "email"),
        ("time_zone", "timezone"),
    ],
};

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
    by_name: HashMap<String, Vec<usize>>,
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
        match self.by_name.get(&cell.to_lowercase()).map(Vec::as_slice) {
            Some([i]) => Lookup::Person(&self.list[*i]),
            Some(many) => Lookup::Ambiguous(many.iter().map(|&i| self.list[i].line).collect()),
            None => Lookup::Unknown,
        }
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.keys().map(String::as_str)
    }
}

/// Reads every row of the people sheet; problems go to `errors`.
pub fn read(sheet: &Sheet, errors: &mut Vec<RowError>) -> People {
    let file = sheet.name.as_str();
    // Ids written in the sheet come first: a derived id never takes one of them.
    let mut taken: HashSet<String> = sheet
        .rows
        .iter()
        .filter_map(|r| r.get("id"))
        .map(str::to_string)
        .collect();
    let mut people = People::default();
    let mut id_lines: HashMap<String, u64> = HashMap::default();
    let mut email_lines: HashMap<String, u64> = HashMap::default();
    for row in &sheet.rows {
        let line = row.line;
        let name = row.get("name").map(str::to_string);
        let email = row.get("email").map(str::to_string);
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
        let id = match row.get("id") {
            Some(id) => {
                if let Err(e) = check_id(id) {
                    errors.push(RowError::new(
                        file,
                        line,
                        Some("id"),
                        format!("`id`: {}", e.message),
                        format!("{}; or leave the cell empty to derive one", e.help),
                    ));
                }
                id.to_string()
            }
            None => derive_id(email.as_deref(), name.as_deref(), &mut taken),
        };
        let key = match id_lines.get(&id) {
            Some(first) => {
                errors.push(RowError::new(
                    file,
                    line,
                    Some("id"),
                    format!("`id` {id:?} is also the id on line {first}"),
                    "give each person their own id (or leave the cell empty to derive one from the address)",
                ));
                format!("line {line}: a second {id}")
            }
            None => {
                id_lines.insert(id.clone(), line);
                id
            }
        };
        if let Some(email) = &email {
            let lower = email.to_lowercase();
            match email_lines.get(&lower) {
                Some(first) => errors.push(RowError::new(
                    file,
                    line,
                    Some("email"),
                    format!("`email` {email:?} is also the address on line {first}"),
                    "give each person their own address; a person is one row",
                )),
                None => {
                    email_lines.insert(lower.clone(), line);
                    people.by_email.insert(lower, people.list.len());
                }
            }
        }
        if let Some(name) = &name {
            people
                .by_name
                .entry(name.to_lowercase())
                .or_default()
                .push(people.list.len());
        }
        people.by_id.insert(key.clone(), people.list.len());
        people.list.push(Person {
            line,
            key,
            name,
            email,
            timezone: row.get("timezone").map(str::to_string),
            quiet_hours: row.get("quiet_hours").map(str::to_string),
        });
    }
    people
}

/// An id for a row without one: the address's part before `@`, else the name, made
/// safe (lowercase ASCII letters, digits, `-_.`) and unique among `taken`.
fn derive_id(email: Option<&str>, name: Option<&str>, taken: &mut HashSet<String>) -> String {
    let base = email
        .and_then(|e| e.split('@').next())
        .map(safe_id)
        .filter(|s| !s.is_empty())
        .or_else(|| name.map(safe_id).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "person".to_string());
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(id.clone());
    id
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

    #[test]
    fn derived_ids_are_safe_and_unique() {
        let mut taken: HashSet<String> = ["ada".to_string()].into_iter().collect();
        let mut derive = |email, name| derive_id(email, name, &mut taken);
        assert_eq!(derive(Some("ada@example.org"), None), "ada-2");
        assert_eq!(derive(Some("ada@example.net"), None), "ada-3");
        assert_eq!(derive(Some("Grace.Hopper@x.org"), None), "grace.hopper");
        assert_eq!(derive(Some("alan+mentoring@x.org"), None), "alan-mentoring");
        assert_eq!(derive(None, Some("José Müller")), "jose-mueller");
        assert_eq!(
            derive(Some("@x.org"), Some(" Łukasz  Øster ")),
            "lukasz-oester"
        );
        assert_eq!(derive(None, Some("李四")), "person");
        assert_eq!(derive(None, Some("王五")), "person-2");
        assert_eq!(derive(Some(".hidden..@x.org"), None), "hidden");
        for id in taken {
            assert!(check_id(&id).is_ok(), "{id}");
        }
    }

    #[test]
    fn long_names_make_ids_that_fit() {
        let mut taken = HashSet::default();
        let id = derive_id(None, Some(&"a".repeat(300)), &mut taken);
        assert_eq!(id.len(), 56);
        let second = derive_id(None, Some(&"a".repeat(300)), &mut taken);
        assert!(check_id(&second).is_ok());
    }
}
