//! mentord runs a mentoring program on autopilot.
//!
//! The flow, one way:
//!
//! ```text
//! mentord.toml ─▶ program (parse, then validate) ─▶ schedule (pure: program × window → actions)
//!                                                     │            reconcile (file × sent → calendar changes)
//!                                                     ▼
//!                     compose (ics + render → one message per recipient, keyed by DeliveryKey)
//!                                                     │
//!   store (SQLite | PostgreSQL | memory) ◀──▶ daemon (tick: reconcile, queue, claim, send, mark)
//!                                                     │
//!                     transport (files | SMTP | a simulation's recorder)
//!
//!   mail in (deliver | io::imap) ─▶ inbound (read: pure) ─▶ app (intake, use cases) ─▶ store
//!   HTTP ─▶ serve (health, metrics, the coordinator's page; action links ─▶ app) ─▶ store
//!
//!   daemon::run = loop { tick; sleep until next or woken } on a Clock (system or virtual)
//!   cli: check | plan | simulate | run | status | review | retry | deliver | import  (thin wrappers)
//! ```
//!
//! - [`program`] reads the file into validated types, reporting every error with its
//!   file, line and column ([`diagnostic`]).
//! - [`recurrence`] and [`cron`] expand cadences; [`schedule`] turns a program and a
//!   window of time into time-ordered actions. Both are pure: they take `now` (or a
//!   window) as a value and never read the clock; [`clock`] is the one seam that does.
//! - [`compose`] turns changes and actions into [`mail::Outgoing`] messages, each named
//!   by a [`mail::DeliveryKey`] of a [`mail::MessageKind`].
//! - [`daemon`] is the one daemon: `mentord run` drives [`daemon::run`] on the system
//!   clock over a real store and transport ([`daemon::service`]); `simulate` drives the
//!   same loop on a virtual clock over a store in memory and a recording transport.
//! - [`inbound`] reads what comes back (replies, calendar answers, bounces), purely;
//!   [`app`] decides once, for every door (mail, links, the command line), who may do
//!   what and what it changes; the daemon acts on it (cancels declined meetings, passes
//!   agendas on). [`io`] holds adapters (the IMAP watcher).
//! - [`serve`] is the HTTP side of `mentord run`: health, metrics, the coordinator's page
//!   and the signed action links in mail.
//! - [`status`] computes where the program stands, once, for every place that shows it.
//! - [`import`] turns spreadsheet exports into people and pairs, checked by [`program`]'s
//!   own loader.
//! - [`cli`] holds one small module per command; `main` only turns its result into an
//!   exit code.

pub mod app;
pub mod cli;
pub mod clock;
pub mod compose;
pub mod cron;
pub mod daemon;
pub mod diagnostic;
pub mod ics;
pub mod import;
pub mod inbound;
pub(crate) mod inert;
pub mod io;
pub mod mail;
pub mod program;
pub mod reconcile;
pub mod recurrence;
pub mod render;
pub mod report;
pub mod schedule;
pub mod serve;
pub mod status;
pub mod store;
pub mod vocab;
