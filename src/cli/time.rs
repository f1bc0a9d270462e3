//! The command line's date and time arguments, read as [`crate::clock`] reads
//! `MENTORD_NOW`.

pub use crate::clock::{now, parse_date_start, parse_instant, start_of};
