//! The program: what a coordinator wrote in `mentord.toml`, validated.
//!
//! [`load`] reads the file through a spanned TOML tree (never serde's first-error-wins
//! path), so it can report every problem with its location. The types (`model`) are the
//! validated result: ids resolved to indexes, defaults merged into each pair, zones
//! loaded, cadences turned into recurrence rules. Nothing downstream sees raw TOML.
//!
//! The floors, from the top: `load` drives the reading; the readers of `[people]`,
//! `[[pairs]]`, `[defaults]` (`settings`) and the program-wide `sections` under it;
//! then `zones`, `reader` (the spanned TOML tree) and, at the bottom, `model`, `values`
//! and `location`. This file only names what the module offers.

mod file;
mod load;
mod location;
mod model;
mod pairs;
mod people;
mod reader;
mod sections;
mod segments;
#[cfg(test)]
mod segments_agree;
mod settings;
mod store_only;
pub(crate) mod values;
mod waking;
mod zones;

pub(crate) use file::MAX_PROGRAM_BYTES;
pub use load::{LoadError, load, parse};
pub use location::Location;
pub(crate) use location::redact;
pub use model::{
    Cancelled, DEFAULT_CONNECTIONS, HttpConfig, InboundConfig, MailConfig, Mailbox, Meeting, Pair,
    Person, PersonIndex, Program, Role, SecretSource, SmtpEndpoint, Status, StoreConfig, Timing,
    Zone,
};
pub(crate) use settings::SHARED_KEYS;
pub use store_only::store_of;
pub use values::{QuietDays, QuietHours, Rate};

/// The example program (`config/mentord.toml`), for unit tests.
#[cfg(test)]
pub(crate) fn example() -> Program {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/mentord.toml"))
        .expect("the example program");
    parse(&text, std::path::Path::new(".")).expect("a valid example")
}
