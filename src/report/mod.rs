//! The program's record (SPEC §7): for a period, per pair and in total, the meetings
//! planned, held, cancelled and cancelled late, the agenda and action-item rates, the
//! check-ins, the reviews held on time; and each pair's health ([`health`]) as of now.
//! `mentord report`, `simulate`'s `report.csv`, `status`, the page and the digest all
//! read it from here, so they never disagree.
//!
//! Everything comes from the file (what was planned) and the store (what happened), read
//! once for all pairs ([`Evidence::read`]); nothing here ever sees what a pair wrote.

pub mod csv;
pub mod health;
pub mod html;

use std::collections::{HashMap, HashSet};

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::program::{Pair, Program, Status};
use crate::store::{Bounce, Cancellation, Replied, Rsvp, Store};
use crate::vocab::MessageKind;

pub use health::{Health, Level};

/// How far back health looks: the meetings of the last 12 weeks.
pub const HEALTH_WINDOW: SignedDuration = SignedDuration::from_hours(12 * 7 * 24);

/// What the store knows of every pair, read once.
#[derive(Debug, Default)]
pub struct Evidence {
    pub cancellations: Vec<Cancellation>,
    pub rsvps: Vec<Rsvp>,
    /// Per pair, the meetings of the report's period answered (agenda, action items).
    pub replied: HashMap<String, Replied>,
    /// The same over the health window before now.
    pub replied_recently: HashMap<String, Replied>,
    /// When each pair was last heard from.
    pub last_heard: HashMap<String, Timestamp>,
    pub reviews: Vec<(String, Date)>,
    pub bounces: Vec<Bounce>,
    /// (person id, kind) each person stopped.
    pub unsubscribes: Vec<(String, MessageKind)>,
    /// Check-in answers: (pair, person, answered at, score 1–5), oldest first.
    pub checkins: Vec<(String, String, Timestamp, u8)>,
}

impl Evidence {
    /// Reads what a report of meetings in `[from, until)` and health at `now` need.
    pub async fn read(
        store: &Store,
        from: Timestamp,
        until: Timestamp,
        now: Timestamp,
    ) -> anyhow::Result<Evidence> {
        let health_since = now.checked_sub(HEALTH_WINDOW).unwrap_or(now);
        // Only meetings that have taken place can have been answered.
        let period_end = until.min(now).max(from);
        Ok(Evidence {
            cancellations: store.cancellations().await?,
            rsvps: store.rsvps().await?,
            replied: store.replied(from, period_end).await?,
            replied_recently: store.replied(health_since, now).await?,
            last_heard: store.last_heard().await?,
            reviews: store.reviews().await?,
            bounces: store.bounces(now).await?,
            unsubscribes: store.unsubscribes().await?,
            checkins: scored_checkins(store).await?,
        })
    }
}

/// Every check-in answer with a score, as (pair, person, answered at, score), in the
/// order they were answered; answers that gave only a comment are left out.
async fn scored_checkins(store: &Store) -> anyhow::Result<Vec<(String, String, Timestamp, u8)>> {
    let mut scored = store.checkin_scores().await?;
    scored.sort_by_key(|(_, _, at, _)| *at);
    Ok(scored)
}

/// One meeting of the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meeting {
    pub date: Date,
    pub start: Timestamp,
    pub cancelled: bool,
    pub late: bool,
}

impl Meeting {
    /// Held: past, and neither cancelled nor declined.
    pub fn held(&self, now: Timestamp) -> bool {
        self.start < now && !self.cancelled
    }
}

/// One pair's record for a period.
#[derive(Debug, Clone, PartialEq)]
pub struct PairReport {
    pub pair: String,
    pub mentor: String,
    pub mentee: String,
    pub status: Status,
    pub planned: u32,
    pub held: u32,
    pub cancelled: u32,
    pub cancelled_late: u32,
    pub agendas: u32,
    pub action_items: u32,
    pub checkins: u32,
    pub checkin_mean: Option<f64>,
    /// The later half's mean minus the earlier half's, of the period's scores.
    pub checkin_trend: Option<f64>,
    /// Reviews that fell due in the period (their grace over by now), and how many of
    /// those were held by the end of their grace.
    pub reviews_due: u32,
    pub reviews_on_time: u32,
    pub health: Health,
}

impl PairReport {
    pub fn agenda_rate(&self) -> Option<f64> {
        rate(self.agendas, self.held)
    }

    pub fn action_item_rate(&self) -> Option<f64> {
        rate(self.action_items, self.held)
    }
}

fn rate(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

/// The record of a period: each pair, and the sums.
#[derive(Debug, Clone)]
pub struct Report {
    pub from: Timestamp,
    pub until: Timestamp,
    pub now: Timestamp,
    pub pairs: Vec<PairReport>,
    /// The program month by month (in the program's zone), for the charts.
    pub months: Vec<Month>,
}

/// One calendar month of the program, all pairs together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Month {
    /// `2027-02`.
    pub month: String,
    pub planned: u32,
    pub held: u32,
    pub cancelled: u32,
    pub checkins: u32,
    pub checkin_sum: u32,
}

