-- No dead ends (SPEC §5): mail from outside the pairs is kept whole for the coordinator
-- (`mentord inbox`, the page), and a proven reply of a pair's person that is not an
-- agenda or action items goes on to the other person ('forwarded').

-- Mail from outside the pairs, kept whole (up to 25 MB), once per Message-ID.
CREATE TABLE kept_mail (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  TEXT NOT NULL UNIQUE,
    received_at INTEGER NOT NULL,            -- unix seconds
    sender      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    raw         BLOB NOT NULL,
    handled_at  INTEGER                      -- NULL until the coordinator marks it handled
);
CREATE INDEX kept_mail_unhandled ON kept_mail (handled_at, received_at);

-- Two more meanings of a mail taken in: 'forwarded' (a reply passed on to the other
-- person of the pair) and 'kept' (from outside the pairs: see kept_mail). SQLite cannot
-- change a CHECK in place: the table is copied.
CREATE TABLE inbound_new (
    message_id   TEXT PRIMARY KEY,
    received_at  INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('agenda', 'action_items', 'rsvp', 'bounce', 'auto_reply', 'unsubscribe', 'set_aside', 'forwarded', 'kept')),
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
