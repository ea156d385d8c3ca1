-- Namespaces: the isolation units inside a tenant. Purged with their tenant.
CREATE TABLE namespaces (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    org_id uuid NOT NULL,
    key text NOT NULL,
    name text NOT NULL,
    mode text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT namespaces_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT namespaces_tenant_id_key_unique UNIQUE (tenant_id, key),
    CONSTRAINT namespaces_tenant_fkey FOREIGN KEY (org_id, tenant_id)
        REFERENCES tenants (org_id, id),
    CONSTRAINT namespaces_mode_known CHECK (mode IN ('live', 'test')),
    CONSTRAINT namespaces_version_positive CHECK (version > 0)
);

ALTER TABLE namespaces ENABLE ROW LEVEL SECURITY;
ALTER TABLE namespaces FORCE ROW LEVEL SECURITY;

-- All in platform scope; the org's in org scope; the tenant's in tenant scope.
CREATE POLICY namespaces_isolation ON namespaces USING (
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

GRANT SELECT, INSERT, UPDATE, DELETE ON namespaces TO tenancy_app;
