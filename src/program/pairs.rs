//! `[[pairs]]`: read while their segment is parsed, resolved once every person and the
//! defaults are known (a pair may name a person defined further down the file).

use rustc_hash::FxHashMap as HashMap;

use jiff::Timestamp;
use jiff::civil::{Date, Time};

use super::model::{Meeting, Pair, PersonIndex, Status, Timing, Zone};
use super::people::PersonEntry;
use super::reader::{self, Table, TableName, Value, text};
use super::sections::ProgramHead;
use super::settings::{Located, SHARED_KEYS, Settings, builtin};
use super::values::{self, QuietHours, check_id, closest};
use super::zones::Zones;
use crate::diagnostic::{Diagnostics, Span};
use crate::recurrence::{Rule, Until};

const PAIR_KEYS: &[&str] = &[
    "id", "mentor", "mentee", "start", "end", "goals", "status", "kind",
];

/// A pair as written, with owned values and absolute spans.
#[derive(Debug)]
pub(crate) struct RawPair {
    /// 1-based position among the `[[pairs]]`, for messages.
    number: usize,
    span: Span,
    mentor: Option<Located<String>>,
    mentee: Option<Located<String>>,
    id: Option<Located<String>>,
    start: Option<Located<Option<Date>>>,
    end: Option<Located<Option<Date>>>,
    goals: Vec<String>,
    status: Option<Status>,
    kind: Option<String>,
    settings: Settings,
}

/// Reads one `[[pairs]]` table; `number` counts from 1.
pub(crate) fn read_pair(
    number: usize,
    value: &Value<'_>,
    zones: &mut Zones,
    diags: &mut Diagnostics,
) -> Option<RawPair> {
    let mut t = Table::from_value(TableName::Pair(number), value, diags)?;
    let located_string =
        |t: &mut Table<'_, '_>, key: &str, example: &str, diags: &mut Diagnostics| {
            t.require(key, diags, example).and_then(|v| {
                reader::string(v, key, example, diags).map(|s| Located {
                    value: s.to_string(),
                    span: diags.absolute(v.span()),
                })
            })
        };
    let mentor = located_string(&mut t, "mentor", "\"grace\"", diags);
    let mentee = located_string(&mut t, "mentee", "\"alan\"", diags);
    let id = t.get("id").and_then(|v| {
        reader::parsed(v, "id", "\"grace-alan\"", diags, |s| {
            check_id(s).map(|()| s.to_string())
        })
        .map(|id| Located {
            value: id,
            span: diags.absolute(v.span()),
        })
    });
    let date = |t: &mut Table<'_, '_>, key: &str, diags: &mut Diagnostics| {
        t.get(key).map(|v| Located {
            value: reader::date(v, key, "2027-01-12", diags),
            span: diags.absolute(v.span()),
        })
    };
    let start = date(&mut t, "start", diags);
    let end = date(&mut t, "end", diags);
    let goals = t
        .get("goals")
        .and_then(|v| {
            reader::list(
                v,
                "goals",
                "[\"Lead one design review by March\"]",
                false,
                diags,
                |g, diags| text(g, "goals", diags),
            )
        })
        .unwrap_or_default();
    let status = t.get("status").and_then(|v| {
        reader::parsed(v, "status", "\"active\"", diags, |s| match s {
            "active" => Ok(Status::Active),
            "paused" => Ok(Status::Paused),
            "ended" => Ok(Status::Ended),
            _ => Err(values::invalid(
                format!("unknown status {s:?}"),
                "use \"active\", \"paused\" or \"ended\"",
            )),
        })
    });
    let kind = t.get("kind").and_then(|v| text(v, "kind", diags));
    let settings = Settings::read(&mut t, zones, diags);
    if let Some(span) = t.key_span("digest") {
        t.get("digest");
        diags
            .error(span, "`digest` is program-wide and cannot be set per pair")
            .help("set `digest` in [defaults]; the coordinator gets one digest for all pairs");
    }
    let span = diags.absolute(t.span.clone());
    t.finish(&[PAIR_KEYS, SHARED_KEYS], diags);
    Some(RawPair {
        number,
        span,
        mentor,
        mentee,
        id,
        start,
        end,
        goals,
        status,
        kind,
        settings,
    })
}

