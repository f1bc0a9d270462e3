//! Where the program stands: each pair's next meeting, review standing, last mail and
//! failures, the outbox in numbers, the daemons at work. One model, computed once
//! ([`report`]) from the program and what the store holds ([`StoredState::read`]), for
//! every place that shows it: `mentord status` (table, JSON and CSV) and the
//! coordinator's page (`GET /`, [`crate::serve::page`]).
//!
//! Text in the report that came from outside (names, a kept mail's sender and subject,
//! bounce reports, a relay's errors, calendar answers) is made inert here, once
//! ([`crate::inert::visible`]): every view, JSON included, shows it the same way, with
//! control and bidirectional characters written as `<U+XXXX>`. The store keeps it as
//! it came.

mod heard;

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::inert::shown;
use crate::program::{Program, Status as PairStatus};
use crate::reconcile::Sent;
use crate::schedule::{self, ReviewStanding};
use crate::store::Location;
use crate::store::{
    Bounce, Cancellation, Failure, Instance, KeptMail, PairActivity, Rsvp, SetAside, Store, Summary,
};
use crate::vocab::MessageKind;
pub use heard::{DeliveryLine, KeptLine};

/// How much kept mail `status` and the page list (newest first); the count says if there
/// is more.
const KEPT_SHOWN: i64 = 50;

/// How much set-aside mail `status` lists (newest first); the count says if there is more.
const SET_ASIDE_SHOWN: i64 = 50;

/// A meeting this close without the mentee's agenda needs the coordinator's attention.
const AGENDA_WANTED_WITHIN: jiff::SignedDuration = jiff::SignedDuration::from_hours(48);

/// What the store knows that the status needs (empty without a store).
#[derive(Debug, Default)]
pub struct StoredState {
    pub sent: HashMap<String, Sent>,
    pub reviews: HashMap<String, Date>,
    pub summary: Summary,
    pub activity: HashMap<String, PairActivity>,
    pub instances: Vec<Instance>,
    /// A daemon holds the SQLite store's lock (see [`crate::store::lock`]).
    pub held: bool,
    /// What came back: agendas in (pair, meeting start), answers, bounces, mail set
    /// aside, meetings cancelled.
    pub agendas: std::collections::HashSet<(String, String)>,
    pub rsvps: Vec<Rsvp>,
    pub bounces: Vec<Bounce>,
    pub set_aside: Vec<SetAside>,
    pub set_aside_total: i64,
    /// Meetings someone can't make: (pair, date, person).
    pub cancelled: Vec<(String, Date, String)>,
    /// The same, with when and whether late.
    pub cancellations: Vec<Cancellation>,
    /// Who stopped which kind of mail: (person id, kind).
    pub unsubscribes: Vec<(String, MessageKind)>,
    /// Mail from outside the pairs waiting for the coordinator (the newest), and how many.
    pub kept: Vec<KeptMail>,
    pub kept_total: i64,
    /// The relay's daily budget, with `rate = "…/day"`.
    pub daily_budget: Option<crate::store::DailyBudget>,
    /// Each person's latest check-in score, by (pair, person id): for the coordinator.
    pub checkins: HashMap<(String, String), (Date, u8)>,
    /// What pair health is judged from ([`crate::report`]), over its window before now.
    pub evidence: crate::report::Evidence,
    /// Mail `deliver` handed off that no daemon has taken in yet.
    pub waiting: crate::store::Waiting,
}

/// Whether a daemon holds the store (the SQLite lock; never known for PostgreSQL).
pub fn daemon_holds(location: &Location) -> bool {
    match location {
        Location::Sqlite(path) => crate::store::lock::is_held(path),
        Location::Postgres(_) => false,
    }
}

