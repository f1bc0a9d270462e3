-- The report, pair health and the digest count, per pair, the meetings answered in a
-- period (agenda, action items) and when each pair was last heard from, in SQL: over a
-- year of 50,000 pairs (1.3 million replies) these read an index, not the table.
CREATE INDEX inbound_replies ON inbound (kind, occurrence, pair);
CREATE INDEX inbound_last_heard ON inbound (pair, received_at);
