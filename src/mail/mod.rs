//! Mail: building messages ([`message`]) and, later, delivering them.

pub mod header;
pub mod message;

pub use message::{Calendar, Outgoing, Rendered, ReplyTo, Unsubscribe};
