-- mentord's SQLite store. Never edit a migration that has shipped; add a new one.

-- The outbox: every message is written here before it is sent, with its body, so a
-- resend after a crash is the same message with the same Message-ID.
CREATE TABLE messages (
    key             TEXT PRIMARY KEY,        -- kind/pair/occurrence/sequence/recipient
    message_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    pair            TEXT,
    recipient       TEXT NOT NULL,
    due_at          INTEGER NOT NULL,        -- unix seconds
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'dropped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    uid             TEXT,
    method          TEXT,
    sequence        INTEGER,
    body            BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX messages_by_state ON messages (state, next_attempt_at);

-- What each pair's calendar holds: the series as last sent.
CREATE TABLE series (
    pair       TEXT PRIMARY KEY,
    uid        TEXT NOT NULL,
    sequence   INTEGER NOT NULL,
    active     INTEGER NOT NULL,
    series     TEXT NOT NULL,                -- JSON, see store::series
    updated_at INTEGER NOT NULL
);

-- Relationship reviews held.
CREATE TABLE reviews (
    pair        TEXT NOT NULL,
    held_on     TEXT NOT NULL,               -- YYYY-MM-DD
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (pair, held_on)
);

-- How far the schedule has been turned into messages.
CREATE TABLE cursor (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    scheduled_until  INTEGER NOT NULL
);
