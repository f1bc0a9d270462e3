//! Reading `mentord.toml` into a [`Program`]: TOML syntax first, then every section,
//! key and cross-reference, collecting all problems before giving up.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::civil::Date;
use toml::de::{DeTable, DeValue};

use super::reader::{self, Table, Value};
use super::settings::{SHARED_KEYS, Settings, builtin, read_digest};
use super::values::{self, QuietHours, check_email, check_id, check_text, closest};
use super::{
    HttpConfig, Mailbox, MailConfig, Meeting, Pair, Person, PersonIndex, Program, Status,
    StoreConfig, Timing, Zone,
};
use crate::cron::Cron;
use crate::diagnostic::{Diagnostic, Diagnostics, SourceFile, Span};
use crate::recurrence::{Rule, Until};

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
                    "{}: {n} error{} found; nothing was sent",
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
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
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
    let file = SourceFile::new(name, text);
    let base = path.parent().unwrap_or(Path::new("."));
    match parse(&file.text, base) {
        Ok(program) => Ok(program),
        Err(diagnostics) => Err(LoadError::Invalid { file, diagnostics }),
    }
}

/// Validates program text; `base` is the folder relative paths are taken from.
pub fn parse(text: &str, base: &Path) -> Result<Program, Vec<Diagnostic>> {
    let mut diags = Diagnostics::default();
    let (document, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for error in errors {
            let span = error.span().unwrap_or(0..0);
            let message = error.message().lines().next().unwrap_or("invalid TOML").to_string();
            diags
                .error(span, format!("TOML syntax: {message}"))
                .help("see https://toml.io for the syntax; strings need double quotes");
        }
        return Err(diags.into_sorted());
    }
    let program = Loader::new(base, text).load(document.get_ref(), document.span(), &mut diags);
    match program {
        Some(program) if diags.is_empty() => Ok(program),
        _ => Err(diags.into_sorted()),
    }
}

/// Time zones loaded once per name: 50,000 people rarely use more than a few dozen.
#[derive(Debug, Default)]
pub struct Zones {
    cache: HashMap<String, Option<Zone>>,
}

impl Zones {
    pub fn read(&mut self, value: &Value<'_>, key: &str, diags: &mut Diagnostics) -> Option<Zone> {
        let name = reader::string(value, key, "\"Europe/Berlin\"", diags)?;
        let zone = self
            .cache
            .entry(name.to_string())
            .or_insert_with(|| {
                let tz = jiff::tz::TimeZone::get(name).ok()?;
                let canonical = tz.iana_name().unwrap_or(name).to_string();
                Some(Zone {
                    name: canonical,
                    tz,
                })
            })
            .clone();
        if zone.is_none() {
            let names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
            let suggestion = closest(name, names.iter().map(String::as_str));
            let help = match suggestion {
                Some(s) => format!("did you mean \"{s}\"? Zones are IANA names like \"Europe/Berlin\""),
                None => "use an IANA zone name like \"Europe/Berlin\" or \"America/New_York\"".into(),
            };
            diags
                .error(value.span(), format!("`{key}`: unknown time zone \"{name}\""))
                .help(help);
        }
        zone
    }
}

struct Loader<'b> {
    base: &'b Path,
    text: &'b str,
    zones: Zones,
}

/// What `[program]` says, before people are known.
struct ProgramHead {
    name: String,
    zone: Zone,
    start: Date,
    end: Option<Date>,
    coordinator: Option<(String, Span)>,
    organizer: Mailbox,
    skip: Vec<Date>,
    templates: Option<PathBuf>,
}

const TOP_KEYS: &[&str] = &["program", "defaults", "people", "pairs", "store", "mail", "http"];
const PROGRAM_KEYS: &[&str] = &[
    "name",
    "timezone",
    "start",
    "end",
    "coordinator",
    "organizer",
    "skip",
    "templates",
];
const PERSON_KEYS: &[&str] = &["name", "email", "timezone", "quiet_hours"];
const PAIR_KEYS: &[&str] = &["id", "mentor", "mentee", "start", "end", "goals", "status", "kind"];

