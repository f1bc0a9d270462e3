-- The coordinator's page shows one pair's history (`GET /pairs/ID`): what was sent to
-- it, newest first. Without this index that read walked every message of the program.
CREATE INDEX messages_by_pair ON messages (pair, due_at);
