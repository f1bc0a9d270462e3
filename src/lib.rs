//! mentord runs a mentoring program on autopilot.
//!
//! The flow, one way:
//!
//! ```text
//! mentord.toml ─▶ program (parse, then validate) ─▶ schedule (pure: program × window → actions)
//!                                                     │            reconcile (file × sent → calendar changes)
//!          store (SQLite) ◀──▶ daemon (queue, deliver) ◀─ compose (ics + templates → messages)
//!                                                     │
//!                      cli: check | plan | simulate | run | status | review
//! ```
//!
//! - [`program`] reads the file into validated types, reporting every error with its
//!   file, line and column ([`diagnostic`]).
//! - [`recurrence`] and [`cron`] expand cadences; [`schedule`] turns a program and a
//!   window of time into time-ordered actions. Both are pure: they take `now` (or a
//!   window) as a value and never read the clock.
//! - [`cli`] holds one small module per command; `main` only turns its result into an
//!   exit code.

pub mod cli;
pub mod clock;
pub mod compose;
pub mod cron;
pub mod daemon;
pub mod diagnostic;
pub mod ics;
pub mod mail;
pub mod program;
pub mod reconcile;
pub mod recurrence;
pub mod render;
pub mod schedule;
pub mod status;
pub mod store;