/// What pairs are resolved against. Without a valid `[program]` the checks that need
/// its dates are left out rather than reported wrongly.
pub(crate) struct Context<'a> {
    pub(crate) head: Option<&'a ProgramHead>,
    pub(crate) defaults: &'a Settings,
    pub(crate) people: &'a [PersonEntry],
    pub(crate) index: &'a HashMap<String, PersonIndex>,
    /// 1-based line of a span, for messages that point at an earlier place.
    pub(crate) line_of: &'a dyn Fn(&Span) -> usize,
}

/// Turns raw pairs into pairs: people resolved, defaults merged, duplicates refused.
pub(crate) fn resolve_pairs(
    raw: Vec<RawPair>,
    cx: &Context<'_>,
    diags: &mut Diagnostics,
) -> Vec<Pair> {
    let defaults_rule = match cx.defaults.cadence(None) {
        Ok(rule) => Some(rule),
        Err((span, e)) => {
            diags.error(span, e.message).help(e.help);
            None
        }
    };
    let mut ids: HashMap<String, Span> = HashMap::default();
    let mut couples: HashMap<(PersonIndex, PersonIndex), Span> = HashMap::default();
    let mut reported_empty_defaults = false;
    let mut waking = super::waking::Waking::default();
    let mut pairs = Vec::with_capacity(raw.len());
    for pair in raw {
        let mentor = pair
            .mentor
            .as_ref()
            .and_then(|m| resolve_person(m, "mentor", cx, diags));
        let mentee = pair
            .mentee
            .as_ref()
            .and_then(|m| resolve_person(m, "mentee", cx, diags));
        let (Some(mentor), Some(mentee)) = (mentor, mentee) else {
            continue;
        };
        let person_id = |i: PersonIndex| cx.people[i].person.id.as_str();
        if mentor == mentee {
            let span = pair
                .mentee
                .as_ref()
                .map_or(pair.span.clone(), |m| m.span.clone());
            diags
                .error(
                    span,
                    format!(
                        "[[pairs]] #{} pairs {:?} with themselves",
                        pair.number,
                        person_id(mentor)
                    ),
                )
                .help("a mentor and a mentee must be two different people");
            continue;
        }
        if let Some(first) = couples.get(&(mentor, mentee)) {
            diags
                .error(
                    pair.span.clone(),
                    format!("{:?} already mentors {:?} in another pair", person_id(mentor), person_id(mentee)),
                )
                .help(format!(
                    "remove one of the two pairs (the other starts on line {}); change the pair's settings instead of repeating it",
                    (cx.line_of)(first)
                ));
            continue;
        }
        couples.insert((mentor, mentee), pair.span.clone());
        let (id, id_span, defaulted) = match &pair.id {
            Some(id) => (id.value.clone(), id.span.clone(), false),
            None => (
                format!("{}-{}", person_id(mentor), person_id(mentee)),
                pair.span.clone(),
                true,
            ),
        };
        if let Some(first) = ids.get(&id) {
            let what = if defaulted { "the default id" } else { "id" };
            diags
                .error(
                    id_span,
                    format!(
                        "{what} {id:?} of [[pairs]] #{} is already used",
                        pair.number
                    ),
                )
                .help(format!(
                    "the pair on line {} has the same id; give one of them its own `id = \"...\"`",
                    (cx.line_of)(first)
                ));
            continue;
        }
        ids.insert(id.clone(), id_span);
        if let Some(resolved) = resolve_one(
            &pair,
            id,
            mentor,
            mentee,
            cx,
            &defaults_rule,
            &mut reported_empty_defaults,
            &mut waking,
            diags,
        ) {
            pairs.push(resolved);
        }
    }
    waking.finish(diags);
    pairs
}

