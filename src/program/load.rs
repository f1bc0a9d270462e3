//! Reading `mentord.toml` into a [`Program`]: TOML syntax first, then every section,
//! key and cross-reference, collecting all problems before giving up.

use rustc_hash::FxHashMap as HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::de::DeTable;

use super::file::read_program_file;
use super::model::{
    DEFAULT_CONNECTIONS, HttpConfig, InboundConfig, MailConfig, Person, PersonIndex, Program,
    StoreConfig,
};
use super::pairs::{Context, RawPair, read_pair, resolve_pairs, resolve_person};
use super::people::{PersonEntry, read_person};
use super::reader::{self, Table, Value, line_of};
use super::sections::{self, ProgramHead};
use super::segments::{extendable, segments};
use super::settings::{Located, SHARED_KEYS, Settings, builtin, read_digest};
use super::values::{check_id, closest};
use super::zones::Zones;
use crate::cron::Cron;
use crate::diagnostic::{Diagnostic, Diagnostics, SourceFile, Span};

/// Why a program file could not be used.
#[derive(Debug)]
pub enum LoadError {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    Invalid {
        file: SourceFile,
        diagnostics: Vec<Diagnostic>,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Read { path, source } => write!(
                f,
                "cannot read the program file {}: {source}\n  = help: pass the file with -c/--config PATH or set MENTORD_CONFIG",
                path.display()
            ),
            LoadError::Invalid { file, diagnostics } => {
                for diagnostic in diagnostics {
                    writeln!(f, "{}", file.render(diagnostic))?;
                }
                let n = diagnostics.len();
                write!(
                    f,
                    "{}: {n} error{} found; the file is not valid, and mentord sends nothing from it",
                    file.name,
                    if n == 1 { "" } else { "s" }
                )
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads and validates the program file at `path`. Relative paths inside the file
/// (templates, mail folder) are taken from the file's own folder.
pub fn load(path: &Path) -> Result<Program, LoadError> {
    let bytes = read_program_file(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path.display().to_string();
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let file = SourceFile::new(name, text);
            let mut diags = Diagnostics::default();
            diags
                .error(offset..offset + 1, "the file is not valid UTF-8")
                .help("save the file as UTF-8");
            return Err(LoadError::Invalid {
                file,
                diagnostics: diags.into_sorted(),
            });
        }
    };
    let base = path.parent().unwrap_or(Path::new("."));
    match parse(&text, base) {
        Ok(mut program) => {
            let file = SourceFile::new(name, text);
            program.warning_lines = program
                .warnings
                .iter()
                .map(|w| file.render_as("warning", w))
                .collect();
            Ok(program)
        }
        Err(diagnostics) => Err(LoadError::Invalid {
            file: SourceFile::new(name, text),
            diagnostics,
        }),
    }
}

/// Segments of about this size are parsed at a time (see [`super::segments`]).
const SEGMENT_BYTES: usize = 256 * 1024;

/// Validates program text; `base` is the folder relative paths are taken from.
pub fn parse(text: &str, base: &Path) -> Result<Program, Vec<Diagnostic>> {
    parse_segmented(text, base, SEGMENT_BYTES)
}

/// [`parse`] with segments of about `segment_bytes`: the fast path, which must give
/// exactly what [`parse_whole`] gives (`segments_agree` tests that it does).
pub(super) fn parse_segmented(
    text: &str,
    base: &Path,
    segment_bytes: usize,
) -> Result<Program, Vec<Diagnostic>> {
    match parse_in_segments(text, base, segment_bytes) {
        // A section continued in a later segment (say `[program.organizer]` after the
        // people) is one TOML table: only a single-piece parse can read it as such.
        Err(None) => parse_whole(text, base),
        result => result.map_err(Option::unwrap_or_default),
    }
}

/// The plain reference: the whole text parsed as one TOML document.
pub(super) fn parse_whole(text: &str, base: &Path) -> Result<Program, Vec<Diagnostic>> {
    parse_in_segments(text, base, usize::MAX).map_err(Option::unwrap_or_default)
}

/// Parses in segments of about `segment_bytes`; `Err(None)` when the file must be read
/// in one piece: a table was split across two segments, or a segment has a syntax error.
pub(super) fn parse_in_segments(
    text: &str,
    base: &Path,
    segment_bytes: usize,
) -> Result<Program, Option<Vec<Diagnostic>>> {
    let mut diags = Diagnostics::default();
    let mut loader = Loader::new(base, text);
    loader.segmented = segment_bytes < text.len();
    let mut syntax_errors = false;
    // TOML parsing runs a segment ahead on a second thread, which also frees each parsed
    // segment once read (freeing where it was allocated is much cheaper); reading stays
    // in file order on this thread.
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(2);
        let (done_sender, done) = std::sync::mpsc::channel();
        scope.spawn(move || {
            for segment in segments(text, segment_bytes) {
                let parsed = DeTable::parse_recoverable(&text[segment.clone()]);
                if sender.send((segment, parsed)).is_err() {
                    break;
                }
                done.try_iter().for_each(drop);
            }
            drop(sender);
            done.into_iter().for_each(drop);
        });
        for (segment, (document, errors)) in receiver {
            if !errors.is_empty() && loader.segmented {
                // The parser's recovery from an error can run past the next header,
                // and tables around it may clash with other segments': only the whole
                // text in one piece gets the errors of the whole text.
                loader.split_table = true;
                break;
            }
            diags.set_base(segment.start);
            read_parsed(
                &mut loader,
                &document,
                &errors,
                &mut syntax_errors,
                &mut diags,
            );
            let _ = done_sender.send(document);
        }
    });
    diags.set_base(0);
    if loader.split_table {
        return Err(None);
    }
    if syntax_errors {
        return Err(Some(diags.into_sorted()));
    }
    match loader.finish(&|span| line_of(text, span), &mut diags) {
        Some(mut program) if diags.is_empty() => {
            program.warnings = diags.take_warnings();
            Ok(program)
        }
        _ => Err(Some(diags.into_sorted())),
    }
}

