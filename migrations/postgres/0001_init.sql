-- mentord's PostgreSQL store: the same tables as the SQLite one (see
-- migrations/sqlite), for several daemons running one program. Never edit a migration
-- that has shipped; add a new one. Times are unix seconds (BIGINT), as in SQLite.

-- The outbox: every message is written here before it is sent, with its body, so a
-- resend after a crash is the same message with the same Message-ID. A daemon claims
-- a message by setting `sending` and `claimed_by`; a claim whose daemon stopped
-- beating (see `instances`) is taken over.
CREATE TABLE messages (
    key             TEXT PRIMARY KEY,        -- kind/pair/occurrence/sequence/recipient
    message_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    pair            TEXT,
    recipient       TEXT NOT NULL,
    due_at          BIGINT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'dropped')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    uid             TEXT,
    method          TEXT,
    sequence        BIGINT,
    body            BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    claimed_by      TEXT,
    claimed_at      BIGINT
);
CREATE INDEX messages_by_state ON messages (state, next_attempt_at);

-- What each pair's calendar holds: the series as last sent.
CREATE TABLE series (
    pair       TEXT PRIMARY KEY,
    uid        TEXT NOT NULL,
    sequence   BIGINT NOT NULL,
    active     BIGINT NOT NULL,
    series     TEXT NOT NULL,                -- JSON, see store::series
    updated_at BIGINT NOT NULL
);

-- Relationship reviews held.
CREATE TABLE reviews (
    pair        TEXT NOT NULL,
    held_on     TEXT NOT NULL,               -- YYYY-MM-DD
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (pair, held_on)
);

-- How far the schedule has been turned into messages.
CREATE TABLE cursor (
    id               BIGINT PRIMARY KEY CHECK (id = 1),
    scheduled_until  BIGINT NOT NULL
);

-- The daemons: each beats every few seconds on the database's clock; one that has not
-- beaten for a lease is dead, and its claims are taken over.
CREATE TABLE instances (
    id           TEXT PRIMARY KEY,           -- host:pid:start
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    mail         TEXT NOT NULL,              -- where it sends, without secrets
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    paused_until BIGINT,                     -- the SMTP circuit breaker, when open
    pause_reason TEXT
);
