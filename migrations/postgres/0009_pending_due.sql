-- Claims of mail other than calendar mail take the oldest due first, in the order
-- queued: this index hands them over in that order, where a sort of every due message
-- (tens of thousands on a Monday morning) went with every claim of 64. Entries live
-- only while a message waits.
CREATE INDEX messages_pending_due ON messages (next_attempt_at, queued)
    WHERE state = 'pending';