#[allow(clippy::too_many_arguments)]
fn resolve_one(
    pair: &RawPair,
    id: String,
    mentor: PersonIndex,
    mentee: PersonIndex,
    cx: &Context<'_>,
    defaults_rule: &Option<Rule>,
    reported_empty_defaults: &mut bool,
    waking: &mut super::waking::Waking,
    diags: &mut Diagnostics,
) -> Option<Pair> {
    let own = &pair.settings;
    let rule = if own.sets_cadence() {
        match own.cadence(Some(cx.defaults)) {
            Ok(rule) => rule,
            Err((span, e)) => {
                diags.error(span, e.message).help(e.help);
                return None;
            }
        }
    } else {
        defaults_rule.clone()?
    };
    let head = cx.head?;
    let pair_start = pair
        .start
        .as_ref()
        .and_then(|d| d.value)
        .unwrap_or(head.start)
        .max(head.start);
    let pair_end = match (pair.end.as_ref().and_then(|d| d.value), head.end) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let (Some(e), Some(end)) = (pair_end, &pair.end)
        && e < pair_start
    {
        diags
            .error(
                end.span.clone(),
                format!("`end` ({e}) is before the pair's start ({pair_start})"),
            )
            .help("a pair must end on or after it starts (and after the program starts)");
        return None;
    }
    let merged = own.over(cx.defaults);
    let zone = merged.timezone.clone().unwrap_or_else(|| head.zone.clone());
    let at = merged.at.unwrap_or(builtin::AT);
    let until = series_until(&rule, pair_end, &zone);
    let mut meeting = Meeting {
        rule,
        at,
        zone,
        duration: merged.duration.unwrap_or(builtin::DURATION),
        location: merged.location.clone(),
        until,
        first: None,
        last: None,
    };
    meeting.first = first_meeting(&meeting, pair_start, &head.skip);
    meeting.last = last_day(&meeting, pair_start);
    let status = pair.status.unwrap_or(Status::Active);
    if status == Status::Active && meeting.first.is_none() {
        let window = match pair_end {
            Some(e) => format!("between {pair_start} and {e}"),
            None => format!("from {pair_start} on"),
        };
        let message = format!("pair {id:?} never meets {window}");
        let own_span = own
            .rrule
            .as_ref()
            .map(|r| r.span.clone())
            .or(own.on.as_ref().map(|o| o.span.clone()))
            .or(own.every.as_ref().map(|o| o.span.clone()))
            .or(pair.end.as_ref().map(|e| e.span.clone()))
            .or(pair.start.as_ref().map(|e| e.span.clone()));
        match own_span {
            Some(span) => {
                diags.error(span, message).help(
                    "check the cadence against the dates and skip list, or set `status = \"ended\"`",
                );
            }
            None if !*reported_empty_defaults => {
                *reported_empty_defaults = true;
                diags.error(pair.span.clone(), message).help(
                    "the cadence in [defaults] gives no meeting in the program's dates; check it and `skip`",
                );
            }
            None => {}
        }
        return None;
    }
    if status == Status::Active {
        super::waking::warn_outside_waking_hours(
            waking,
            &id,
            &meeting,
            pair_start,
            &head.skip,
            [mentor, mentee],
            cx.people,
            own.at_span.clone().unwrap_or_else(|| pair.span.clone()),
            diags,
        );
    }
    let review_every = merged
        .review_every
        .unwrap_or(Some(builtin::REVIEW_EVERY_DAYS));
    let review_grace = merged.review_grace.unwrap_or(builtin::REVIEW_GRACE_DAYS);
    if let Some(every) = review_every
        && every <= 2 * review_grace
    {
        // A review due again before the last one's escalation would nudge without pause.
        let own_keys = own.review_every.is_some() || own.review_grace.is_some();
        if own_keys || !*reported_empty_defaults {
            *reported_empty_defaults |= !own_keys;
            diags
                .error(
                    pair.span.clone(),
                    format!("review every {every} days with {review_grace} days' grace leaves no quiet time between reviews"),
                )
                .help("make `review_every` longer than two `review_grace`s (defaults: \"90d\" and \"14d\"), or set `review_every = \"off\"`");
        }
        return None;
    }
    let pair_quiet = merged.quiet_hours.unwrap_or(Some(builtin::QUIET_HOURS));
    let person_quiet = |p: PersonIndex| -> Option<QuietHours> {
        cx.people[p].person.quiet_hours.unwrap_or(pair_quiet)
    };
    Some(Pair {
        id,
        mentor,
        mentee,
        start: pair_start,
        end: pair_end,
        goals: pair.goals.clone(),
        status,
        kind: pair.kind.clone(),
        meeting,
        timing: Timing {
            agenda_before: merged.agenda_before.unwrap_or(Some(builtin::AGENDA_BEFORE)),
            reminder_before: merged
                .reminder_before
                .unwrap_or(Some(builtin::REMINDER_BEFORE)),
            followup_after: merged
                .followup_after
                .unwrap_or(Some(builtin::FOLLOWUP_AFTER)),
            review_every,
            review_grace,
            checkin_every: merged
                .checkin_every
                .unwrap_or(Some(builtin::CHECKIN_EVERY_DAYS)),
            mentor_quiet_hours: person_quiet(mentor),
            mentee_quiet_hours: person_quiet(mentee),
            quiet_days: merged.quiet_days.unwrap_or_default(),
            cancel_notice: merged.cancel_notice.unwrap_or(builtin::CANCEL_NOTICE),
        },
        cancelled: Vec::new(),
    })
}