impl<'b> Loader<'b> {
    fn new(base: &'b Path, text: &'b str) -> Self {
        Loader {
            base,
            text,
            zones: Zones::default(),
        }
    }

    /// 1-based line of a span, for messages that point back at an earlier place.
    fn line_of(&self, span: &Span) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    fn load(&mut self, document: &DeTable<'_>, span: Span, diags: &mut Diagnostics) -> Option<Program> {
        let mut root = Table::from_table("the file", span.start..span.start, document);
        let head = match root.get("program") {
            Some(v) => self.program_head(v, diags),
            None => {
                diags
                    .error(0..0, "the file has no [program] section")
                    .help("start the file with [program] and its name, timezone, start, coordinator and organizer");
                None
            }
        };
        let (defaults, digest) = match root.get("defaults") {
            Some(v) => self.defaults(v, diags),
            None => (Settings::default(), Cron::parse(builtin::DIGEST).ok()),
        };
        let people = root
            .get("people")
            .map(|v| self.people(v, diags))
            .unwrap_or_default();
        let pair_values = root.get("pairs");
        let store = root.get("store").and_then(|v| self.store(v, diags));
        let mail = root.get("mail").and_then(|v| self.mail(v, diags));
        let http = root.get("http").and_then(|v| self.http(v, diags));
        root.finish(TOP_KEYS, diags);

        let head = head?;
        let index: HashMap<&str, PersonIndex> = people
            .iter()
            .enumerate()
            .map(|(i, (p, _))| (p.id.as_str(), i))
            .collect();
        let coordinator = head
            .coordinator
            .as_ref()
            .and_then(|(id, span)| resolve_person(id, span.clone(), "coordinator", &index, diags));
        let pairs = match pair_values {
            Some(v) => self.pairs(v, &head, &defaults, &people, &index, diags),
            None => Vec::new(),
        };
        let default_quiet = defaults.quiet_hours.unwrap_or(Some(builtin::QUIET_HOURS));
        let people: Vec<Person> = people
            .into_iter()
            .map(|(mut p, _)| {
                if p.zone.name.is_empty() {
                    p.zone = head.zone.clone();
                }
                p
            })
            .collect();
        let coordinator = coordinator?;
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
            digest,
            people,
            pairs,
            store: store.unwrap_or(StoreConfig {
                url: "sqlite://mentord.db".into(),
            }),
            mail: mail.unwrap_or(MailConfig::File {
                dir: self.base.join("outbox"),
            }),
            http,
        })
    }

    fn program_head(&mut self, value: &Value<'_>, diags: &mut Diagnostics) -> Option<ProgramHead> {
        let mut t = Table::from_value("[program]", value, diags)?;
        let name = t
            .require("name", diags, "\"Mentoring 2027\"")
            .and_then(|v| text(v, "name", diags));
        let zone = t
            .require("timezone", diags, "\"Europe/Berlin\"")
            .and_then(|v| self.zones.read(v, "timezone", diags));
        let start = t
            .require("start", diags, "2027-01-11")
            .and_then(|v| reader::date(v, "start", diags));
        let end = t.get("end").map(|v| (reader::date(v, "end", diags), v.span()));
        let coordinator = t
            .require("coordinator", diags, "\"ada\"")
            .and_then(|v| reader::string(v, "coordinator", "\"ada\"", diags).map(|s| (s.to_string(), v.span())));
        let organizer = t
            .require(
                "organizer",
                diags,
                "{ name = \"Mentoring Program\", email = \"mentoring@example.org\" }",
            )
            .and_then(|v| mailbox(v, "organizer", diags));
        let mut skip = t
            .get("skip")
            .and_then(|v| reader::list(v, "skip", "[2027-04-05]", false, diags, |d, diags| reader::date(d, "skip", diags)))
            .unwrap_or_default();
        skip.sort_unstable();
        skip.dedup();
        let templates = t.get("templates").and_then(|v| {
            let folder = reader::string(v, "templates", "\"templates\"", diags)?;
            let path = self.base.join(folder);
            if path.is_dir() {
                Some(path)
            } else {
                diags
                    .error(v.span(), format!("`templates`: folder \"{}\" does not exist", path.display()))
                    .help("create the folder (it holds your overrides of the built-in templates) or remove the key");
                None
            }
        });
        t.finish(PROGRAM_KEYS, diags);
        let (start, mut end) = (start?, end);
        if let Some((Some(e), span)) = &end
            && *e < start
        {
            diags
                .error(span.clone(), format!("`end` ({e}) is before `start` ({start})"))
                .help("the program must end on or after its start date");
            end = None;
        }
        Some(ProgramHead {
            name: name?,
            zone: zone?,
            start,
            end: end.and_then(|(d, _)| d),
            coordinator,
            organizer: organizer?,
            skip,
            templates,
        })
    }

    fn defaults(&mut self, value: &Value<'_>, diags: &mut Diagnostics) -> (Settings, Option<Cron>) {
        let Some(mut t) = Table::from_value("[defaults]", value, diags) else {
            return (Settings::default(), None);
        };
        let settings = Settings::read(&mut t, &mut self.zones, diags);
        let digest = match t.get("digest") {
            Some(v) => read_digest(v, diags).flatten(),
            None => Cron::parse(builtin::DIGEST).ok(),
        };
        let known: Vec<&str> = SHARED_KEYS.iter().copied().chain(["digest"]).collect();
        t.finish(&known, diags);
        (settings, digest)
    }

    /// People in file order, each with the span of their id for later messages.
    fn people(&mut self, value: &Value<'_>, diags: &mut Diagnostics) -> Vec<(Person, Span)> {
        let Some(table) = Table::from_value("[people]", value, diags) else {
            return Vec::new();
        };
        let mut people = Vec::new();
        let mut emails: HashMap<String, Span> = HashMap::new();
        for (id, id_span, value) in table.entries() {
            let name = format!("[people.{id}]");
            if let Err(e) = check_id(id) {
                reader::report(diags, id_span.clone(), "person id", e);
            }
            let Some(mut t) = Table::from_value(name, value, diags) else {
                continue;
            };
            let full_name = t
                .require("name", diags, "\"Grace Hopper\"")
                .and_then(|v| text(v, "name", diags));
            let email = t.require("email", diags, "\"grace@example.org\"").and_then(|v| {
                let email = reader::parsed(v, "email", "\"grace@example.org\"", diags, |s| {
                    check_email(s).map(|()| s.to_string())
                })?;
                let key = email.to_lowercase();
                if let Some(first) = emails.get(&key) {
                    let line = self.line_of(first);
                    diags
                        .error(v.span(), format!("`email` \"{email}\" is already used by another person"))
                        .help(format!("give each person their own address (the other is on line {line})"));
                    return None;
                }
                emails.insert(key, v.span());
                Some(email)
            });
            let zone = match t.get("timezone") {
                Some(v) => self.zones.read(v, "timezone", diags),
                None => None,
            };
            let quiet_hours = t.get("quiet_hours").and_then(|v| {
                if reader::is_off(v) {
                    Some(None)
                } else {
                    reader::parsed(v, "quiet_hours", "\"21:00-07:00\"", diags, values::parse_quiet_hours).map(Some)
                }
            });
            t.finish(PERSON_KEYS, diags);
            let (Some(full_name), Some(email)) = (full_name, email) else {
                continue;
            };
            people.push((
                Person {
                    id: id.to_string(),
                    name: full_name,
                    email,
                    // Filled with the program zone below when not given.
                    zone: zone.unwrap_or_else(|| Zone {
                        name: String::new(),
                        tz: jiff::tz::TimeZone::UTC,
                    }),
                    quiet_hours,
                },
                id_span,
            ));
        }
        people
    }

    #[allow(clippy::too_many_arguments)]
    fn pairs(
        &mut self,
        value: &Value<'_>,
        head: &ProgramHead,
        defaults: &Settings,
        people: &[(Person, Span)],
        index: &HashMap<&str, PersonIndex>,
        diags: &mut Diagnostics,
    ) -> Vec<Pair> {
        let DeValue::Array(items) = value.get_ref() else {
            diags
                .error(value.span(), "`pairs` must be an array of tables")
                .help("write each pair as a [[pairs]] section");
            return Vec::new();
        };
        let defaults_rule = if defaults.sets_cadence() {
            match defaults.cadence(None) {
                Ok(rule) => Some(rule),
                Err((span, e)) => {
                    reader::report(diags, span, "[defaults]", e);
                    None
                }
            }
        } else {
            defaults.cadence(None).ok()
        };
        let mut ids: HashMap<String, Span> = HashMap::new();
        let mut couples: HashMap<(PersonIndex, PersonIndex), Span> = HashMap::new();
        let mut reported_empty_defaults = false;
        let mut pairs = Vec::with_capacity(items.len());
        for (n, item) in items.iter().enumerate() {
            let Some(mut t) = Table::from_value(format!("pairs[{n}]"), item, diags) else {
                continue;
            };
            let mentor = t.require("mentor", diags, "\"grace\"").and_then(|v| {
                let id = reader::string(v, "mentor", "\"grace\"", diags)?;
                resolve_person(id, v.span(), "mentor", index, diags)
            });
            let mentee = t.require("mentee", diags, "\"alan\"").and_then(|v| {
                let id = reader::string(v, "mentee", "\"alan\"", diags)?;
                resolve_person(id, v.span(), "mentee", index, diags)
            });
            let explicit_id = t.get("id").and_then(|v| {
                reader::parsed(v, "id", "\"grace-alan\"", diags, |s| check_id(s).map(|()| s.to_string()))
                    .map(|id| (id, v.span()))
            });
            let start = t.get("start").map(|v| (reader::date(v, "start", diags), v.span()));
            let end = t.get("end").map(|v| (reader::date(v, "end", diags), v.span()));
            let goals = t
                .get("goals")
                .and_then(|v| reader::list(v, "goals", "[\"Lead one design review by March\"]", false, diags, |g, diags| text(g, "goals", diags)))
                .unwrap_or_default();
            let status = t.get("status").and_then(|v| {
                reader::parsed(v, "status", "\"active\"", diags, |s| match s {
                    "active" => Ok(Status::Active),
                    "paused" => Ok(Status::Paused),
                    "ended" => Ok(Status::Ended),
                    _ => Err(values::invalid(
                        format!("unknown status \"{s}\""),
                        "use \"active\", \"paused\" or \"ended\"",
                    )),
                })
            });
            let kind = t.get("kind").and_then(|v| text(v, "kind", diags));
            let own = Settings::read(&mut t, &mut self.zones, diags);
            if let Some(span) = t.key_span("digest") {
                t.get("digest");
                diags
                    .error(span, "`digest` is program-wide and cannot be set per pair")
                    .help("set `digest` in [defaults]; the coordinator gets one digest for all pairs");
            }
            let known: Vec<&str> = PAIR_KEYS.iter().chain(SHARED_KEYS).copied().collect();
            let table_span = t.span.clone();
            t.finish(&known, diags);

            let (Some(mentor), Some(mentee)) = (mentor, mentee) else {
                continue;
            };
            if mentor == mentee {
                diags
                    .error(table_span.clone(), format!("pairs[{n}] pairs \"{}\" with themselves", people[mentor].0.id))
                    .help("a mentor and a mentee must be two different people");
                continue;
            }
            let (id, id_span) = explicit_id.unwrap_or_else(|| {
                (format!("{}-{}", people[mentor].0.id, people[mentee].0.id), table_span.clone())
            });
            if let Some(first) = couples.get(&(mentor, mentee)) {
                let line = self.line_of(first);
                diags
                    .error(table_span.clone(), format!(
                        "\"{}\" already mentors \"{}\" in another pair",
                        people[mentor].0.id, people[mentee].0.id
                    ))
                    .help(format!("remove one of the two pairs (the other starts on line {line}); change the pair's settings instead of repeating it"));
                continue;
            }
            couples.insert((mentor, mentee), table_span.clone());
            if ids.contains_key(&id) {
                diags
                    .error(id_span, format!("pair id \"{id}\" is used twice"))
                    .help("give one of the pairs its own `id`");
                continue;
            }
            ids.insert(id.clone(), id_span);

            let merged = own.over(defaults);
            let rule = if own.sets_cadence() {
                match own.cadence(Some(defaults)) {
                    Ok(rule) => rule,
                    Err((span, e)) => {
                        reader::report(diags, span, "cadence", e);
                        continue;
                    }
                }
            } else {
                match &defaults_rule {
                    Some(rule) => rule.clone(),
                    None => continue,
                }
            };
            let pair_start = start.as_ref().and_then(|(d, _)| *d).unwrap_or(head.start).max(head.start);
            let pair_end = match (end.as_ref().and_then(|(d, _)| *d), head.end) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let (Some(e), Some((_, span))) = (pair_end, &end)
                && e < pair_start
            {
                diags
                    .error(span.clone(), format!("`end` ({e}) is before the pair's start ({pair_start})"))
                    .help("a pair must end on or after it starts (and after the program starts)");
                continue;
            }
            let zone = merged.timezone.clone().unwrap_or_else(|| head.zone.clone());
            let at = merged.at.unwrap_or(builtin::AT);
            let until = series_until(&rule, pair_end, &zone, at);
            let meeting = Meeting {
                rule,
                at,
                zone,
                duration: merged.duration.unwrap_or(builtin::DURATION),
                location: merged.location.clone(),
                until,
                first: None,
            };
            let status = status.unwrap_or(Status::Active);
            let mut meeting = meeting;
            meeting.first = first_meeting(&meeting, pair_start, &head.skip);
            if status == Status::Active && meeting.first.is_none() {
                let window = match pair_end {
                    Some(e) => format!("between {pair_start} and {e}"),
                    None => format!("from {pair_start} on"),
                };
                let message = format!("pair \"{id}\" never meets {window}");
                if own.sets_cadence() || end.is_some() || start.is_some() {
                    let span = own
                        .rrule
                        .as_ref()
                        .map(|r| r.span.clone())
                        .or(own.on.as_ref().map(|o| o.span.clone()))
                        .or(end.as_ref().map(|(_, s)| s.clone()))
                        .unwrap_or(table_span);
                    diags.error(span, message).help(
                        "check the cadence against the dates and skip list, or set `status = \"ended\"`",
                    );
                } else if !reported_empty_defaults {
                    reported_empty_defaults = true;
                    diags.error(table_span, message).help(
                        "the cadence in [defaults] gives no meeting in the program's dates; check it and `skip`",
                    );
                }
                continue;
            }
            let pair_quiet = merged.quiet_hours.unwrap_or(Some(builtin::QUIET_HOURS));
            let person_quiet = |p: PersonIndex| -> Option<QuietHours> { people[p].0.quiet_hours.unwrap_or(pair_quiet) };
            pairs.push(Pair {
                id,
                mentor,
                mentee,
                start: pair_start,
                end: pair_end,
                goals,
                status,
                kind,
                meeting,
                timing: Timing {
                    agenda_before: merged.agenda_before.unwrap_or(Some(builtin::AGENDA_BEFORE)),
                    reminder_before: merged.reminder_before.unwrap_or(Some(builtin::REMINDER_BEFORE)),
                    followup_after: merged.followup_after.unwrap_or(Some(builtin::FOLLOWUP_AFTER)),
                    review_every: merged.review_every.unwrap_or(Some(builtin::REVIEW_EVERY_DAYS)),
                    review_grace: merged.review_grace.unwrap_or(builtin::REVIEW_GRACE_DAYS),
                    mentor_quiet_hours: person_quiet(mentor),
                    mentee_quiet_hours: person_quiet(mentee),
                },
            });
        }
        pairs
    }

    fn store(&mut self, value: &Value<'_>, diags: &mut Diagnostics) -> Option<StoreConfig> {
        let mut t = Table::from_value("[store]", value, diags)?;
        let url = t.get("url").and_then(|v| {
            reader::parsed(v, "url", "\"sqlite://mentord.db\"", diags, |s| {
                let scheme_ok = ["sqlite:", "postgres://", "postgresql://"]
                    .iter()
                    .any(|p| s.starts_with(p));
                if scheme_ok {
                    Ok(s.to_string())
                } else {
                    Err(values::invalid(
                        format!("\"{s}\" is not a store URL"),
                        "use \"sqlite://mentord.db\" or \"postgres://user@host/db\"",
                    ))
                }
            })
        });
        t.finish(&["url"], diags);
        Some(StoreConfig {
            url: url.unwrap_or_else(|| "sqlite://mentord.db".into()),
        })
    }

    fn mail(&mut self, value: &Value<'_>, diags: &mut Diagnostics) -> Option<MailConfig> {
        let mut t = Table::from_value("[mail]", value, diags)?;
        let transport = t.get("transport").map(|v| {
            let kind = reader::parsed(v, "transport", "\"file\"", diags, |s| match s {
                "file" | "smtp" => Ok(s.to_string()),
                _ => Err(values::invalid(format!("unknown transport \"{s}\""), "use \"file\" or \"smtp\"")),
            });
            (kind, v.span())
        });
        let dir = t
            .get("dir")
            .and_then(|v| reader::string(v, "dir", "\"outbox\"", diags))
            .map(|d| self.base.join(d));
        let url = t.get("url").map(|v| (reader::string(v, "url", "\"smtp://mail.example.org:587\"", diags), v));
        let tls_off = t.get("tls").and_then(|v| {
            reader::parsed(v, "tls", "\"none\"", diags, |s| match s {
                "none" => Ok(true),
                "required" => Ok(false),
                _ => Err(values::invalid(
                    format!("unknown tls setting \"{s}\""),
                    "leave `tls` out (TLS is required), or write \"none\" for a loopback test server",
                )),
            })
            .map(|off| (off, v.span()))
        });
        let password_env = t.get("password_env").and_then(|v| {
            reader::parsed(v, "password_env", "\"MENTORD_SMTP_PASSWORD\"", diags, |s| {
                let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if ok {
                    Ok(s.to_string())
                } else {
                    Err(values::invalid(
                        format!("\"{s}\" is not an environment variable name"),
                        "name the variable that holds the password, e.g. \"MENTORD_SMTP_PASSWORD\"",
                    ))
                }
            })
        });
        let password_file = t
            .get("password_file")
            .and_then(|v| reader::string(v, "password_file", "\"/run/secrets/smtp\"", diags))
            .map(|p| self.base.join(p));
        let rate = t
            .get("rate")
            .and_then(|v| reader::parsed(v, "rate", "\"10/s\"", diags, values::parse_rate));
        let table_span = t.span.clone();
        t.finish(
            &["transport", "dir", "url", "tls", "password_env", "password_file", "rate"],
            diags,
        );
        let is_smtp = matches!(&transport, Some((Some(k), _)) if k == "smtp");
        if !is_smtp {
            return Some(MailConfig::File {
                dir: dir.unwrap_or_else(|| self.base.join("outbox")),
            });
        }
        let Some((Some(url), url_value)) = url else {
            if url.is_none() {
                diags
                    .error(table_span, "[mail] uses transport \"smtp\" but has no `url`")
                    .help("add `url = \"smtp://user@mail.example.org:587\"`");
            }
            return None;
        };
        let host = match check_smtp_url(url) {
            Ok(host) => host,
            Err(e) => {
                reader::report(diags, url_value.span(), "url", e);
                return None;
            }
        };
        let tls = match tls_off {
            Some((true, span)) => {
                let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
                if !loopback {
                    diags
                        .error(span, format!("`tls = \"none\"` is refused for \"{host}\": it is not a loopback address"))
                        .help("plaintext SMTP is only for a test server on 127.0.0.1; remove `tls` to require TLS");
                }
                false
            }
            _ => true,
        };
        Some(MailConfig::Smtp {
            url: url.to_string(),
            tls,
            password_env,
            password_file,
            rate,
        })
    }

    fn http(&mut self, value: &Value<'_>, diags: &mut Diagnostics) -> Option<HttpConfig> {
        let mut t = Table::from_value("[http]", value, diags)?;
        let listen = t.get("listen").and_then(|v| {
            reader::parsed(v, "listen", "\"127.0.0.1:8025\"", diags, |s| {
                s.parse().map_err(|_| {
                    values::invalid(
                        format!("\"{s}\" is not an address and port"),
                        "write e.g. \"127.0.0.1:8025\"",
                    )
                })
            })
        });
        t.finish(&["listen"], diags);
        Some(HttpConfig { listen })
    }
}

