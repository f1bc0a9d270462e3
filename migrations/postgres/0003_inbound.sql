-- What mentord hears (SPEC §5): replies, calendar answers, bounces, set-aside mail.

-- The token in a message's Reply-To (`[mail] reply_to`), and lookups by Message-ID
-- (In-Reply-To, References) for the mail that answers it.
ALTER TABLE messages ADD COLUMN reply_token TEXT;
CREATE INDEX messages_by_reply_token ON messages (reply_token);
CREATE INDEX messages_by_message_id ON messages (message_id);

-- Keys the store keeps for itself (the one that signs reply tokens), made on first use.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

-- Every mail taken in, once per Message-ID, and what it meant.
CREATE TABLE inbound (
    message_id  TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL,             -- unix seconds
    kind        TEXT NOT NULL CHECK (kind IN ('agenda', 'action_items', 'rsvp', 'bounce', 'auto_reply', 'unsubscribe', 'set_aside')),
    pair        TEXT,
    occurrence  TEXT,                        -- the meeting's start, as in delivery keys
    person      TEXT,                        -- the sender's person id, when known
    sender      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    note        TEXT,                        -- why set aside, the answer, the bounce status: never the text
    body        TEXT,                        -- an agenda or action items: for the pair's mail only
    raw         BYTEA,                        -- set-aside mail from `deliver`, kept for the coordinator
    state       TEXT NOT NULL CHECK (state IN ('pending', 'done'))  -- pending: the daemon has mail to send for it
);
CREATE INDEX inbound_pending ON inbound (state);
CREATE INDEX inbound_by_pair ON inbound (pair, kind);

-- Each attendee's answer to the series ('' occurrence) or to one meeting.
CREATE TABLE rsvps (
    pair        TEXT NOT NULL,
    person      TEXT NOT NULL,
    occurrence  TEXT NOT NULL,
    partstat    TEXT NOT NULL,
    answered_at BIGINT NOT NULL,
    PRIMARY KEY (pair, person, occurrence)
);

-- Addresses whose mail bounced (RFC 3464 reports).
CREATE TABLE bounces (
    address  TEXT PRIMARY KEY,               -- lower case
    status   TEXT NOT NULL,                  -- e.g. "5.1.1 user unknown"
    first_at BIGINT NOT NULL,
    last_at  BIGINT NOT NULL,
    count    BIGINT NOT NULL
);

-- Meetings someone can't make (a declined meeting, or the "can't make it" link): never
-- held, never invited again.
CREATE TABLE cancellations (
    pair         TEXT NOT NULL,
    date         TEXT NOT NULL,              -- YYYY-MM-DD in the meeting's zone
    occurrence   TEXT NOT NULL,              -- the meeting's start, as in delivery keys
    person       TEXT NOT NULL,              -- who can't make it
    cancelled_at BIGINT NOT NULL,
    late         BIGINT NOT NULL,           -- inside cancel_notice: the digest lists it
    PRIMARY KEY (pair, date)
);

-- Where the IMAP watcher is in each folder.
CREATE TABLE imap_cursor (
    folder       TEXT PRIMARY KEY,
    uid_validity BIGINT NOT NULL,
    last_uid     BIGINT NOT NULL
);

-- Work one daemon does at a time (the IMAP watcher), held by a lease.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
