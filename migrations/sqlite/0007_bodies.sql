-- A message's body in a table of its own. SQLite writes a changed row whole: with the
-- body in it, a claim and a mark each wrote the message's 8 KB again (to the log, and
-- again at the checkpoint), and that was most of what a daemon wrote while sending.
-- A claim now reads the body; only queueing writes it. The rows left in `messages`
-- are small, so scans for `status` and `/metrics` read a few pages, not every body.
CREATE TABLE bodies (
    key  TEXT PRIMARY KEY REFERENCES messages (key) ON DELETE CASCADE,
    body BLOB NOT NULL
);
INSERT INTO bodies (key, body) SELECT key, body FROM messages;
ALTER TABLE messages DROP COLUMN body;