/// Reports a segment's syntax errors, or reads it when the file has none so far.
fn read_parsed(
    loader: &mut Loader<'_>,
    document: &toml::Spanned<DeTable<'_>>,
    errors: &[toml::de::Error],
    syntax_errors: &mut bool,
    diags: &mut Diagnostics,
) {
    {
        for error in errors {
            let span = error.span().unwrap_or(0..0);
            let message = error.message().lines().next().unwrap_or("invalid TOML");
            diags
                .error(span, format!("TOML syntax: {message}"))
                .help("see https://toml.io for the syntax; strings need double quotes");
        }
        *syntax_errors |= !errors.is_empty();
        if !*syntax_errors {
            loader.read_segment(document.get_ref(), diags);
        }
    }
}

const SECTIONS: &[&str] = &[
    "program", "defaults", "people", "pairs", "store", "mail", "inbound", "http",
];

/// What has been read so far, segment by segment. Every span kept here is absolute.
struct Loader<'b> {
    base: &'b Path,
    text: &'b str,
    /// Whether the file is read in more than one segment.
    segmented: bool,
    /// A table appeared in two segments: the file must be read in one piece.
    split_table: bool,
    digest_span: Option<Span>,
    zones: Zones,
    sections_seen: HashMap<String, Span>,
    /// Whether every segment so far wrote `people` (or `pairs`) so that a later segment
    /// can add to it (see [`extendable`]).
    extendable: HashMap<String, bool>,
    head: Option<ProgramHead>,
    defaults: Settings,
    digest: Option<Option<Cron>>,
    people: Vec<PersonEntry>,
    index: HashMap<String, PersonIndex>,
    emails: HashMap<String, Span>,
    pairs: Vec<RawPair>,
    store: Option<StoreConfig>,
    mail: Option<MailConfig>,
    reply_to: Option<String>,
    inbound: Option<InboundConfig>,
    authserv_id: Option<String>,
    http: Option<HttpConfig>,
}

