-- Fewer index entries per message. An update that changes an indexed column (a claim,
-- a mark) cannot be HOT, so it adds an entry to every index of `messages` whose
-- condition the new version meets: with eight indexes, a message cost about twenty
-- entries between queued and sent, a third of the server's time while a first start
-- sent 100,000 invites. The indexes that only look at messages waiting or in flight
-- (claims, the next attempt, the oldest due for `/metrics`) now hold only those, so a
-- mark as sent adds nothing to them; the reply-token index holds only messages with a
-- token (invites have none). Names stay as they were.
CREATE INDEX messages_by_state_waiting ON messages (state, next_attempt_at)
    WHERE state IN ('pending', 'sending');
DROP INDEX messages_by_state;
ALTER INDEX messages_by_state_waiting RENAME TO messages_by_state;

CREATE INDEX messages_by_state_due_waiting ON messages (state, due_at)
    WHERE state IN ('pending', 'sending');
DROP INDEX messages_by_state_due;
ALTER INDEX messages_by_state_due_waiting RENAME TO messages_by_state_due;

CREATE INDEX messages_by_reply_token_set ON messages (reply_token)
    WHERE reply_token IS NOT NULL;
DROP INDEX messages_by_reply_token;
ALTER INDEX messages_by_reply_token_set RENAME TO messages_by_reply_token;
