//! Reading what mentord hears (docs/listening.md): replies to its mail, calendar answers, bounces.
//! Pure: bytes in, facts out; no store, no clock. What a mail means and what it changes
//! is decided by [`crate::app::intake`].
//!
//! ```text
//! bytes ─▶ read (headers, answers, calendar, report, new text) ─▶ app::intake
//! ```
//!
//! - [`read`] turns a mail into an [`read::Incoming`]; [`body`], [`html`] and [`trim`]
//!   find a reply's new text; [`itip`] reads calendar replies; [`dsn`] delivery reports.
//! - [`whole`] reads a kept mail for the coordinator (headers, text, attachments).
//! - [`vouch`] reads the receiving server's `Authentication-Results`. The tokens of reply
//!   and ORGANIZER addresses are the vocabulary's ([`crate::vocab::token`]).

pub mod body;
pub mod dsn;
pub mod html;
pub mod itip;
pub mod read;
pub mod trim;
pub mod vouch;
pub mod whole;