impl Month {
    pub fn checkin_mean(&self) -> Option<f64> {
        (self.checkins > 0).then(|| f64::from(self.checkin_sum) / f64::from(self.checkins))
    }
}

/// Adds to the month of `date`, keeping months in order.
fn month_of(months: &mut std::collections::BTreeMap<String, Month>, date: Date) -> &mut Month {
    let key = format!("{:04}-{:02}", date.year(), date.month());
    months.entry(key.clone()).or_insert_with(|| Month {
        month: key,
        ..Month::default()
    })
}

/// The program's totals over a report's pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub pairs: u32,
    pub planned: u32,
    pub held: u32,
    pub cancelled: u32,
    pub cancelled_late: u32,
    pub agendas: u32,
    pub action_items: u32,
    pub checkins: u32,
    pub checkin_mean: Option<f64>,
    pub reviews_due: u32,
    pub reviews_on_time: u32,
    pub good: u32,
    pub watch: u32,
    pub at_risk: u32,
}

impl Totals {
    pub fn agenda_rate(&self) -> Option<f64> {
        rate(self.agendas, self.held)
    }

    pub fn action_item_rate(&self) -> Option<f64> {
        rate(self.action_items, self.held)
    }
}

impl Report {
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        let mut score_sum = 0.0;
        for p in &self.pairs {
            t.pairs += 1;
            t.planned += p.planned;
            t.held += p.held;
            t.cancelled += p.cancelled;
            t.cancelled_late += p.cancelled_late;
            t.agendas += p.agendas;
            t.action_items += p.action_items;
            t.checkins += p.checkins;
            score_sum += p.checkin_mean.unwrap_or(0.0) * f64::from(p.checkins);
            t.reviews_due += p.reviews_due;
            t.reviews_on_time += p.reviews_on_time;
            match p.health.level {
                Level::Good => t.good += 1,
                Level::Watch => t.watch += 1,
                Level::AtRisk => t.at_risk += 1,
            }
        }
        t.checkin_mean = (t.checkins > 0).then(|| score_sum / f64::from(t.checkins));
        t
    }
}

/// What the store says of one pair, gathered from [`Evidence`] by pair id.
#[derive(Debug, Default)]
pub(crate) struct PairEvidence<'e> {
    /// Cancelled meetings by date: late or not.
    pub(crate) cancelled: HashMap<Date, bool>,
    /// Declined meetings, by start as in delivery keys.
    pub(crate) declined: HashSet<&'e str>,
    /// Meetings of the report's period answered, and of the health window.
    pub(crate) replied: Replied,
    pub(crate) replied_recently: Replied,
    pub(crate) last_heard: Option<Timestamp>,
    pub(crate) reviews: Vec<Date>,
    /// (person, at, score), oldest first.
    pub(crate) checkins: Vec<(&'e str, Timestamp, u8)>,
}

fn by_pair(evidence: &Evidence) -> HashMap<&str, PairEvidence<'_>> {
    let mut out: HashMap<&str, PairEvidence<'_>> = HashMap::new();
    for c in &evidence.cancellations {
        let late = out
            .entry(&c.pair)
            .or_default()
            .cancelled
            .entry(c.date)
            .or_insert(false);
        *late |= c.late;
    }
    for r in &evidence.rsvps {
        if !r.occurrence.is_empty() && r.partstat.eq_ignore_ascii_case("declined") {
            out.entry(&r.pair)
                .or_default()
                .declined
                .insert(&r.occurrence);
        }
    }
    for (pair, replied) in &evidence.replied {
        out.entry(pair).or_default().replied = *replied;
    }
    for (pair, replied) in &evidence.replied_recently {
        out.entry(pair).or_default().replied_recently = *replied;
    }
    for (pair, at) in &evidence.last_heard {
        out.entry(pair).or_default().last_heard = Some(*at);
    }
    for (pair, held) in &evidence.reviews {
        out.entry(pair).or_default().reviews.push(*held);
    }
    for (pair, person, at, score) in &evidence.checkins {
        out.entry(pair)
            .or_default()
            .checkins
            .push((person, *at, *score));
    }
    out
}

/// The meetings of `pair` planned in `[from, until)`, with what became of each.
pub(crate) fn meetings(
    program: &Program,
    pair: &Pair,
    evidence: &PairEvidence<'_>,
    from: Timestamp,
    until: Timestamp,
) -> Vec<Meeting> {
    if pair.status != Status::Active {
        return Vec::new();
    }
    crate::schedule::planned_meetings(program, pair, from, until)
        .map(|(date, start)| {
            let key = start.to_string();
            let declined = evidence.declined.contains(key.as_str());
            let cancelled = evidence.cancelled.get(&date);
            Meeting {
                date,
                start,
                cancelled: declined || cancelled.is_some(),
                late: cancelled.copied().unwrap_or(false),
            }
        })
        .collect()
}

