//! Time zones as the program names them: loaded once per name, legacy names warned
//! about, names that depend on the host refused, and a misspelt one answered with the
//! zone it most likely means. Every section reader that takes a `timezone` reads it here.

use rustc_hash::FxHashMap as HashMap;

use super::model::Zone;
use super::reader::{self, Value};
use super::values::closest;
use crate::diagnostic::Diagnostics;

/// Time zones loaded once per name: 50,000 people rarely use more than a few dozen.
#[derive(Debug, Default)]
pub(crate) struct Zones {
    cache: HashMap<String, Option<Zone>>,
}

impl Zones {
    pub(crate) fn read(
        &mut self,
        value: &Value<'_>,
        key: &str,
        diags: &mut Diagnostics,
    ) -> Option<Zone> {
        let name = reader::string(value, key, "\"Europe/Berlin\"", diags)?;
        if let Some(what) = host_dependent_zone(name) {
            diags
                .error(value.span(), format!("`{key}`: {name:?} {what}"))
                .help("name the zone itself, like \"Europe/Berlin\": invites carry the zone's name, and calendars elsewhere must know it");
            return None;
        }
        let zone = match self.cache.get(name) {
            Some(zone) => zone.clone(),
            None => {
                let zone = jiff::tz::TimeZone::get(name).ok().map(|tz| Zone {
                    name: tz.iana_name().unwrap_or(name).into(),
                    tz,
                });
                self.cache.insert(name.to_string(), zone.clone());
                zone
            }
        };
        if let Some(zone) = &zone
            && let Some(modern) = legacy_zone(name, zone)
        {
            diags
                .warning(
                    value.span(),
                    format!("`{key}`: {name:?} is a legacy zone name"),
                )
                .help(modern);
        }
        if zone.is_none() {
            let names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
            // A bare city ("Berlin") names the zone's last part.
            let city = name.replace(' ', "_");
            let by_city = names.iter().find(|n| {
                n.rsplit('/')
                    .next()
                    .is_some_and(|last| last.eq_ignore_ascii_case(&city))
                    && n.contains('/')
            });
            let help = match by_city
                .map(String::as_str)
                .or_else(|| closest(name, names.iter().map(String::as_str)))
            {
                Some(s) => {
                    format!("did you mean {s:?}? Zones are IANA names like \"Europe/Berlin\"")
                }
                None => {
                    "use an IANA zone name like \"Europe/Berlin\" or \"America/New_York\"".into()
                }
            };
            diags
                .error(value.span(), format!("`{key}`: unknown time zone {name:?}"))
                .help(help);
        }
        zone
    }
}

/// Names in a host's zone database that are not zones of their own: what they mean
/// depends on the host (or on nothing), so an invite naming them is read differently
/// elsewhere.
fn host_dependent_zone(name: &str) -> Option<&'static str> {
    match name.to_ascii_lowercase().as_str() {
        "localtime" => Some("is this computer's own zone setting, not a zone"),
        "posixrules" => Some("is a file of the zone database, not a zone"),
        "factory" => Some("is a placeholder for a zone not set yet"),
        _ => None,
    }
}

/// What to write instead of a legacy zone name, if `name` is one: the old US, Canada and
/// other backward links (`US/Eastern`), and the POSIX-style abbreviations without DST
/// rules of their region (`EST` has no daylight saving time, New York has).
/// `PST8PDT`-style names keep DST and are fine.
fn legacy_zone(name: &str, zone: &Zone) -> Option<String> {
    let modern: Option<&str> = match name {
        "EST" | "US/Eastern" => Some("America/New_York"),
        "MST" | "US/Mountain" => Some("America/Denver"),
        "HST" | "US/Hawaii" => Some("Pacific/Honolulu"),
        "US/Central" => Some("America/Chicago"),
        "US/Pacific" => Some("America/Los_Angeles"),
        "US/Arizona" => Some("America/Phoenix"),
        "US/Alaska" => Some("America/Anchorage"),
        _ => None,
    };
    let abbreviation = matches!(name, "EST" | "MST" | "HST");
    match modern {
        Some(modern) if abbreviation => Some(format!(
            "{name:?} has no daylight saving time, though most places that use it change their \
             clocks: if the people are in {modern}'s region, write \"{modern}\""
        )),
        Some(modern) => Some(format!("write \"{modern}\", the zone's current name")),
        None if zone.name.as_ref() != name
            && (name.starts_with("US/") || name.starts_with("Canada/")) =>
        {
            Some(format!("write \"{}\", the zone's current name", zone.name))
        }
        None => None,
    }
}