impl<'b> Loader<'b> {
    fn new(base: &'b Path, text: &'b str) -> Self {
        Loader {
            base,
            text,
            segmented: false,
            split_table: false,
            digest_span: None,
            zones: Zones::default(),
            sections_seen: HashMap::default(),
            extendable: HashMap::default(),
            head: None,
            defaults: Settings::default(),
            digest: None,
            people: Vec::new(),
            index: HashMap::default(),
            emails: HashMap::default(),
            pairs: Vec::new(),
            store: None,
            mail: None,
            reply_to: None,
            inbound: None,
            authserv_id: None,
            http: None,
        }
    }

    fn read_segment(&mut self, document: &DeTable<'_>, diags: &mut Diagnostics) {
        for (key, value) in document.iter() {
            let name = key.get_ref().as_ref();
            let key_span = key.span();
            if !matches!(name, "people" | "pairs") {
                let absolute = diags.absolute(key_span.clone());
                if self.sections_seen.contains_key(name) {
                    if self.segmented {
                        self.split_table = true;
                        continue;
                    }
                    diags
                        .error(key_span, format!("[{name}] appears twice"))
                        .help("merge the two into one section");
                    continue;
                }
                self.sections_seen.insert(name.to_string(), absolute);
            } else {
                let extendable = extendable(name, &key_span, value);
                if let Some(earlier) = self.extendable.insert(name.to_string(), extendable)
                    && !(earlier && extendable)
                {
                    self.split_table = true;
                    continue;
                }
            }
            match name {
                "program" => {
                    self.head = sections::program_head(value, self.base, &mut self.zones, diags);
                }
                "defaults" => self.read_defaults(value, diags),
                "people" => self.read_people(value, diags),
                "pairs" => self.read_pairs(value, diags),
                "store" => self.store = sections::store(value, self.base, diags),
                "mail" => {
                    self.mail = sections::mail(value, self.base, diags, &mut self.reply_to);
                }
                "inbound" => {
                    let inbound = sections::inbound(value, self.base, diags);
                    self.inbound = inbound.imap;
                    self.authserv_id = inbound.authserv_id;
                }
                "http" => self.http = sections::http(value, self.base, diags),
                _ => {
                    let what = if value.get_ref().is_table() {
                        format!("unknown section [{name}]")
                    } else {
                        format!("unknown key `{name}` outside any section")
                    };
                    let help = match closest(name, SECTIONS.iter().copied()) {
                        Some(s) => format!("did you mean [{s}]?"),
                        None => format!("sections are [{}]", SECTIONS.join("], [")),
                    };
                    diags.error(key_span, what).help(help);
                }
            }
        }
    }

    fn read_defaults(&mut self, value: &Value<'_>, diags: &mut Diagnostics) {
        let Some(mut t) = Table::from_value("[defaults]", value, diags) else {
            return;
        };
        self.defaults = Settings::read(&mut t, &mut self.zones, diags);
        if let Some(v) = t.get("digest") {
            self.digest = Some(read_digest(v, diags).flatten());
            self.digest_span = Some(diags.absolute(v.span()));
        }
        t.finish(&[SHARED_KEYS, &["digest"]], diags);
    }

    fn read_people(&mut self, value: &Value<'_>, diags: &mut Diagnostics) {
        let Some(table) = Table::from_value("[people]", value, diags) else {
            return;
        };
        for (id, id_span, value) in table.entries() {
            if self.index.contains_key(id) {
                if self.segmented {
                    self.split_table = true;
                    continue;
                }
                diags
                    .error(id_span, format!("person {id:?} is defined twice"))
                    .help("keep one [people.ID] section per person");
                continue;
            }
            let id_ok = match check_id(id) {
                Ok(()) => true,
                Err(e) => {
                    reader::report(diags, id_span.clone(), "person id", e);
                    false
                }
            };
            let entry = read_person(
                id,
                value,
                &mut self.zones,
                &mut self.emails,
                self.text,
                diags,
            );
            let valid = id_ok && entry.valid;
            self.index.insert(id.to_string(), self.people.len());
            self.people.push(PersonEntry { valid, ..entry });
        }
    }

