-- The coordinator's page shows one pair's history (`GET /pairs/ID`): what was sent to
-- it, newest first. Without this index that read walked every message of the program.
-- pair and due_at never change after a message is queued.
CREATE INDEX messages_by_pair ON messages (pair, due_at);