impl StoredState {
    /// Reads the store; `daily` is the relay's daily budget, told as it stands at `now`.
    pub async fn read(
        store: &Store,
        daily: Option<u32>,
        now: Timestamp,
    ) -> anyhow::Result<StoredState> {
        let daily_budget = match daily {
            Some(daily) => Some(store.daily_budget(daily, now).await?),
            None => None,
        };
        let mut state = StoredState {
            daily_budget,
            sent: store.sent_series().await?,
            reviews: store.last_reviews().await?,
            summary: store.summary().await?,
            activity: store.pair_activity().await?,
            instances: store.instances().await?,
            ..StoredState::default()
        };
        // A store a daemon of an older version made has no tables for what came back
        // until a daemon of this version opens it: nothing came back, then.
        if let Err(e) = state.read_heard(store, now).await {
            tracing::debug!(error = %format!("{e:#}"), "no replies in the store yet");
        }
        match store.mail_waiting().await {
            Ok(waiting) => state.waiting = waiting,
            Err(e) => tracing::debug!(error = %format!("{e:#}"), "no mail queue in the store yet"),
        }
        match store.latest_checkin_scores().await {
            Ok(checkins) => state.checkins = checkins,
            Err(e) => tracing::debug!(error = %format!("{e:#}"), "no check-ins in the store yet"),
        }
        let since = now.checked_sub(crate::report::HEALTH_WINDOW).unwrap_or(now);
        match crate::report::Evidence::read(store, since, now, now).await {
            Ok(evidence) => state.evidence = evidence,
            Err(e) => tracing::debug!(error = %format!("{e:#}"), "nothing to judge health by yet"),
        }
        Ok(state)
    }

