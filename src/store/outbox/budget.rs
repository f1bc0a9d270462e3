//! A relay's daily budget (`rate = "…/day"`): what the last 24 hours used, with the
//! claims in flight, and when a place frees.

use jiff::Timestamp;

use sqlx::{Postgres, Sqlite};

use crate::store::{Pool, Store, instant, on, seconds};

/// A rolling day's budget: how much of it is used, and when a place frees (`None`
/// when there is room, or only claims in flight fill it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub daily: u32,
    pub used: u64,
    pub until: Option<Timestamp>,
}

/// A relay's daily budget, for people: its size, what the last 24 hours used (with
/// the claims in flight), how many due messages wait, and when a place frees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DailyBudget {
    pub daily: u32,
    pub used: u64,
    pub waiting: u64,
    #[serde(skip)]
    pub frees_at: Option<Timestamp>,
}

impl DailyBudget {
    /// Whether the budget holds mail back now.
    pub fn holds(&self) -> bool {
        self.used >= u64::from(self.daily) && self.waiting > 0
    }

    /// "350 messages wait; the next goes at Tue 2 Dec 09:14 Europe/Berlin", when it holds mail.
    pub fn held_words(&self, zone: &jiff::tz::TimeZone) -> Option<String> {
        if !self.holds() {
            return None;
        }
        let when = self.frees_at.map_or_else(
            || "once the messages in flight are done".to_string(),
            |at| {
                format!(
                    "the next goes at {}",
                    at.to_zoned_datetime(zone.clone())
                        .strftime("%a %-d %b %H:%M %Q")
                )
            },
        );
        Some(format!(
            "{} a day, all used in the last 24 hours; {} message(s) wait, {when}",
            self.daily, self.waiting
        ))
    }
}

/// Messages that count against a daily budget at `$1` (a day ago): sent since, and
/// claimed now.
const DAILY_USE: &str = "SELECT \
     (SELECT COUNT(*) FROM messages WHERE sent_at > $1) + \
     (SELECT COUNT(*) FROM messages WHERE state = 'sending')";

/// When the budget frees a place: a day after the send `$2` places from the oldest of
/// the day.
const DAILY_FREES: &str = "SELECT sent_at FROM messages WHERE sent_at > $1 \
     ORDER BY sent_at LIMIT 1 OFFSET $2";

/// One day, the window of `rate = "…/day"`.
pub(crate) const DAY: i64 = 86_400;

/// A daily budget of `daily` as it stands a day after `day_ago`, read on `conn` (a
/// connection, or a transaction that holds the budget's lock): what it used, and, when
/// nothing is left, when the send that stands in the way turns a day old. The same
/// SQL in both dialects, so one function for both.
pub(crate) async fn budget_use<DB>(
    conn: &mut DB::Connection,
    daily: u32,
    day_ago: i64,
) -> anyhow::Result<Held>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    (i64,): for<'r> sqlx::FromRow<'r, DB::Row>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    let used: i64 = sqlx::query_scalar::<DB, i64>(DAILY_USE)
        .bind(day_ago)
        .fetch_one(&mut *conn)
        .await?;
    let over = used - i64::from(daily);
    let until = if over >= 0 {
        sqlx::query_scalar::<DB, i64>(DAILY_FREES)
            .bind(day_ago)
            .bind(over)
            .fetch_optional(&mut *conn)
            .await?
            .map(|sent| instant(sent + DAY))
    } else {
        None
    };
    Ok(Held {
        daily,
        used: used.max(0) as u64,
        until,
    })
}

/// How many a claim may take within a daily budget (`used`, when there is one), and
/// the budget when it holds mail back.
#[derive(Debug)]
pub(crate) struct Room {
    pub(crate) limit: i64,
    pub(crate) held: Option<Held>,
}

impl Room {
    pub(crate) fn within(limit: u32, used: Option<Held>) -> Room {
        let mut room = Room {
            limit: i64::from(limit),
            held: None,
        };
        if let Some(used) = used {
            let left = i64::from(used.daily) - used.used as i64;
            if left <= 0 {
                room.held = Some(used);
            }
            room.limit = room.limit.min(left.max(0));
        }
        room
    }
}

impl Store {
    /// How much of a rolling day's budget of `daily` is used at `now`, and when a place
    /// frees if none is left: for `status` and the digest.
    pub async fn daily_use(&self, daily: u32, now: Timestamp) -> anyhow::Result<Held> {
        let day_ago = seconds(now) - DAY;
        match &self.pool() {
            Pool::Sqlite { pool, .. } => {
                budget_use::<Sqlite>(&mut *pool.acquire().await?, daily, day_ago).await
            }
            Pool::Postgres(pool) => {
                budget_use::<Postgres>(&mut *pool.acquire().await?, daily, day_ago).await
            }
        }
    }

    /// A rolling day's budget as `status` and the digest tell it: [`Store::daily_use`]
    /// and how many due messages wait.
    pub async fn daily_budget(&self, daily: u32, now: Timestamp) -> anyhow::Result<DailyBudget> {
        let use_ = self.daily_use(daily, now).await?;
        let waiting: i64 = on!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages WHERE state = 'pending' AND next_attempt_at <= $1"
        )
        .bind(seconds(now))
        .fetch_one(pool)
        .await?);
        Ok(DailyBudget {
            daily,
            used: use_.used,
            waiting: waiting.max(0) as u64,
            frees_at: use_.until,
        })
    }
}
