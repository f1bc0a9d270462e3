//! `[program]`: the program's name, zone, dates, coordinator, organizer, skip dates and
//! templates folder, read before anyone in `[people]` is known.

use std::path::{Path, PathBuf};

use jiff::civil::Date;

use crate::diagnostic::{Diagnostics, Span};
use crate::program::model::{Mailbox, Zone};
use crate::program::reader::{self, Table, TableName, Value, email, name_text};
use crate::program::zones::Zones;
use crate::vocab::Language;

/// What `[program]` says, before people are known. Spans are absolute.
#[derive(Debug)]
pub(crate) struct ProgramHead {
    pub(crate) name: String,
    pub(crate) zone: Zone,
    pub(crate) start: Date,
    pub(crate) end: Option<Date>,
    pub(crate) coordinator: Option<(String, Span)>,
    pub(crate) organizer: Mailbox,
    pub(crate) skip: Vec<Date>,
    pub(crate) templates: Option<PathBuf>,
    pub(crate) language: Option<Language>,
}

const PROGRAM_KEYS: &[&str] = &[
    "name",
    "timezone",
    "start",
    "end",
    "coordinator",
    "organizer",
    "skip",
    "templates",
    "language",
];

pub(crate) fn program_head(
    value: &Value<'_>,
    base: &Path,
    zones: &mut Zones,
    diags: &mut Diagnostics,
) -> Option<ProgramHead> {
    let mut t = Table::from_value("[program]", value, diags)?;
    let name = t
        .require("name", diags, "\"Mentoring 2027\"")
        .and_then(|v| name_text(v, "name", diags));
    let zone = t
        .require("timezone", diags, "\"Europe/Berlin\"")
        .and_then(|v| zones.read(v, "timezone", diags));
    let start = t
        .require("start", diags, "2027-01-11")
        .and_then(|v| reader::date(v, "start", "2027-01-11", diags));
    let end = t
        .get("end")
        .map(|v| (reader::date(v, "end", "2027-06-30", diags), v.span()));
    let coordinator = t.require("coordinator", diags, "\"ada\"").and_then(|v| {
        reader::string(v, "coordinator", "\"ada\"", diags)
            .map(|s| (s.to_string(), diags.absolute(v.span())))
    });
    let organizer = t
        .require(
            "organizer",
            diags,
            "{ name = \"Mentoring Program\", email = \"mentoring@example.org\" }",
        )
        .and_then(|v| mailbox(v, "organizer", diags));
    let mut skip = t
        .get("skip")
        .and_then(|v| {
            reader::list(v, "skip", "[2027-04-05]", false, diags, |d, diags| {
                reader::date(d, "skip", "[2027-04-05, 2027-05-24]", diags)
            })
        })
        .unwrap_or_default();
    skip.sort_unstable();
    skip.dedup();
    let templates = t.get("templates").and_then(|v| {
        let folder = reader::string(v, "templates", "\"templates\"", diags)?;
        let relative = Path::new(folder);
        // A relative folder stays inside the program's own folder: `../..` would mail
        // whatever files sit there under a template's name. An absolute one is taken as
        // the coordinator's deliberate choice.
        let escapes = !relative.is_absolute()
            && relative
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir));
        let path = base.join(folder);
        if escapes {
            diags
                .error(
                    v.span(),
                    format!("`templates`: {folder:?} leaves the program file's folder"),
                )
                .help("keep the templates in a folder beside the program file, e.g. \"templates\", or give an absolute path");
            None
        } else if path.is_dir() {
            Some(path)
        } else {
            diags
                .error(
                    v.span(),
                    format!("`templates`: there is no folder {folder:?} next to the program file"),
                )
                .help("create the folder (it holds your overrides of the built-in templates) or remove the key");
            None
        }
    });
    let language = t.get("language").map(|v| reader::language(v, diags));
    t.finish(&[PROGRAM_KEYS], diags);
    let mut end = end;
    if let (Some((Some(e), span)), Some(s)) = (&end, start)
        && *e < s
    {
        diags
            .error(span.clone(), format!("`end` ({e}) is before `start` ({s})"))
            .help("the program must end on or after its start date");
        end = None;
    }
    Some(ProgramHead {
        name: name?,
        zone: zone?,
        start: start?,
        end: end.and_then(|(d, _)| d),
        coordinator,
        organizer: organizer?,
        skip,
        templates,
        language: match language {
            Some(language) => Some(language?),
            None => None,
        },
    })
}

fn mailbox(value: &Value<'_>, key: &'static str, diags: &mut Diagnostics) -> Option<Mailbox> {
    let mut t = Table::from_value(TableName::Key(key), value, diags)?;
    let name = t
        .require("name", diags, "\"Mentoring Program\"")
        .and_then(|v| name_text(v, "name", diags));
    let email = t
        .require("email", diags, "\"mentoring@example.org\"")
        .and_then(|v| email(v, "\"mentoring@example.org\"", diags));
    t.finish(&[&["name", "email"]], diags);
    Some(Mailbox {
        name: name?,
        email: email?,
    })
}
