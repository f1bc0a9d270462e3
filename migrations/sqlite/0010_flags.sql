-- The pairs the coordinator's digest lists (SPEC §7): what each was flagged for at the
-- last digest, since when (new ones come first), and what the coordinator said: snoozed
-- (out of the digest until then, unless it gets worse) or handled (out until its
-- reasons change). A pair that is well again loses its row.
CREATE TABLE flags (
    pair            TEXT PRIMARY KEY,
    level           TEXT NOT NULL,
    reasons         TEXT NOT NULL,
    first_at        INTEGER NOT NULL,
    snoozed_until   INTEGER,
    snoozed_level   TEXT,
    handled_reasons TEXT
);
