-- The order messages were queued in, so messages due at the same moment go out in the
-- order they were written (a reconcile's pairs in file order, invites before what they
-- announce), as SQLite's rowid already gives.
ALTER TABLE messages ADD COLUMN queued BIGSERIAL;
