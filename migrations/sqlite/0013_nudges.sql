-- The coordinator's "nudge the pair" from the digest (SPEC §7): asked for, then a
-- check-in sent to both by the daemon, once.
ALTER TABLE flags ADD COLUMN nudge_asked_at INTEGER;
ALTER TABLE flags ADD COLUMN nudged_at INTEGER;
