-- The webhook delivery queue and log (SPEC §7): one message per (event,
-- endpoint), queued when the delivery worker fans an outbox event out to the
-- org's subscribed endpoints, with every attempt kept (time, status, latency,
-- the first KiB of the answer, the error) in `attempts`, oldest first.
--
-- `seq` orders an endpoint's messages: only the pending message with the
-- smallest `seq` of an endpoint is ever claimed, so its next message waits.
-- Fan-out numbers messages in outbox order, holding an advisory lock so that
-- two workers never interleave; a redelivery or a recovery takes a new `seq`
-- (the message goes behind the endpoint's pending ones). Claims lock rows
-- with FOR UPDATE SKIP LOCKED and lease them by moving `next_attempt_at`
-- forward, so several instances never claim one message at once, and one
-- whose worker died is claimed again when the lease ends.
CREATE SEQUENCE webhook_deliveries_seq;

CREATE TABLE webhook_deliveries (
    id uuid NOT NULL,
    seq bigint NOT NULL,
    org_id uuid NOT NULL,
    endpoint_id uuid NOT NULL,
    event_id uuid NOT NULL,
    state text NOT NULL,
    queued_at timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    -- [{"at", "status", "latencyMs", "excerpt", "error"}]
    attempts jsonb NOT NULL DEFAULT '[]'::jsonb,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_event_endpoint_unique UNIQUE (event_id, endpoint_id),
    -- Deleting an endpoint deletes its messages.
    CONSTRAINT webhook_deliveries_endpoint_fkey FOREIGN KEY (endpoint_id)
        REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_event_fkey FOREIGN KEY (event_id) REFERENCES event_outbox (id),
    CONSTRAINT webhook_deliveries_state_known
        CHECK (state IN ('pending', 'delivered', 'gave_up')),
    CONSTRAINT webhook_deliveries_attempts_is_array CHECK (jsonb_typeof(attempts) = 'array')
);

-- The head of each endpoint's queue, and what is due.
CREATE INDEX webhook_deliveries_pending_by_endpoint ON webhook_deliveries (endpoint_id, seq)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_pending_due ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
-- The log of one endpoint, newest first.
CREATE INDEX webhook_deliveries_endpoint_seq ON webhook_deliveries (endpoint_id, seq);

ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;

-- All in platform scope (the worker); the org's own in org scope (its log,
-- redelivery and recovery); none in tenant scope.
CREATE POLICY webhook_deliveries_isolation ON webhook_deliveries USING (
    CASE (SELECT current_setting('app.scope', true))
        WHEN 'platform' THEN true
        WHEN 'org' THEN org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
        ELSE false
    END
);

-- Rows go with their endpoint (the cascade), never one by one.
GRANT SELECT, INSERT, UPDATE ON webhook_deliveries TO tenancy_app;
GRANT USAGE ON SEQUENCE webhook_deliveries_seq TO tenancy_app;
