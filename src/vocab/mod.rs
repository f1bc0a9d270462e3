//! The vocabulary: the words every floor above shares, with nothing of the program's
//! rules and no I/O. The kinds of mail and the key that names each message
//! ([`kind`]); the store's key, which mints Message-IDs, series UIDs and the tokens of
//! reply and `ORGANIZER` addresses ([`token`]); and the signed action links ([`links`]).

pub mod host;
pub mod kind;
pub mod language;
pub mod links;
pub mod token;

pub use kind::{DeliveryKey, MessageKind};
pub use language::Language;
