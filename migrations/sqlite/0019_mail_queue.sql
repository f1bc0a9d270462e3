-- The hand-off (SPEC §3, §5): `mentord deliver` stores a mail here and exits; the
-- daemon, which holds the program, takes it in (`app::take_in`) in arrival order and
-- writes down what became of it. One waiting row per Message-ID (a mail server's retry
-- of a mail still waiting adds nothing); a mail delivered again after it was taken in
-- waits again and is then "taken in before". A claim (claimed_by, claimed_until) lets
-- one taker at a time have it; one that dies gives it back when its claim runs out.
CREATE TABLE mail_queue (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order
    message_id    TEXT NOT NULL,
    queued_ms     INTEGER NOT NULL,            -- unix milliseconds: the hand-off
    size          INTEGER NOT NULL,            -- the mail's size as it came
    raw           BLOB NOT NULL,               -- whole up to 25 MB; larger, its headers (emptied once taken in)
    claimed_by    TEXT,
    claimed_until INTEGER,                     -- unix milliseconds
    taken_ms      INTEGER,                     -- NULL while it waits
    verdict       TEXT                         -- what became of it (no agenda text)
);
CREATE UNIQUE INDEX mail_queue_waiting_id ON mail_queue (message_id) WHERE taken_ms IS NULL;
CREATE INDEX mail_queue_waiting ON mail_queue (id) WHERE taken_ms IS NULL;
CREATE INDEX mail_queue_taken ON mail_queue (taken_ms) WHERE taken_ms IS NOT NULL;
