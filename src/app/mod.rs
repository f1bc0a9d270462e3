//! The application: each thing a person can do to the program, decided once — who may,
//! how often, what changes — whatever door it came in by.
//!
//! ```text
//! mail in (deliver, IMAP) ─▶ inbound (pure reading) ─▶ intake ─┐
//! action links (HTTP POST) ─────────────────────────────────────┼─▶ meeting, replies,
//! the command line (review done) ───────────────────────────────┘   review, checkin,
//!                                                                   unsubscribe ─▶ store
//! ```
//!
//! - [`intake`]: one mail in — what it answers, whether its sender proves who they are
//!   (docs/security.md), what it means — recorded once per Message-ID.
//! - [`handoff`]: mail `deliver` stored in the store's queue, taken in by the daemon
//!   (or `mentord intake`) through [`intake`], its verdict written down and logged.
//! - [`meeting`]: someone can't make a meeting (a calendar decline, the link).
//! - [`replies`]: an agenda or action items (a reply, the form).
//! - [`forward`]: any other proven reply of a pair's person, passed on to the other
//!   person (at most a few an hour).
//! - [`review`]: a pair held its relationship review (the command, the link).
//! - [`checkin`]: a person answers a check-in (a reply, the links); for the coordinator.
//! - [`unsubscribe`]: a person stops an optional kind of mail (the mail, the link).
//! - [`kept`]: the coordinator marks a mail from outside the pairs handled (the
//!   command, the page).
//! - [`live`]: the program as last loaded and the daemon's wake-ups, shared by the
//!   parts of `mentord run`.
//!
//! How often an agenda may go on to the mentor is the daemon's to apply when it sends
//! (`daemon::planner::inbound`): every door only records, so none can flood anyone.

pub mod checkin;
pub mod exceptions;
pub mod forward;
pub mod handoff;
pub mod intake;
pub mod kept;
pub mod live;
pub mod meeting;
pub mod replies;
pub mod review;
pub mod unsubscribe;

pub use intake::{Source, Verdict, take_in};
