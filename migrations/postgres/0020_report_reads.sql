-- A pair's record in one index: what came back from each pair (kind, the meeting it
-- answered, when). The report counts the meetings each pair answered and finds when it
-- was last heard from by reading this index in pair order alone, never the table and
-- never a sort: for a year of 50,000 pairs (1.3 million replies) the last word took
-- 1.2 s (each row's kind read from the table) and each count sorted its rows. It also
-- serves every lookup the three indexes it replaces served (by pair, by pair and kind,
-- by pair, kind and meeting), and each reply taken in updates one index instead of three.
CREATE INDEX inbound_pair_record ON inbound (pair, kind, occurrence, received_at);
DROP INDEX inbound_last_heard;
DROP INDEX inbound_replies;
DROP INDEX inbound_by_pair;

-- Each person's latest scored check-in and the score before it, kept as answers come
-- (`Store::record_checkin`): pair health looks for a low or falling latest score and
-- `status` shows the latest, without reading every answer of the year (1.3 million
-- at 50,000 pairs answering every four weeks). "Latest" is the latest check-in, then
-- the latest answer to it.
CREATE TABLE checkin_latest (
    pair        TEXT NOT NULL,
    person      TEXT NOT NULL,
    occurrence  TEXT NOT NULL,               -- the check-in's date, YYYY-MM-DD
    answered_at BIGINT NOT NULL,             -- unix seconds
    score       INTEGER NOT NULL,
    before      INTEGER,                     -- the score of the check-in before, if any
    PRIMARY KEY (pair, person)
);
INSERT INTO checkin_latest (pair, person, occurrence, answered_at, score, before)
SELECT pair, person, occurrence, answered_at, score, before FROM (
    SELECT pair, person, occurrence, answered_at, score,
           LEAD(score) OVER latest AS before,
           ROW_NUMBER() OVER latest AS rn
    FROM checkins WHERE score IS NOT NULL
    WINDOW latest AS (PARTITION BY pair, person ORDER BY occurrence DESC, answered_at DESC)
) t WHERE rn = 1;

-- The report adds up each pair's scores of a period, and all scores of each month,
-- from these indexes alone.
CREATE INDEX checkins_by_pair ON checkins (pair, answered_at, score);
CREATE INDEX checkins_by_time ON checkins (answered_at, score);
