-- Calendar mail (invites, updates, cancels) is claimed before other due mail, so a
-- relay's daily budget and a backlog after downtime put the calendar first: the due
-- calendar rows are read from this index without scanning the rest of the queue.
CREATE INDEX messages_calendar_due ON messages (next_attempt_at, queued) WHERE state = 'pending' AND method IS NOT NULL;
