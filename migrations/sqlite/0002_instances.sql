-- Which daemon holds which message, and the daemons themselves, so `status` can say
-- who is running, what each holds, and whether sending is paused.
ALTER TABLE messages ADD COLUMN claimed_by TEXT;
ALTER TABLE messages ADD COLUMN claimed_at INTEGER;

CREATE TABLE instances (
    id           TEXT PRIMARY KEY,           -- host:pid:start
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    mail         TEXT NOT NULL,              -- where it sends, without secrets
    started_at   INTEGER NOT NULL,           -- unix seconds, the database's clock
    heartbeat_at INTEGER NOT NULL,           -- unix seconds, the database's clock
    paused_until INTEGER,                    -- the SMTP circuit breaker, when open
    pause_reason TEXT
);
