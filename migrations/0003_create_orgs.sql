-- Orgs: the SaaS builders. Never deleted.
CREATE TABLE orgs (
    id uuid PRIMARY KEY,
    key text NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT orgs_key_unique UNIQUE (key),
    CONSTRAINT orgs_version_positive CHECK (version > 0)
);

-- Row-level security (SPEC §9). Every store call runs in one transaction that
-- first sets, with set_config(..., true), `app.scope` (platform | org | tenant)
-- and the ids `app.current_org_id` and `app.current_tenant_id`. A setting that
-- is missing or empty matches nothing: no scope, no rows. Each setting sits in a
-- `(SELECT ...)` so that it is read once per statement, not once per row.
-- FORCE makes the owner subject to the policies too (a superuser never is).
ALTER TABLE orgs ENABLE ROW LEVEL SECURITY;
ALTER TABLE orgs FORCE ROW LEVEL SECURITY;

-- Read: all in platform scope; in org and tenant scope, the scope's own org.
CREATE POLICY orgs_read ON orgs FOR SELECT USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR (
        (SELECT current_setting('app.scope', true)) IN ('org', 'tenant')
        AND id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
);

-- Create: platform scope only.
CREATE POLICY orgs_insert ON orgs FOR INSERT WITH CHECK (
    (SELECT current_setting('app.scope', true)) = 'platform'
);

-- Change: platform scope, or the org's own row in org scope.
CREATE POLICY orgs_update ON orgs FOR UPDATE USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR (
        (SELECT current_setting('app.scope', true)) = 'org'
        AND id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
);

GRANT SELECT, INSERT, UPDATE ON orgs TO tenancy_app;
