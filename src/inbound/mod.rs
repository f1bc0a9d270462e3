//! What mentord hears (SPEC §5): replies to its mail, calendar answers, bounces. One
//! pipeline, fed by `mentord deliver` (a mail server's pipe) and the IMAP watcher:
//!
//! ```text
//! bytes ─▶ read (pure: headers, answers, calendar, report, new text) ─▶ intake (match the
//!          message it answers, check the sender, record what it means, once per Message-ID)
//! ```
//!
//! - [`read`] turns a mail into an [`read::Incoming`]; [`body`], [`html`] and [`trim`]
//!   find a reply's new text; [`itip`] reads calendar replies; [`dsn`] delivery reports.
//! - [`token`] makes and finds the reply tokens in `[mail] reply_to` addresses.
//! - [`intake`] decides and records; the daemon then passes agendas on and cancels
//!   declined meetings (see `daemon::inbound`).

pub mod body;
pub mod dsn;
pub mod html;
pub mod imap;
pub mod intake;
pub mod itip;
pub mod read;
pub mod token;
pub mod trim;
pub mod vouch;

pub use intake::{Source, Verdict, take_in};
