-- Namespace API keys (SPEC §3): only the SHA-256 of a key is stored. Org keys
-- live in `org_api_keys`; verification looks a hash up in both, each through
-- its own unique index.
CREATE TABLE api_keys (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    org_id uuid NOT NULL,
    namespace_id uuid NOT NULL,
    hash bytea NOT NULL,
    display text NOT NULL,
    name text NOT NULL,
    mode text NOT NULL,
    role text,
    -- `Scopes::bits()`.
    scopes integer NOT NULL,
    -- NULL: every resource of the namespace.
    resources text[],
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz,
    rotated_from uuid,
    created_at timestamptz NOT NULL,
    created_by_kind text NOT NULL,
    created_by_id text NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT api_keys_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT api_keys_hash_unique UNIQUE (hash),
    CONSTRAINT api_keys_namespace_fkey FOREIGN KEY (tenant_id, namespace_id)
        REFERENCES namespaces (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT api_keys_tenant_fkey FOREIGN KEY (org_id, tenant_id)
        REFERENCES tenants (org_id, id),
    CONSTRAINT api_keys_hash_is_sha256 CHECK (octet_length(hash) = 32),
    CONSTRAINT api_keys_mode_known CHECK (mode IN ('live', 'test')),
    CONSTRAINT api_keys_role_known CHECK (role IN ('admin', 'member')),
    CONSTRAINT api_keys_scopes_are_bits CHECK (scopes BETWEEN 0 AND 65535),
    CONSTRAINT api_keys_version_positive CHECK (version > 0)
);

-- One namespace's keys in id order.
CREATE INDEX api_keys_namespace_id ON api_keys (tenant_id, namespace_id, id);
-- Reads by key id alone (`get_key`, `record_usage`).
CREATE INDEX api_keys_id ON api_keys (id);

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;

-- All in platform scope (verification looks keys up by hash before it knows the
-- tenant); the org's in org scope; the tenant's in tenant scope.
CREATE POLICY api_keys_isolation ON api_keys USING (
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

-- DELETE: a deleted tenant's keys are purged.
GRANT SELECT, INSERT, UPDATE, DELETE ON api_keys TO tenancy_app;
