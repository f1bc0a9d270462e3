-- Calendar feeds (SPEC §9): how many times series were recorded as sent, counted in the
-- same transaction. A feed remembers the ETags it computed for one count (and one
-- program); while the count stays, a poll with that ETag gets 304 without the series
-- being read or the calendar written again. Any change of a series changes the count.
CREATE TABLE series_changes (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    changes BIGINT NOT NULL
);
INSERT INTO series_changes (id, changes) VALUES (1, 0);