fn text(value: &Value<'_>, key: &str, diags: &mut Diagnostics) -> Option<String> {
    reader::parsed(value, key, "\"...\"", diags, |s| {
        check_text(s)?;
        if s.trim().is_empty() {
            return Err(values::invalid("is empty", "write some text, or remove the key"));
        }
        Ok(s.to_string())
    })
}

fn mailbox(value: &Value<'_>, key: &str, diags: &mut Diagnostics) -> Option<Mailbox> {
    let mut t = Table::from_value(format!("`{key}`"), value, diags)?;
    let name = t
        .require("name", diags, "\"Mentoring Program\"")
        .and_then(|v| text(v, "name", diags));
    let email = t.require("email", diags, "\"mentoring@example.org\"").and_then(|v| {
        reader::parsed(v, "email", "\"mentoring@example.org\"", diags, |s| check_email(s).map(|()| s.to_string()))
    });
    t.finish(&["name", "email"], diags);
    Some(Mailbox { name: name?, email: email? })
}

fn resolve_person(
    id: &str,
    span: Span,
    role: &str,
    index: &HashMap<&str, PersonIndex>,
    diags: &mut Diagnostics,
) -> Option<PersonIndex> {
    if let Some(&i) = index.get(id) {
        return Some(i);
    }
    let help = match closest(id, index.keys().copied()) {
        Some(s) => format!("did you mean \"{s}\"? Otherwise add a [people.{id}] section"),
        None => format!("add a [people.{id}] section with name and email, or use a defined person's id"),
    };
    diags
        .error(span, format!("`{role}`: unknown person \"{id}\""))
        .help(help);
    None
}

