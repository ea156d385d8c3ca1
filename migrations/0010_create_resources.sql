-- Namespace resources (SPEC §4): versioned documents such as blueprints. Each
-- row is one version, never changed once written except for the `latest` flag,
-- which marks the greatest version of its key (versions only ever grow, so the
-- newest row is always the greatest). Forks carry their provenance. Purged with
-- their tenant.
CREATE TABLE resources (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    org_id uuid NOT NULL,
    namespace_id uuid NOT NULL,
    key text NOT NULL,
    type text NOT NULL,
    version text NOT NULL,
    latest boolean NOT NULL,
    -- `json`, not `jsonb`: the text is kept exactly as the API canonicalized it,
    -- so reading a version back gives the bytes its digest was taken over.
    content json NOT NULL,
    digest bytea NOT NULL,
    provenance_org_id uuid,
    provenance_listing_id uuid,
    provenance_listing_key text,
    provenance_version text,
    created_at timestamptz NOT NULL,
    created_by_kind text NOT NULL,
    created_by_id text NOT NULL,
    CONSTRAINT resources_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT resources_version_unique UNIQUE (tenant_id, namespace_id, key, version),
    CONSTRAINT resources_namespace_fkey FOREIGN KEY (tenant_id, namespace_id)
        REFERENCES namespaces (tenant_id, id),
    CONSTRAINT resources_digest_is_sha256 CHECK (octet_length(digest) = 32),
    CONSTRAINT resources_provenance_whole CHECK (
        (provenance_listing_id IS NULL) = (provenance_org_id IS NULL)
        AND (provenance_listing_id IS NULL) = (provenance_listing_key IS NULL)
        AND (provenance_listing_id IS NULL) = (provenance_version IS NULL)
    )
);

-- One latest version per key; the namespace's list walks it in key order.
CREATE UNIQUE INDEX resources_latest ON resources (tenant_id, namespace_id, key)
    WHERE latest;

ALTER TABLE resources ENABLE ROW LEVEL SECURITY;
ALTER TABLE resources FORCE ROW LEVEL SECURITY;

-- All in platform scope; the org's in org scope; the tenant's in tenant scope.
CREATE POLICY resources_isolation ON resources USING (
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

-- UPDATE: the `latest` flag only; DELETE: the purge of a deleted tenant.
GRANT SELECT, INSERT, UPDATE, DELETE ON resources TO tenancy_app;
