//! Adapters at the edge: they move bytes between mentord and the world and know nothing
//! of the program's rules.
//!
//! - [`imap`]: the IMAP watcher's protocol side (IDLE, fetch, move), handing each mail
//!   to an [`imap::Intake`] (the daemon's, which calls [`crate::app::intake`]).

pub mod imap;
