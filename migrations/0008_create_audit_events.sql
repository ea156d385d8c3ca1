-- The audit trail (SPEC §7): one row per change, written in the same
-- transaction as the change, bound to ids so that it survives renames and tenant
-- deletion (tenants stay as tombstones, so the references hold).
CREATE TABLE audit_events (
    id uuid NOT NULL,
    -- The order written: listings page by it. Writers of one org must take a
    -- per-org lock (e.g. pg_advisory_xact_lock) before inserting, so that `seq`
    -- order is also commit order and a reader never pages past a row that
    -- commits later with a smaller `seq`; the per-org hash chain needs the same.
    seq bigint GENERATED ALWAYS AS IDENTITY,
    org_id uuid NOT NULL REFERENCES orgs (id),
    -- NULL: an org-level event (org created, org keys).
    tenant_id uuid,
    at timestamptz NOT NULL,
    actor_kind text NOT NULL,
    actor_id text NOT NULL,
    action text NOT NULL,
    target_type text NOT NULL,
    target_id uuid NOT NULL,
    request_id text,
    reason text,
    -- [{"field": ..., "from": ..., "to": ...}]
    changes jsonb NOT NULL DEFAULT '[]'::jsonb,
    CONSTRAINT audit_events_pkey PRIMARY KEY (id),
    CONSTRAINT audit_events_seq_unique UNIQUE (seq),
    CONSTRAINT audit_events_tenant_fkey FOREIGN KEY (org_id, tenant_id)
        REFERENCES tenants (org_id, id),
    CONSTRAINT audit_events_changes_is_array CHECK (jsonb_typeof(changes) = 'array')
);

CREATE INDEX audit_events_org_id_seq ON audit_events (org_id, seq);
CREATE INDEX audit_events_org_id_tenant_id_seq ON audit_events (org_id, tenant_id, seq)
    WHERE tenant_id IS NOT NULL;

-- History is not rewritten, not even by the owner: a statement-level trigger
-- refuses every UPDATE, DELETE and TRUNCATE, whether or not row-level security
-- leaves it any row to touch. (An owner can still drop the trigger; the per-org
-- hash chain of SPEC §7 is what makes that detectable.)
CREATE FUNCTION audit_events_refuse_rewrite() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING HINT = 'Record a correction as a new event.';
END
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_rewrite();

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;

-- All in platform scope; the org's in org scope; the tenant's in tenant scope
-- (org-level events have no tenant and stay out of it). No UPDATE or DELETE
-- policy: with none, no row is ever visible to either.
CREATE POLICY audit_events_read ON audit_events FOR SELECT USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR (
        (SELECT current_setting('app.scope', true)) = 'org'
        AND org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
    OR (
        (SELECT current_setting('app.scope', true)) = 'tenant'
        AND org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
        AND tenant_id = (SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid)
    )
);

CREATE POLICY audit_events_append ON audit_events FOR INSERT WITH CHECK (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR (
        (SELECT current_setting('app.scope', true)) = 'org'
        AND org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
    OR (
        (SELECT current_setting('app.scope', true)) = 'tenant'
        AND org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
        AND tenant_id = (SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid)
    )
);

-- Appending and reading only: no UPDATE, DELETE or TRUNCATE.
GRANT SELECT, INSERT ON audit_events TO tenancy_app;
