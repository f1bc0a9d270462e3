-- No dead ends (SPEC §5): mail from outside the pairs is kept whole for the coordinator
-- (`mentord inbox`, the page), and a proven reply of a pair's person that is not an
-- agenda or action items goes on to the other person ('forwarded').

-- Mail from outside the pairs, kept whole (up to 25 MB), once per Message-ID.
CREATE TABLE kept_mail (
    id          BIGSERIAL PRIMARY KEY,
    message_id  TEXT NOT NULL UNIQUE,
    received_at BIGINT NOT NULL,             -- unix seconds
    sender      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    raw         BYTEA NOT NULL,
    handled_at  BIGINT                       -- NULL until the coordinator marks it handled
);
CREATE INDEX kept_mail_unhandled ON kept_mail (handled_at, received_at);

-- Two more meanings of a mail taken in: 'forwarded' (a reply passed on to the other
-- person of the pair) and 'kept' (from outside the pairs: see kept_mail).
ALTER TABLE inbound DROP CONSTRAINT inbound_kind_check;
ALTER TABLE inbound ADD CONSTRAINT inbound_kind_check CHECK (kind IN ('agenda', 'action_items', 'rsvp', 'bounce', 'auto_reply', 'unsubscribe', 'set_aside', 'forwarded', 'kept'));
