-- What `/metrics` counts on every scrape (SPEC §6), read from indexes so a scrape stays
-- cheap with millions of messages: messages by state and kind (and whether tried
-- before), the oldest due message still waiting, the last one sent; mail taken in by kind.
CREATE INDEX messages_by_state_kind ON messages (state, kind, attempts);
CREATE INDEX messages_by_state_due ON messages (state, due_at);
CREATE INDEX messages_by_sent_at ON messages (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX inbound_by_kind ON inbound (kind);
