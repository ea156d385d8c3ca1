-- Tenants. A deleted tenant stays as a tombstone that keeps its key, so tenants
-- are never deleted and keys stay unique platform-wide (they are subdomains).
CREATE TABLE tenants (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES orgs (id),
    key text NOT NULL,
    name text NOT NULL,
    plan text NOT NULL,
    region text NOT NULL,
    owner_user_id text,
    owner_email text,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    status text NOT NULL,
    status_changed_at timestamptz NOT NULL,
    status_changed_by_kind text NOT NULL,
    status_changed_by_id text NOT NULL,
    status_reason text,
    retention_ends_at timestamptz,
    spec_digest bytea NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT tenants_key_unique UNIQUE (key),
    -- What the other tables' (org_id, tenant_id) references point at, so that a
    -- row's org is always its tenant's org: the org-scope policies rely on it.
    -- Also the org-scoped inventory's keyset index.
    CONSTRAINT tenants_org_id_id_unique UNIQUE (org_id, id),
    CONSTRAINT tenants_owner_complete CHECK ((owner_user_id IS NULL) = (owner_email IS NULL)),
    CONSTRAINT tenants_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object'),
    CONSTRAINT tenants_status_known CHECK (status IN ('active', 'suspended', 'deactivated', 'deleted')),
    CONSTRAINT tenants_spec_digest_is_sha256 CHECK (octet_length(spec_digest) = 32),
    CONSTRAINT tenants_version_positive CHECK (version > 0)
);

-- The inventory (SPEC §8: a page over 1,000,000 tenants in ≤ 10 ms) pages by
-- keyset. The primary key serves the default order (UUIDv7 ids sort by creation);
-- names sort by byte order, as the domain's `TenantSort` does, whatever the
-- database's collation.
CREATE INDEX tenants_name_id ON tenants (name COLLATE "C", id);
CREATE INDEX tenants_org_id_name_id ON tenants (org_id, name COLLATE "C", id);
CREATE INDEX tenants_status_id ON tenants (status, id);
CREATE INDEX tenants_region_id ON tenants (region, id);
CREATE INDEX tenants_plan_id ON tenants (plan, id);
-- `metadata @> '{"k": "v"}'`.
CREATE INDEX tenants_metadata ON tenants USING gin (metadata jsonb_path_ops);
-- Search: a case-insensitive substring of the name, or a substring of the key
-- (keys are lowercase already).
CREATE INDEX tenants_name_trgm ON tenants USING gin (lower(name) gin_trgm_ops);
CREATE INDEX tenants_key_trgm ON tenants USING gin (key gin_trgm_ops);
-- The retention job: deactivated tenants whose retention has ended, oldest first.
CREATE INDEX tenants_retention_due ON tenants (retention_ends_at, id)
    WHERE status = 'deactivated';

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;

-- All in platform scope; the org's tenants in org scope; the tenant itself in
-- tenant scope. Also the check on written rows (a policy without WITH CHECK
-- uses its USING expression for both).
CREATE POLICY tenants_isolation ON tenants USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR (
        (SELECT current_setting('app.scope', true)) = 'org'
        AND org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
    OR (
        (SELECT current_setting('app.scope', true)) = 'tenant'
        AND org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
        AND id = (SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid)
    )
);

-- No DELETE: deletion leaves a tombstone.
GRANT SELECT, INSERT, UPDATE ON tenants TO tenancy_app;
