//! SQLite's own SQL, where it differs from PostgreSQL's: the claim (one daemon per
//! store, so no locks to skip), written out as plain SQL. The store picks this module
//! or [`super::postgres`] in one place per operation (see `outbox::claim`).

pub(super) mod claim;
