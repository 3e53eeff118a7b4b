-- One event, several destinations: a Stripe-style event goes to every webhook endpoint
-- listening to its type, each with its own attempts and retries. The worker turns the event
-- into one copy per endpoint (`copy_of` the original, `endpoint_id` its destination) and
-- settles the original; merchants know every copy by the original's id. Portable SQL.
ALTER TABLE events ADD COLUMN copy_of TEXT REFERENCES events (id);
ALTER TABLE events ADD COLUMN endpoint_id TEXT;
CREATE INDEX events_by_copy_of ON events (copy_of) WHERE copy_of IS NOT NULL;
