//! PostgreSQL's own SQL, where it differs from SQLite's: the claim (several daemons
//! share the store: rows another is claiming are skipped, a silent daemon's claims
//! taken over, a daily budget counted under a lock), written out as plain SQL. The
//! store picks this module or [`super::sqlite`] in one place per operation (see
//! `outbox::claim`).

pub(super) mod claim;
