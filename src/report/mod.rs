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
use crate::store::{
    Bounce, Cancellation, CheckinStats, PairRecord, Replied, Rsvp, Store, TroubledCheckin,
};
use crate::vocab::MessageKind;

pub use health::{Health, Level};

/// How far back health looks: the meetings of the last 12 weeks.
pub const HEALTH_WINDOW: SignedDuration = SignedDuration::from_hours(12 * 7 * 24);

/// What the store knows of every pair, read once.
#[derive(Debug, Default)]
pub struct Evidence {
    pub cancellations: Vec<Cancellation>,
    pub rsvps: Vec<Rsvp>,
    /// Per pair, the meetings of the report's period answered (agenda, action items),
    /// the same over the health window before now, and when it was last heard from.
    pub records: HashMap<String, PairRecord>,
    pub reviews: Vec<(String, Date)>,
    pub bounces: Vec<Bounce>,
    /// (person id, kind) each person stopped.
    pub unsubscribes: Vec<(String, MessageKind)>,
    /// Per pair, the check-in scores of the report's period.
    pub checkin_stats: HashMap<String, CheckinStats>,
    /// The period's check-in scores month by month (the month's first day in the
    /// program's zone, how many, their sum), once read ([`Evidence::with_checkin_months`]).
    pub checkin_months: Vec<(Date, u32, u32)>,
    /// The people whose latest check-in is low or fell.
    pub troubled_checkins: Vec<TroubledCheckin>,
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
            records: store
                .pair_records((from, period_end), (health_since, now))
                .await?,
            reviews: store.reviews().await?,
            bounces: store.bounces(now).await?,
            unsubscribes: store.unsubscribes().await?,
            checkin_stats: store.checkin_stats(from, until).await?,
            checkin_months: Vec::new(),
            troubled_checkins: store.troubled_checkins().await?,
        })
    }

    /// Reads the check-in scores of each month of `[from, until)` in `zone` too (the
    /// report's chart; health and the digest need none).
    pub async fn with_checkin_months(
        mut self,
        store: &Store,
        zone: &jiff::tz::TimeZone,
        from: Timestamp,
        until: Timestamp,
    ) -> anyhow::Result<Evidence> {
        let mut months = Vec::new();
        let mut start = zone.to_datetime(from).date().first_of_month();
        while let Ok(begins) = zone.to_timestamp(start.to_datetime(jiff::civil::Time::midnight())) {
            if begins >= until {
                break;
            }
            let Ok(next) = start.checked_add(1.month()) else {
                break;
            };
            let ends = zone
                .to_timestamp(next.to_datetime(jiff::civil::Time::midnight()))
                .unwrap_or(until);
            months.push((start, begins.max(from), ends.min(until)));
            start = next;
        }
        let ranges: Vec<(Timestamp, Timestamp)> = months.iter().map(|m| (m.1, m.2)).collect();
        let counts = store.checkin_ranges(&ranges).await?;
        self.checkin_months = months
            .into_iter()
            .zip(counts)
            .filter(|(_, (n, _))| *n > 0)
            .map(|((month, _, _), (n, sum))| (month, n, sum))
            .collect();
        Ok(self)
    }
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
    /// The mean of the scores of the period's later half minus its earlier half's.
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
    /// The period's check-in scores.
    pub(crate) checkin_stats: CheckinStats,
    /// Its people whose latest check-in is low or fell.
    pub(crate) troubled: Vec<&'e TroubledCheckin>,
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
    for (pair, record) in &evidence.records {
        let entry = out.entry(pair).or_default();
        entry.replied = record.replied;
        entry.replied_recently = record.replied_recently;
        entry.last_heard = record.last_heard;
    }
    for (pair, held) in &evidence.reviews {
        out.entry(pair).or_default().reviews.push(*held);
    }
    for (pair, stats) in &evidence.checkin_stats {
        out.entry(pair).or_default().checkin_stats = *stats;
    }
    for troubled in &evidence.troubled_checkins {
        out.entry(&troubled.pair)
            .or_default()
            .troubled
            .push(troubled);
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
            // Few pairs decline anything: no key text for the others.
            let declined = !evidence.declined.is_empty()
                && evidence.declined.contains(start.to_string().as_str());
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

/// Mean of the scores, and the mean of the period's later half less its earlier half's
/// (with scores in both halves).
fn checkin_means(stats: CheckinStats) -> (Option<f64>, Option<f64>) {
    let mean = |sum: u32, n: u32| (n > 0).then(|| f64::from(sum) / f64::from(n));
    let early = mean(stats.early_sum, stats.early);
    let late = mean(
        stats.sum.saturating_sub(stats.early_sum),
        stats.count.saturating_sub(stats.early),
    );
    let trend = early.zip(late).map(|(early, late)| late - early);
    (mean(stats.sum, stats.count), trend)
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
    // One expansion of each pair's meetings serves the period and the health window.
    let since = now.checked_sub(HEALTH_WINDOW).unwrap_or(now);
    let (first, last) = (from.min(since), until.max(now));
    let between = |all: &[Meeting], from: Timestamp, until: Timestamp| -> std::ops::Range<usize> {
        let start = all.partition_point(|m| m.start < from);
        start..all.partition_point(|m| m.start < until).max(start)
    };
    let pairs = program
        .pairs
        .iter()
        .map(|pair| {
            let ev = evidences.get(pair.id.as_str()).unwrap_or(&empty);
            let all = meetings(program, pair, ev, first, last);
            let list = &all[between(&all, from, until)];
            let recent = &all[between(&all, since, now)];
            let held: Vec<&Meeting> = list.iter().filter(|m| m.held(now)).collect();
            for m in list {
                let month = month_of(&mut months, m.date);
                month.planned += 1;
                month.held += u32::from(m.held(now));
                month.cancelled += u32::from(m.cancelled);
            }
            let (checkin_mean, checkin_trend) = checkin_means(ev.checkin_stats);
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
                checkins: ev.checkin_stats.count,
                checkin_mean,
                checkin_trend,
                reviews_due,
                reviews_on_time,
                health: health::assess(program, pair, recent, ev, evidence, &hears, now),
            }
        })
        .collect();
    for &(first_day, count, sum) in &evidence.checkin_months {
        let month = month_of(&mut months, first_day);
        month.checkins += count;
        month.checkin_sum += sum;
    }
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
        let stats = |count, sum, early, early_sum| CheckinStats {
            count,
            sum,
            early,
            early_sum,
        };
        assert_eq!(checkin_means(stats(0, 0, 0, 0)), (None, None));
        assert_eq!(checkin_means(stats(1, 4, 0, 0)), (Some(4.0), None));
        // 5, 5 | 3, 2
        assert_eq!(checkin_means(stats(4, 15, 2, 10)), (Some(3.75), Some(-2.5)));
        // 4 | 2, 3
        assert_eq!(checkin_means(stats(3, 9, 1, 4)), (Some(3.0), Some(-1.5)));
        // All in the later half: no trend to tell.
        assert_eq!(checkin_means(stats(2, 8, 0, 0)), (Some(4.0), None));
    }
}