/// A person id named by a pair or the coordinator. A person who exists but is invalid
/// was already reported: the reference is not reported again.
pub(crate) fn resolve_person(
    id: &Located<String>,
    role: &str,
    cx: &Context<'_>,
    diags: &mut Diagnostics,
) -> Option<PersonIndex> {
    if let Some(&i) = cx.index.get(&id.value) {
        return cx.people[i].valid.then_some(i);
    }
    let help = match closest(&id.value, cx.index.keys().map(String::as_str)) {
        Some(s) => format!(
            "did you mean {s:?}? Otherwise add a [people.{}] section",
            id.value
        ),
        None => format!(
            "add a [people.{}] section with name and email, or use a defined person's id",
            id.value
        ),
    };
    diags
        .error(
            id.span.clone(),
            format!("`{role}`: unknown person {:?}", id.value),
        )
        .help(help);
    None
}

/// The last instant a meeting may start: the end of the last allowed date in the
/// meeting's zone, or the rule's own UNTIL, whichever is earlier.
fn series_until(rule: &Rule, end: Option<Date>, zone: &Zone) -> Option<Timestamp> {
    let end_of = |date: Date| -> Option<Timestamp> {
        let next = date.tomorrow().ok()?.to_datetime(Time::midnight());
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
fn first_meeting(meeting: &Meeting, start: Date, skip: &[Date]) -> Option<Date> {
    meeting
        .rule
        .dates(start, start)
        .map(|date| (date, meeting.start_on(date)))
        .take_while(|(_, instant)| meeting.until.is_none_or(|u| *instant <= u))
        .find(|(date, _)| skip.binary_search(date).is_err())
        .map(|(date, _)| date)
}

/// The last date a series can hold a meeting: its COUNT-th date or its UNTIL's date.
fn last_day(meeting: &Meeting, start: Date) -> Option<Date> {
    let until = meeting.until.map(|u| meeting.zone.tz.to_datetime(u).date());
    let counted = meeting
        .rule
        .count
        .and_then(|count| meeting.rule.dates(start, start).take(count as usize).last());
    match (counted, until) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
