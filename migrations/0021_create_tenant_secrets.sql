-- Tenant secrets (SPEC §9): integration credentials, stored only sealed with
-- the tenant's data key (AES-256-GCM; nonce, ciphertext and tag in `sealed`),
-- the tenant id and the name bound in as associated data. No column holds a
-- value, a hint of one, or its length.
CREATE TABLE tenant_secrets (
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    id uuid NOT NULL,
    org_id uuid NOT NULL,
    sealed bytea NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by_kind text NOT NULL,
    updated_by_id text NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT tenant_secrets_pkey PRIMARY KEY (tenant_id, name),
    CONSTRAINT tenant_secrets_data_key_fkey FOREIGN KEY (tenant_id)
        REFERENCES tenant_data_keys (tenant_id),
    CONSTRAINT tenant_secrets_tenant_fkey FOREIGN KEY (org_id, tenant_id)
        REFERENCES tenants (org_id, id),
    CONSTRAINT tenant_secrets_sealed_has_nonce_and_tag CHECK (octet_length(sealed) >= 28),
    CONSTRAINT tenant_secrets_version_positive CHECK (version > 0)
);

ALTER TABLE tenant_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_secrets FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_secrets_isolation ON tenant_secrets USING (
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

-- DELETE: a secret is deleted, or purged with its tenant.
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_secrets TO tenancy_app;
