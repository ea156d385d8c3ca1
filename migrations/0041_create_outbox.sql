-- The transactional outbox (SPEC §7): the event of each audit record that
-- emits one (domain `Event::of_audit`), inserted by the same statement that
-- appends the record, so an event exists exactly when its change committed.
-- Events are thin: ids, type, actor, target and request id; never a name, a
-- reason or a secret (those stay in the audit record's sealed details).
CREATE TABLE event_outbox (
    -- The id of the audit record it comes from.
    id uuid NOT NULL,
    -- The order written: the feed pages by it. It is assigned under the
    -- audit trail's per-org advisory lock, so within an org `seq` order is
    -- commit order and a reader never pages past a row committed later.
    seq bigint GENERATED ALWAYS AS IDENTITY,
    org_id uuid NOT NULL,
    tenant_id uuid,
    event_type text NOT NULL,
    at timestamptz NOT NULL,
    actor_kind text NOT NULL,
    actor_id text NOT NULL,
    target_type text NOT NULL,
    target_id uuid NOT NULL,
    request_id text,
    -- When the delivery worker turned the event into one message per
    -- subscribed endpoint (0043); NULL: not yet.
    fanned_out_at timestamptz,
    CONSTRAINT event_outbox_pkey PRIMARY KEY (id),
    CONSTRAINT event_outbox_seq_unique UNIQUE (seq),
    CONSTRAINT event_outbox_org_fkey FOREIGN KEY (org_id) REFERENCES orgs (id)
);

-- The feed: an org's events in order, and the types it filters on.
CREATE INDEX event_outbox_org_id_seq ON event_outbox (org_id, seq);
-- The worker's queue: events not yet fanned out, oldest first.
CREATE INDEX event_outbox_pending ON event_outbox (seq) WHERE fanned_out_at IS NULL;

ALTER TABLE event_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE event_outbox FORCE ROW LEVEL SECURITY;

-- Read and append as the audit trail: all in platform scope, the org's in org
-- scope, the tenant's own in tenant scope (a tenant scope appends its own
-- events with its records).
CREATE POLICY event_outbox_read ON event_outbox FOR SELECT USING (
    CASE (SELECT current_setting('app.scope', true))
        WHEN 'platform' THEN true
        WHEN 'org' THEN org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
        WHEN 'tenant' THEN
            org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
            AND tenant_id = (SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid)
        ELSE false
    END
);

CREATE POLICY event_outbox_append ON event_outbox FOR INSERT WITH CHECK (
    CASE (SELECT current_setting('app.scope', true))
        WHEN 'platform' THEN true
        WHEN 'org' THEN org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
        WHEN 'tenant' THEN
            org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
            AND tenant_id = (SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid)
        ELSE false
    END
);

-- Only the delivery worker (platform scope) marks events fanned out.
CREATE POLICY event_outbox_fan_out ON event_outbox FOR UPDATE USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
);

GRANT SELECT, INSERT ON event_outbox TO tenancy_app;
GRANT UPDATE (fanned_out_at) ON event_outbox TO tenancy_app;
