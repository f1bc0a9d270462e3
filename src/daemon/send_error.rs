//! How a send failed, in the words both senders use ([`super::smtp`] and the lanes of
//! [`super::transport`]) and delivery acts on: try again later, or give up. Below both,
//! so neither needs the other for it.

/// Why a send failed, as the caller needs it: try again later, or give up.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("temporary: {0}")]
    Transient(String),
    #[error("permanent: {0}")]
    Permanent(String),
}
