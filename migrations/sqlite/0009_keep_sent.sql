-- `[store] keep_sent`: a sent message's body is dropped once it is older than that;
-- its row (key, Message-ID, state, times, recipient) stays for ever. Pruning walks the
-- sent messages in (sent_at, key) order from where it last stopped, so each pass is a
-- small batch and no pass reads what an earlier one handled.
CREATE TABLE pruned (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    sent_at  INTEGER NOT NULL,
    key      TEXT NOT NULL
);
