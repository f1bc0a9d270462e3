-- When an agenda that came after the mentor's reminder was passed on to the mentor: at
-- most one such mail per meeting per hour (SPEC §5 "Passing an agenda on").
ALTER TABLE inbound ADD COLUMN passed_on_at INTEGER;
