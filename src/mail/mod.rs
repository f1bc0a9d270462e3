//! Mail: building messages ([`message`]) and, later, delivering them.

pub mod header;
pub mod kind;
pub mod message;

pub use kind::{DeliveryKey, MessageKind};
pub use message::{Calendar, Outgoing, Rendered, ReplyTo, Unsubscribe, message_id};
