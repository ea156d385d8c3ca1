-- The library (SPEC §4): listings an org publishes, their immutable versions,
-- the grants that decide which orgs' namespaces see them, and installs (a
-- namespace's pin to one version of a listing, no copy).
--
-- A listing is an org-level row of its publisher. Row-level security lets a
-- tenant scope see a listing granted to its org (which namespaces of the org
-- is the application's filter, by namespace key), and a listing version also
-- when the tenant has installed the listing: a pin keeps resolving after its
-- grant is revoked.
CREATE TABLE library_listings (
    org_id uuid NOT NULL REFERENCES orgs (id),
    id uuid NOT NULL,
    key text NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    type text NOT NULL,
    scope text NOT NULL,
    -- The greatest version published.
    latest text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT library_listings_pkey PRIMARY KEY (org_id, id),
    CONSTRAINT library_listings_org_id_key_unique UNIQUE (org_id, key),
    CONSTRAINT library_listings_id_unique UNIQUE (id),
    CONSTRAINT library_listings_scope_known CHECK (scope IN ('org', 'platform')),
    CONSTRAINT library_listings_version_positive CHECK (version > 0)
);

CREATE TABLE library_grants (
    listing_org_id uuid NOT NULL,
    listing_id uuid NOT NULL,
    grantee_org_id uuid NOT NULL REFERENCES orgs (id),
    -- NULL: every namespace of the grantee org.
    namespace_keys text[],
    CONSTRAINT library_grants_pkey PRIMARY KEY (listing_id, grantee_org_id),
    CONSTRAINT library_grants_listing_fkey FOREIGN KEY (listing_org_id, listing_id)
        REFERENCES library_listings (org_id, id)
);

-- What a namespace's library view reads: the grants to its org.
CREATE INDEX library_grants_grantee_org_id ON library_grants (grantee_org_id, listing_id);

CREATE TABLE library_listing_versions (
    listing_org_id uuid NOT NULL,
    listing_id uuid NOT NULL,
    version text NOT NULL,
    -- `json`: the exact canonical text (see `resources.content`).
    content json NOT NULL,
    digest bytea NOT NULL,
    published_at timestamptz NOT NULL,
    published_by_kind text NOT NULL,
    published_by_id text NOT NULL,
    CONSTRAINT library_listing_versions_pkey PRIMARY KEY (listing_id, version),
    CONSTRAINT library_listing_versions_listing_fkey FOREIGN KEY (listing_org_id, listing_id)
        REFERENCES library_listings (org_id, id),
    CONSTRAINT library_listing_versions_digest_is_sha256 CHECK (octet_length(digest) = 32)
);

CREATE TABLE library_installs (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    org_id uuid NOT NULL,
    namespace_id uuid NOT NULL,
    listing_org_id uuid NOT NULL,
    listing_id uuid NOT NULL,
    listing_key text NOT NULL,
    pinned text NOT NULL,
    installed_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT library_installs_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT library_installs_listing_unique UNIQUE (tenant_id, namespace_id, listing_id),
    CONSTRAINT library_installs_listing_key_unique UNIQUE (tenant_id, namespace_id, listing_key),
    CONSTRAINT library_installs_namespace_fkey FOREIGN KEY (tenant_id, namespace_id)
        REFERENCES namespaces (tenant_id, id),
    CONSTRAINT library_installs_listing_fkey FOREIGN KEY (listing_org_id, listing_id)
        REFERENCES library_listings (org_id, id),
    CONSTRAINT library_installs_version_positive CHECK (version > 0)
);

ALTER TABLE library_listings ENABLE ROW LEVEL SECURITY;
ALTER TABLE library_listings FORCE ROW LEVEL SECURITY;
ALTER TABLE library_grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE library_grants FORCE ROW LEVEL SECURITY;
ALTER TABLE library_listing_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE library_listing_versions FORCE ROW LEVEL SECURITY;
ALTER TABLE library_installs ENABLE ROW LEVEL SECURITY;
ALTER TABLE library_installs FORCE ROW LEVEL SECURITY;

-- Listings, their grants and versions are written by their publisher only:
-- one policy for every command in platform and org scope, and a second, for
-- SELECT only, that lets tenant scopes read what is granted to their org. (A
-- permissive policy for all commands with the wider rule would let a tenant
-- scope delete a grant it can see.)
CREATE POLICY library_grants_publisher ON library_grants USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR (
        (SELECT current_setting('app.scope', true)) = 'org'
        AND listing_org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
);
CREATE POLICY library_grants_grantee_read ON library_grants FOR SELECT USING (
    (SELECT current_setting('app.scope', true)) = 'tenant'
    AND grantee_org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
);

CREATE POLICY library_listings_publisher ON library_listings USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR (
        (SELECT current_setting('app.scope', true)) = 'org'
        AND org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
);
CREATE POLICY library_listings_grantee_read ON library_listings FOR SELECT USING (
    (SELECT current_setting('app.scope', true)) = 'tenant'
    AND EXISTS (
        SELECT 1 FROM library_grants g
        WHERE g.listing_id = library_listings.id
          AND g.grantee_org_id
              = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
);

-- Versions: where their listing is visible, and to a tenant that installed it.
CREATE POLICY library_listing_versions_publisher ON library_listing_versions USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR (
        (SELECT current_setting('app.scope', true)) = 'org'
        AND listing_org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
);
CREATE POLICY library_listing_versions_grantee_read ON library_listing_versions FOR SELECT USING (
    (SELECT current_setting('app.scope', true)) = 'tenant'
    AND (
        EXISTS (
            SELECT 1 FROM library_grants g
            WHERE g.listing_id = library_listing_versions.listing_id
              AND g.grantee_org_id
                  = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
        )
        OR EXISTS (
            SELECT 1 FROM library_installs i
            WHERE i.listing_id = library_listing_versions.listing_id
              AND i.tenant_id
                  = (SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid)
        )
    )
);

-- Installs: tenant rows, like namespaces.
CREATE POLICY library_installs_isolation ON library_installs USING (
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

-- Versions are never changed or removed; listings never removed; grants are
-- replaced (DELETE + INSERT); installs are upgraded and purged with their tenant.
GRANT SELECT, INSERT, UPDATE ON library_listings TO tenancy_app;
GRANT SELECT, INSERT, DELETE ON library_grants TO tenancy_app;
GRANT SELECT, INSERT ON library_listing_versions TO tenancy_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON library_installs TO tenancy_app;