    fn read_pairs(&mut self, value: &Value<'_>, diags: &mut Diagnostics) {
        let Some(items) = value.get_ref().as_array() else {
            diags
                .error(value.span(), "`pairs` must be an array of tables")
                .help("write each pair as a [[pairs]] section");
            return;
        };
        for item in items.iter() {
            let number = self.pairs.len() + 1;
            if let Some(pair) = read_pair(number, item, &mut self.zones, diags) {
                self.pairs.push(pair);
            }
        }
    }

    /// Resolves references once everything is read. Spans are absolute from here on.
    fn finish(
        mut self,
        line_of: &dyn Fn(&Span) -> usize,
        diags: &mut Diagnostics,
    ) -> Option<Program> {
        if !self.sections_seen.contains_key("program") {
            diags
                .error(0..0, "the file has no [program] section")
                .help("start the file with [program] and its name, timezone, start, coordinator and organizer");
        }
        if let Some(head) = &self.head {
            for entry in &mut self.people {
                if entry.person.zone.name.is_empty() {
                    entry.person.zone = head.zone.clone();
                }
            }
        }
        let pairs = std::mem::take(&mut self.pairs);
        let cx = Context {
            head: self.head.as_ref(),
            defaults: &self.defaults,
            people: &self.people,
            index: &self.index,
            line_of,
        };
        let coordinator = self
            .head
            .as_ref()
            .and_then(|h| h.coordinator.as_ref())
            .and_then(|(id, span)| {
                let id = Located {
                    value: id.clone(),
                    span: span.clone(),
                };
                resolve_person(&id, "coordinator", &cx, diags)
            });
        let pairs = resolve_pairs(pairs, &cx, diags);
        let head = self.head?;
        let coordinator = coordinator?;
        let default_quiet = self
            .defaults
            .quiet_hours
            .unwrap_or(Some(builtin::QUIET_HOURS));
        let people: Vec<Person> = self.people.into_iter().map(|e| e.person).collect();
        let digest = match self.digest {
            Some(digest) => digest,
            None => Cron::parse(builtin::DIGEST).ok(),
        };
        if let (Some(cron), Some(span)) = (&digest, &self.digest_span) {
            let zone = &people[coordinator].zone.tz;
            let start = zone
                .to_ambiguous_timestamp(head.start.to_datetime(jiff::civil::Time::midnight()))
                .compatible()
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            if cron.next_after(start, zone).is_none() {
                diags
                    .error(span.clone(), "`digest`: this schedule never fires")
                    .help("check the day of month against the month (30 February does not exist), or write \"off\"");
                return None;
            }
        }
        Some(Program {
            coordinator_quiet_hours: people[coordinator].quiet_hours.unwrap_or(default_quiet),
            name: head.name,
            zone: head.zone,
            start: head.start,
            end: head.end,
            coordinator,
            organizer: head.organizer,
            skip: head.skip,
            templates: head.templates,
            language: head
                .language
                .unwrap_or_else(crate::vocab::Language::english),
            digest,
            people,
            pairs,
            store: self.store.unwrap_or_else(|| StoreConfig {
                location: sections::default_store(self.base),
                keep_sent: Some(sections::DEFAULT_KEEP_SENT),
            }),
            mail: self.mail.unwrap_or(MailConfig::File {
                dir: self.base.join("outbox"),
                connections: DEFAULT_CONNECTIONS,
            }),
            reply_to: self.reply_to,
            inbound: self.inbound,
            authserv_id: self.authserv_id,
            http: self.http,
            warnings: Vec::new(),
            warning_lines: Vec::new(),
            ids: std::sync::OnceLock::new(),
        })
    }
}
