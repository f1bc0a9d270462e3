-- Check-ins (SPEC §7): each person's answer to "How is your mentoring going?", one row
-- per (pair, person, check-in date); a later answer to the same check-in replaces the
-- score (and the comment, when it brings one). Private to the coordinator: never in
-- logs, metrics or the pair's mail.
CREATE TABLE checkins (
    pair        TEXT NOT NULL,
    person      TEXT NOT NULL,               -- who answered: the mentor or the mentee
    occurrence  TEXT NOT NULL,               -- the check-in's date, YYYY-MM-DD (its delivery key's occurrence)
    score       INTEGER CHECK (score BETWEEN 1 AND 5),  -- NULL: a comment without a score
    comment     TEXT,
    answered_at INTEGER NOT NULL,            -- unix seconds
    via         TEXT NOT NULL,               -- 'link' or 'reply'
    PRIMARY KEY (pair, person, occurrence)
);
CREATE INDEX checkins_by_occurrence ON checkins (occurrence);

-- A reply to a check-in is a new meaning of a mail taken in, 'checkin' (its answer is
-- in `checkins`, never in `inbound.body`). SQLite cannot change a CHECK in place: the
-- table is copied, as in 0011.
CREATE TABLE inbound_new (
    message_id   TEXT PRIMARY KEY,
    received_at  INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('agenda', 'action_items', 'rsvp', 'bounce', 'auto_reply', 'unsubscribe', 'set_aside', 'forwarded', 'kept', 'checkin')),
    pair         TEXT,
    occurrence   TEXT,
    person       TEXT,
    sender       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    note         TEXT,
    body         TEXT,                       -- an agenda, action items, a reply to forward: for the pair's mail only
    raw          BLOB,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    passed_on_at INTEGER
);
INSERT INTO inbound_new (message_id, received_at, kind, pair, occurrence, person, sender, subject, note, body, raw, state, passed_on_at)
    SELECT message_id, received_at, kind, pair, occurrence, person, sender, subject, note, body, raw, state, passed_on_at FROM inbound;
DROP TABLE inbound;
ALTER TABLE inbound_new RENAME TO inbound;
CREATE INDEX inbound_pending ON inbound (state) WHERE state = 'pending';
CREATE INDEX inbound_by_pair ON inbound (pair, kind);
CREATE INDEX inbound_by_kind ON inbound (kind);