    /// What came back, all of it or (on an error) none of it.
    async fn read_heard(&mut self, store: &Store, now: Timestamp) -> anyhow::Result<()> {
        let agendas = store
            .agendas_in(Timestamp::UNIX_EPOCH)
            .await?
            .into_iter()
            .collect();
        let rsvps = store.rsvps().await?;
        let bounces = store.bounces(now).await?;
        let set_aside = store.set_aside(SET_ASIDE_SHOWN).await?;
        let set_aside_total = store
            .inbound_counts()
            .await?
            .get("set_aside")
            .copied()
            .unwrap_or(0);
        let cancellations = store.cancellations().await?;
        let cancelled = cancellations
            .iter()
            .map(|c| (c.pair.clone(), c.date, c.person.clone()))
            .collect();
        let unsubscribes = store.unsubscribes().await?;
        // A store a daemon of an older version made has no kept mail yet.
        let (kept, kept_total) = match store.kept_mail(true, KEPT_SHOWN).await {
            Ok(kept) => (kept, store.kept_unhandled().await?),
            Err(e) => {
                tracing::debug!(error = %format!("{e:#}"), "no kept mail in the store yet");
                (Vec::new(), 0)
            }
        };
        self.agendas = agendas;
        self.rsvps = rsvps;
        self.bounces = bounces;
        self.set_aside = set_aside;
        self.set_aside_total = set_aside_total;
        self.cancelled = cancelled;
        self.cancellations = cancellations;
        self.unsubscribes = unsubscribes;
        self.kept = kept;
        self.kept_total = kept_total;
        Ok(())
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub program: String,
    /// Set when the program file is invalid: its errors (file:line:column). The report
    /// then holds only what the store holds (no pairs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program_error: Option<String>,
    /// Times are shown in the program's zone.
    pub now: String,
    pub pairs: Vec<PairLine>,
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub last_sent: Option<String>,
    pub failures: Vec<Failure>,
    pub daemons: Vec<DaemonLine>,
    /// Addresses whose mail bounced (RFC 3464 reports).
    pub bounces: Vec<Bounce>,
    /// Mail mentord could not use, newest first (sender and subject only), and how many
    /// there are in all.
    pub set_aside: Vec<SetAside>,
    pub set_aside_total: i64,
    /// Mail from outside the pairs kept for the coordinator and not yet handled (the
    /// newest), and how many (`mentord inbox`).
    pub kept: Vec<KeptLine>,
    pub kept_total: i64,
    /// Set while mail cannot go (tried, waiting to be tried again): since when, why.
    pub delivery: Option<DeliveryLine>,
    /// The relay's daily budget (`rate = "…/day"`): its size, what the last 24 hours
    /// used, how many due messages wait, and when the next may go if it holds them.
    pub daily_budget: Option<BudgetLine>,
    /// A daemon runs (it holds the SQLite store) but has not beaten within the lease:
    /// it cannot write to the store (a full disk, a read-only file) and sends nothing
    /// until it can. Its log says why.
    pub daemon_cannot_write: bool,
    /// Mail `deliver` handed off and not taken in yet: how many, since when, and
    /// whether a daemon runs to take it in.
    pub mail_waiting: Option<WaitingLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WaitingLine {
    pub count: i64,
    pub since: Option<String>,
    pub daemon: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BudgetLine {
    pub per_day: u32,
    pub used: u64,
    pub waiting: u64,
    /// Set while the budget holds mail back: when the next message may go.
    pub held_until: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PairLine {
    pub pair: String,
    /// The mentor's and the mentee's names.
    pub mentor: String,
    pub mentee: String,
    pub status: &'static str,
    pub next_meeting: Option<String>,
    /// `upcoming`, `nudged` (past due, within two graces), `overdue` (escalated), `off`.
    pub review: &'static str,
    pub review_due: Option<String>,
    pub last_sent: Option<String>,
    pub failures: u64,
    /// Whether the mentee's agenda for the next meeting is in (never what it says).
    pub agenda_in: bool,
    /// Each person's answer to the calendar: for the next meeting where they answered
    /// it, else for the series; `None` before any answer.
    pub mentor_rsvp: Option<String>,
    pub mentee_rsvp: Option<String>,
    /// The pair's addresses that bounce.
    pub bouncing: Vec<String>,
    /// Messages of the pair tried and waiting to be tried again (the mail server down).
    pub retrying: u64,
    /// Who of the pair stopped which kinds of mail, in words.
    pub unsubscribed: Vec<String>,
    /// Meetings someone can't make, newest first, in words (date, who, late or not).
    pub cancelled: Vec<String>,
    /// Each person's latest check-in score (SPEC §7), for the coordinator's eyes: the
    /// page and `status --json` are theirs. Never the comment.
    pub mentor_checkin: Option<CheckinLine>,
    pub mentee_checkin: Option<CheckinLine>,
    /// `good`, `watch` or `at risk` (SPEC §7), and why, in words.
    pub health: &'static str,
    pub health_reasons: Vec<String>,
    /// Why the coordinator should look at this pair (empty when nothing is wrong):
    /// `review overdue`, `review nudged`, `failed mail`, `bouncing`, `declined`, `no
    /// agenda` (a meeting within 48 hours without one).
    pub attention: Vec<&'static str>,
}

/// A person's latest answer to a check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckinLine {
    /// The check-in's date.
    pub on: String,
    /// 1 (very badly) to 5 (very well).
    pub score: u8,
}

/// The pairs in numbers.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub active: usize,
    pub paused: usize,
    pub ended: usize,
    pub reviews_overdue: usize,
    pub attention: usize,
}

impl Report {
    pub fn tally(&self) -> Tally {
        self.pairs.iter().fold(Tally::default(), |mut t, line| {
            match line.status {
                "paused" => t.paused += 1,
                "ended" => t.ended += 1,
                _ => t.active += 1,
            }
            t.reviews_overdue += usize::from(line.review == "overdue");
            t.attention += usize::from(!line.attention.is_empty());
            t
        })
    }
}

#[derive(Debug, Serialize)]
pub struct DaemonLine {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub mail: String,
    pub started: String,
    pub last_heartbeat: String,
    /// Beat within the lease; a dead daemon's claims pass to the others.
    pub alive: bool,
    /// Messages claimed and not yet marked.
    pub holding: u64,
    /// Holds the program lock (reconciling or scheduling right now; PostgreSQL only).
    pub program_lock: bool,
    pub paused_until: Option<String>,
    pub pause_reason: Option<String>,
}

/// The program's standing at `now`. A meeting someone can't make is not the next one:
/// the state's cancellations count whether or not they are on the program
/// ([`Program::set_cancellations`]), so the daemon's page, which shares the program as
/// loaded from the file, shows what `mentord status` shows.
pub fn report(program: &Program, state: StoredState, now: Timestamp) -> Report {
    report_and_record(program, state, now).0
}

/// [`report`], and the record each pair's health came from (over
/// [`crate::report::HEALTH_WINDOW`] before `now`), for the page that shows both.
pub fn report_and_record(
    program: &Program,
    mut state: StoredState,
    now: Timestamp,
) -> (Report, crate::report::Report) {
    let since = now.checked_sub(crate::report::HEALTH_WINDOW).unwrap_or(now);
    let evidence = std::mem::take(&mut state.evidence);
    let record = crate::report::build(program, &evidence, since, now, now);
    let health: HashMap<&str, &crate::report::Health> = record
        .pairs
        .iter()
        .map(|p| (p.pair.as_str(), &p.health))
        .collect();
    let zone = &program.zone.tz;
    let today = zone.to_datetime(now).date();
    let local = |t: Timestamp| {
        t.to_zoned_datetime(zone.clone())
            .strftime("%a %Y-%m-%d %H:%M")
            .to_string()
    };
    let cancelled: HashSet<(&str, Date)> = state
        .cancelled
        .iter()
        .filter(|(_, _, person)| program.person_by_id(person).is_some())
        .map(|(pair, date, _)| (pair.as_str(), *date))
        .collect();
    // Indexed once: 50,000 pairs each scanning every answer and bounce took minutes.
    let mut rsvps: HashMap<&str, Vec<&Rsvp>> = HashMap::new();
    for r in &state.rsvps {
        rsvps.entry(r.pair.as_str()).or_default().push(r);
    }
    let bounces: HashSet<&str> = state.bounces.iter().map(|b| b.address.as_str()).collect();
    let unsubscribed = heard::unsubscribed_by_person(&state.unsubscribes);
    let cancellations = heard::cancellations_by_pair(&state.cancellations);
    let pairs = program
        .pairs
        .iter()
        .map(|pair| {
            let active = pair.status == PairStatus::Active;
            let next = active
                .then(|| {
                    schedule::meetings(program, pair, now, Timestamp::MAX)
                        .find(|(date, _)| !cancelled.contains(&(pair.id.as_str(), *date)))
                })
                .flatten();
            let occurrence = next.map(|(_, start)| start.to_string());
            let answers = rsvps.get(pair.id.as_str()).map_or(&[][..], Vec::as_slice);
            let answer = |person: usize| {
                let id = &program.person(person).id;
                let mine = answers.iter().filter(|r| &r.person == id);
                let for_meeting = mine
                    .clone()
                    .find(|r| Some(&r.occurrence) == occurrence.as_ref());
                for_meeting
                    .map(|r| format!("{} (this meeting)", shown(&r.partstat)))
                    .or_else(|| {
                        mine.clone()
                            .find(|r| r.occurrence.is_empty())
                            .map(|r| format!("{} (series)", shown(&r.partstat)))
                    })
            };
            let bouncing = [pair.mentor, pair.mentee]
                .into_iter()
                .map(|p| program.person(p).email.to_ascii_lowercase())
                .filter(|email| bounces.contains(email.as_str()))
                .map(|email| shown(&email))
                .collect::<Vec<_>>();
            let checkin = |person: usize| {
                let key = (pair.id.clone(), program.person(person).id.clone());
                state.checkins.get(&key).map(|(on, score)| CheckinLine {
                    on: on.to_string(),
                    score: *score,
                })
            };
            let held = state.reviews.get(&pair.id).copied();
            let standing = active
                .then(|| schedule::review_standing(pair, held, today))
                .flatten();
            let (review, due) = match standing {
                Some(ReviewStanding::Upcoming(due)) => ("upcoming", Some(due)),
                Some(ReviewStanding::Nudged(due)) => ("nudged", Some(due)),
                Some(ReviewStanding::Overdue(due)) => ("overdue", Some(due)),
                None => ("off", None),
            };
            let activity = state.activity.get(&pair.id).copied().unwrap_or_default();
            let mentor_rsvp = answer(pair.mentor);
            let mentee_rsvp = answer(pair.mentee);
            let agenda_in =
                occurrence.is_some_and(|o| state.agendas.contains(&(pair.id.clone(), o)));
            let agenda_wanted = next.is_some_and(|(_, start)| {
                !agenda_in && start.duration_since(now) <= AGENDA_WANTED_WITHIN
            });
            let declined = [&mentor_rsvp, &mentee_rsvp]
                .into_iter()
                .flatten()
                .any(|answer| answer.to_ascii_uppercase().starts_with("DECLINED"));
            let attention = [
                (review == "overdue", "review overdue"),
                (review == "nudged", "review nudged"),
                (activity.failed > 0, "failed mail"),
                (!bouncing.is_empty(), "bouncing"),
                (declined, "declined"),
                (agenda_wanted, "no agenda"),
            ]
            .into_iter()
            .filter_map(|(wanted, why)| wanted.then_some(why))
            .collect();
            PairLine {
                pair: pair.id.clone(),
                mentor: shown(&program.person(pair.mentor).name),
                mentee: shown(&program.person(pair.mentee).name),
                status: pair.status.as_str(),
                next_meeting: next.map(|(_, t)| local(t)),
                review,
                review_due: due.map(|d| d.to_string()),
                last_sent: activity.last_sent.map(local),
                failures: activity.failed,
                mentor_rsvp,
                mentee_rsvp,
                agenda_in,
                bouncing,
                mentor_checkin: checkin(pair.mentor),
                mentee_checkin: checkin(pair.mentee),
                health: health
                    .get(pair.id.as_str())
                    .map_or("good", |h| h.level.as_str()),
                health_reasons: health
                    .get(pair.id.as_str())
                    .map(|h| h.reasons.iter().map(|r| shown(r)).collect())
                    .unwrap_or_default(),
                attention,
                retrying: activity.retrying,
                unsubscribed: heard::unsubscribed(program, pair, &unsubscribed),
                cancelled: cancellations
                    .get(pair.id.as_str())
                    .map(|list| heard::cancelled(program, list))
                    .unwrap_or_default(),
            }
        })
        .collect();
    // A bounce stays until the address changes in the file (docs/listening.md): an address
    // nobody in the program has any more is not shown.
    let mut report = assemble(state, now, local, |address| program.has_address(address));
    report.program = shown(&program.name);
    report.pairs = pairs;
    drop(health);
    (report, record)
}

/// What the store holds, without a program: for `status` while the program file is
/// invalid (`error`, with its file:line:column). Times in UTC.
pub fn store_report(state: StoredState, now: Timestamp, error: String) -> Report {
    let local = |t: Timestamp| t.strftime("%a %Y-%m-%d %H:%M UTC").to_string();
    let mut report = assemble(state, now, local, |_| true);
    report.program_error = Some(error);
    report
}

/// The report but for the program's name and its pairs.
fn assemble(
    state: StoredState,
    now: Timestamp,
    local: impl Fn(Timestamp) -> String + Copy,
    bounce_shown_for: impl Fn(&str) -> bool,
) -> Report {
    let summary = state.summary;
    let daemon_cannot_write = state.held && !state.instances.iter().any(|i| i.alive);
    let daily_budget = state.daily_budget.map(|b| BudgetLine {
        per_day: b.daily,
        used: b.used,
        waiting: b.waiting,
        held_until: b.holds().then(|| b.frees_at.map(local)).flatten(),
    });
    let daemon = state.held || state.instances.iter().any(|i| i.alive);
    let mail_waiting = (state.waiting.count > 0).then(|| WaitingLine {
        count: state.waiting.count,
        since: state.waiting.since.map(local),
        daemon,
    });
    Report {
        mail_waiting,
        program_error: None,
        delivery: heard::delivery(summary.retrying.as_ref(), local),
        kept: state.kept.iter().map(|m| heard::kept(m, local)).collect(),
        kept_total: state.kept_total,
        daily_budget,
        daemon_cannot_write,
        program: String::new(),
        now: local(now),
        pairs: Vec::new(),
        pending: summary.pending,
        sent: summary.sent,
        failed: summary.failed,
        last_sent: summary.last_sent.map(local),
        failures: summary.failures.iter().map(failure_shown).collect(),
        bounces: state
            .bounces
            .iter()
            .filter(|b| bounce_shown_for(&b.address))
            .map(bounce_shown)
            .collect(),
        set_aside: state.set_aside.iter().map(set_aside_shown).collect(),
        set_aside_total: state.set_aside_total,
        daemons: state
            .instances
            .into_iter()
            .map(|i| DaemonLine {
                started: local(i.started_at),
                last_heartbeat: local(i.heartbeat_at),
                paused_until: i
                    .paused_until
                    .filter(|&until| i.alive && until > now)
                    .map(local),
                pause_reason: i.pause_reason.filter(|_| i.alive).map(|r| shown(&r)),
                id: shown(&i.id),
                host: shown(&i.host),
                pid: i.pid,
                mail: shown(&i.mail),
                alive: i.alive,
                holding: i.holding,
                program_lock: i.program_lock,
            })
            .collect(),
    }
}

/// A failed delivery as shown: the relay's error and the address came from outside.
fn failure_shown(f: &Failure) -> Failure {
    Failure {
        key: shown(&f.key),
        recipient: shown(&f.recipient),
        error: shown(&f.error),
    }
}

/// A bouncing address as shown: its status came in a delivery report.
fn bounce_shown(b: &Bounce) -> Bounce {
    Bounce {
        address: shown(&b.address),
        status: shown(&b.status),
        last_at: shown(&b.last_at),
        count: b.count,
    }
}

/// A kept mail as shown: anyone can write its sender and subject.
fn set_aside_shown(m: &SetAside) -> SetAside {
    SetAside {
        received_at: shown(&m.received_at),
        sender: shown(&m.sender),
        subject: shown(&m.subject),
        reason: shown(&m.reason),
    }
}
