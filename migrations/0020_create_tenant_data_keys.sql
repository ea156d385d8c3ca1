-- Per-tenant data keys (SPEC §9): each tenant's data key, wrapped by the KMS's
-- key-encryption key (the `WrappedKey::to_bytes` envelope). Written with the
-- tenant in the provisioning transaction and deleted with its tombstone, which
-- is crypto-shredding: without this row the tenant's sealed secrets cannot be
-- opened again, by anyone. `kek_id` and `kek_version` repeat the envelope's
-- header so the rewrap after a rotation can see which keys are behind.
CREATE TABLE tenant_data_keys (
    tenant_id uuid NOT NULL,
    org_id uuid NOT NULL,
    wrapped bytea NOT NULL,
    kek_id text NOT NULL,
    kek_version integer NOT NULL,
    CONSTRAINT tenant_data_keys_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT tenant_data_keys_tenant_fkey FOREIGN KEY (org_id, tenant_id)
        REFERENCES tenants (org_id, id),
    CONSTRAINT tenant_data_keys_version_positive CHECK (kek_version > 0)
);

ALTER TABLE tenant_data_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_data_keys FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_data_keys_isolation ON tenant_data_keys USING (
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

-- UPDATE: rewrapped after a KEK rotation; DELETE: destroyed with the tenant.
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_data_keys TO tenancy_app;
