-- Webhook endpoints (SPEC §7): where an org's events are pushed. The signing
-- secrets are stored sealed with the org's data key (org_data_keys, 0022),
-- never in clear: `secret` is the current one, `previous_secret` the one it
-- replaced, still signing until `previous_secret_until` (the rotation's grace
-- period). An org-level object: tenant scopes see none.
CREATE TABLE webhook_endpoints (
    id uuid NOT NULL,
    org_id uuid NOT NULL,
    url text NOT NULL,
    description text,
    -- The event types it receives; empty: every type.
    event_types text[] NOT NULL DEFAULT '{}',
    enabled boolean NOT NULL,
    -- Since when deliveries have failed without a success in between; the
    -- delivery worker disables the endpoint after 5 days of it.
    failing_since timestamptz,
    secret bytea NOT NULL,
    previous_secret bytea,
    previous_secret_until timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_endpoints_org_fkey FOREIGN KEY (org_id) REFERENCES orgs (id),
    CONSTRAINT webhook_endpoints_previous_secret_has_an_end
        CHECK ((previous_secret IS NULL) = (previous_secret_until IS NULL)),
    CONSTRAINT webhook_endpoints_version_positive CHECK (version > 0)
);

-- Listing an org's endpoints in id order.
CREATE INDEX webhook_endpoints_org_id_id ON webhook_endpoints (org_id, id);

ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;

-- All in platform scope; the org's own in org scope; none in tenant scope.
CREATE POLICY webhook_endpoints_isolation ON webhook_endpoints USING (
    CASE (SELECT current_setting('app.scope', true))
        WHEN 'platform' THEN true
        WHEN 'org' THEN org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
        ELSE false
    END
);

GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints TO tenancy_app;
