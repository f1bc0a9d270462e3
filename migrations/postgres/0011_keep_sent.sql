-- `[store] keep_sent`: a sent message's body is set to NULL once it is older than that;
-- its row (key, Message-ID, state, times, recipient) stays for ever. Pruning walks the
-- sent messages in (sent_at, key) order from where it last stopped, so each pass is a
-- small batch and no pass reads what an earlier one handled.
ALTER TABLE messages ALTER COLUMN body DROP NOT NULL;
CREATE TABLE pruned (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    sent_at  BIGINT NOT NULL,
    key      TEXT NOT NULL
);