/// Reviews of `pair` due in `[from, until)` whose grace is over by `now`, and how many of
/// them were held by then: due every `review_every` days from the pair's start or the
/// last review held, as the nudges go.
fn reviews(pair: &Pair, held: &[Date], from: Date, until: Date, now: Date) -> (u32, u32) {
    let Some(every) = pair.timing.review_every else {
        return (0, 0);
    };
    let grace = i64::from(pair.timing.review_grace);
    let mut anchor = pair.start;
    let (mut due_count, mut on_time) = (0, 0);
    let mut k = 1i64;
    // Enough for any period: a review at least every day.
    for _ in 0..10_000 {
        let Ok(due) = anchor.checked_add((k * i64::from(every)).days()) else {
            break;
        };
        if due >= until || pair.meeting.last.is_some_and(|last| due > last) {
            break;
        }
        let Ok(deadline) = due.checked_add(grace.days()) else {
            break;
        };
        // The first review held after the anchor answers this due date.
        let answer = held.iter().copied().find(|&h| h > anchor);
        if due >= from && (deadline <= now || answer.is_some_and(|h| h <= deadline)) {
            due_count += 1;
            if answer.is_some_and(|h| h <= deadline) {
                on_time += 1;
            }
        }
        match answer {
            Some(h) if h <= due.checked_add((i64::from(every)).days()).unwrap_or(due) => {
                anchor = h;
                k = 1;
            }
            _ => k += 1,
        }
    }
    (due_count, on_time)
}

/// Mean of the scores, and the later half's mean less the earlier half's (with at least
/// two scores).
fn checkin_stats(scores: &[u8]) -> (Option<f64>, Option<f64>) {
    let mean = |s: &[u8]| {
        (!s.is_empty()).then(|| s.iter().map(|&x| f64::from(x)).sum::<f64>() / s.len() as f64)
    };
    let trend = if scores.len() >= 2 {
        let (early, late) = scores.split_at(scores.len() / 2);
        Some(mean(late).unwrap_or(0.0) - mean(early).unwrap_or(0.0))
    } else {
        None
    };
    (mean(scores), trend)
}

/// The record of every pair for meetings in `[from, until)`, health as of `now`.
pub fn build(
    program: &Program,
    evidence: &Evidence,
    from: Timestamp,
    until: Timestamp,
    now: Timestamp,
) -> Report {
    let evidences = by_pair(evidence);
    let empty = PairEvidence::default();
    let zone = &program.zone.tz;
    let date = |t: Timestamp| zone.to_datetime(t).date();
    let hears = health::Hearing::of(program, &evidences, now);
    let mut months = std::collections::BTreeMap::new();
    let pairs = program
        .pairs
        .iter()
        .map(|pair| {
            let ev = evidences.get(pair.id.as_str()).unwrap_or(&empty);
            let list = meetings(program, pair, ev, from, until);
            let held: Vec<&Meeting> = list.iter().filter(|m| m.held(now)).collect();
            for m in &list {
                let month = month_of(&mut months, m.date);
                month.planned += 1;
                month.held += u32::from(m.held(now));
                month.cancelled += u32::from(m.cancelled);
            }
            let answered: Vec<&(&str, Timestamp, u8)> = ev
                .checkins
                .iter()
                .filter(|(_, at, _)| *at >= from && *at < until)
                .collect();
            for (_, at, score) in &answered {
                let month = month_of(&mut months, date(*at));
                month.checkins += 1;
                month.checkin_sum += u32::from(*score);
            }
            let scores: Vec<u8> = answered.iter().map(|(_, _, s)| *s).collect();
            let (checkin_mean, checkin_trend) = checkin_stats(&scores);
            let (reviews_due, reviews_on_time) =
                reviews(pair, &ev.reviews, date(from), date(until), date(now));
            PairReport {
                pair: pair.id.clone(),
                mentor: program.person(pair.mentor).name.clone(),
                mentee: program.person(pair.mentee).name.clone(),
                status: pair.status,
                planned: list.len() as u32,
                held: held.len() as u32,
                cancelled: list.iter().filter(|m| m.cancelled).count() as u32,
                cancelled_late: list.iter().filter(|m| m.cancelled && m.late).count() as u32,
                // Answers come only for meetings that took place (intake matches each
                // to a prompt or follow-up of one): at most one a meeting held.
                agendas: ev.replied.agendas.min(held.len() as u32),
                action_items: ev.replied.action_items.min(held.len() as u32),
                checkins: scores.len() as u32,
                checkin_mean,
                checkin_trend,
                reviews_due,
                reviews_on_time,
                health: health::assess(program, pair, ev, evidence, &hears, now),
            }
        })
        .collect();
    Report {
        from,
        until,
        now,
        pairs,
        months: months.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkin_trend_compares_halves() {
        assert_eq!(checkin_stats(&[]), (None, None));
        assert_eq!(checkin_stats(&[4]), (Some(4.0), None));
        assert_eq!(checkin_stats(&[5, 5, 3, 2]), (Some(3.75), Some(-2.5)));
    }
}
