//! Mail: building messages ([`message`]) and, later, delivering them.

pub mod message;

pub use message::{Calendar, Outgoing, message_id};
