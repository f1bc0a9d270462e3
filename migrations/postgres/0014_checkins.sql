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
    answered_at BIGINT NOT NULL,             -- unix seconds
    via         TEXT NOT NULL,               -- 'link' or 'reply'
    PRIMARY KEY (pair, person, occurrence)
);
CREATE INDEX checkins_by_occurrence ON checkins (occurrence);

-- A reply to a check-in is a new meaning of a mail taken in, 'checkin' (its answer is
-- in `checkins`, never in `inbound.body`).
ALTER TABLE inbound DROP CONSTRAINT inbound_kind_check;
ALTER TABLE inbound ADD CONSTRAINT inbound_kind_check CHECK (kind IN ('agenda', 'action_items', 'rsvp', 'bounce', 'auto_reply', 'unsubscribe', 'set_aside', 'forwarded', 'kept', 'checkin'));