/// Returns the host of an SMTP URL, refusing a password written into it.
fn check_smtp_url(url: &str) -> Result<String, values::ValueError> {
    let help = "write \"smtp://user@host:587\" (STARTTLS) or \"smtps://user@host:465\"; the password goes in an environment variable";
    let rest = url
        .strip_prefix("smtp://")
        .or_else(|| url.strip_prefix("smtps://"))
        .ok_or_else(|| values::invalid(format!("\"{url}\" is not an smtp:// or smtps:// URL"), help))?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = match authority.rsplit_once('@') {
        Some((user, host)) => {
            if user.contains(':') {
                return Err(values::invalid(
                    "the URL contains a password",
                    "remove it from the URL and set `password_env = \"MENTORD_SMTP_PASSWORD\"`",
                ));
            }
            host
        }
        None => authority,
    };
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(values::invalid(format!("\"{url}\" has no host"), help));
    }
    Ok(host.to_string())
}

/// The last instant a meeting may start: the end of the last allowed date in the
/// meeting's zone, or the rule's own UNTIL, whichever is earlier.
fn series_until(rule: &Rule, end: Option<Date>, zone: &Zone, _at: jiff::civil::Time) -> Option<Timestamp> {
    let end_of = |date: Date| -> Option<Timestamp> {
        let next = date.tomorrow().ok()?.to_datetime(jiff::civil::Time::midnight());
        let instant = zone.tz.to_ambiguous_timestamp(next).compatible().ok()?;
        instant.checked_sub(jiff::SignedDuration::from_secs(1)).ok()
    };
    let from_rule = match rule.until {
        Some(Until::Date(d)) => end_of(d),
        Some(Until::Instant(t)) => Some(t),
        None => None,
    };
    let from_end = end.and_then(end_of);
    match (from_rule, from_end) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The first meeting date of a series, if it has any.
pub fn first_meeting(meeting: &Meeting, start: Date, skip: &[Date]) -> Option<Date> {
    meeting
        .rule
        .dates(start, start)
        .map(|date| (date, crate::schedule::meeting_instant(meeting, date)))
        .take_while(|(_, instant)| meeting.until.is_none_or(|u| *instant <= u))
        .find(|(date, _)| skip.binary_search(date).is_err())
        .map(|(date, _)| date)
}
