//! The program-wide sections, one reader each: `[program]`, `[store]`, `[mail]`,
//! `[inbound]` and `[http]`, over what the servers among them say alike (`servers`).

mod http;
mod inbound;
mod mail;
mod program;
mod servers;
mod store;

pub(crate) use http::http;
pub(crate) use inbound::inbound;
pub(crate) use mail::mail;
pub(crate) use program::{ProgramHead, program_head};
pub(crate) use store::{DEFAULT_KEEP_SENT, default_store, store, store_location};

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::mail::smtp_endpoint;
    use super::store::store_location;
    use crate::program::location::Location;
    use crate::program::model::SmtpEndpoint;

    /// The URLs are read once, here; the transport and the store take the parts.
    #[test]
    fn urls_are_read_into_their_parts() {
        let endpoint = |url: &str| smtp_endpoint(url).map_err(|e| e.message);
        assert_eq!(
            endpoint("smtps://mentoring@mail.example.org:465"),
            Ok(SmtpEndpoint {
                implicit_tls: true,
                user: Some("mentoring".into()),
                host: "mail.example.org".into(),
                port: Some(465),
            })
        );
        assert_eq!(
            endpoint("smtp://[::1]:2525"),
            Ok(SmtpEndpoint {
                implicit_tls: false,
                user: None,
                host: "::1".into(),
                port: Some(2525),
            })
        );
        assert_eq!(
            endpoint("smtp://mail.example.org").map(|e| e.port),
            Ok(None)
        );
        assert!(endpoint("smtp://mail.example.org:99999").is_err());
        assert!(endpoint("smtp://user:secret@mail.example.org").is_err());
        assert!(endpoint("http://mail.example.org").is_err());

        let base = Path::new("/srv/mentoring");
        assert_eq!(
            store_location("sqlite://state/mentord.db", base).ok(),
            Some(Location::Sqlite(base.join("state/mentord.db")))
        );
        assert_eq!(
            store_location("sqlite:///var/lib/mentord/mentord.db", base).ok(),
            Some(Location::Sqlite("/var/lib/mentord/mentord.db".into()))
        );
        assert_eq!(
            store_location("postgres://m@db/mentoring", base).ok(),
            Some(Location::Postgres("postgres://m@db/mentoring".into()))
        );
        assert!(store_location("sqlite://", base).is_err());
        assert!(store_location("mysql://db", base).is_err());
    }
}
