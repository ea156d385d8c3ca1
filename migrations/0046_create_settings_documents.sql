-- Settings (SPEC §5): one JSON document per owner and group: an org's branding
-- defaults (`tenant_id` NULL), a tenant's `general`, `branding` and `security`
-- groups, a namespace's branding override (`namespace_id` set). The domain
-- validates every field before a document is written (`domain::settings`);
-- `version` serves `If-Match`.
CREATE TABLE settings_documents (
    owner_id uuid NOT NULL,
    grp text NOT NULL,
    org_id uuid NOT NULL,
    tenant_id uuid,
    namespace_id uuid,
    document jsonb NOT NULL,
    version bigint NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT settings_documents_pkey PRIMARY KEY (owner_id, grp),
    CONSTRAINT settings_documents_org_fkey FOREIGN KEY (org_id) REFERENCES orgs (id),
    CONSTRAINT settings_documents_tenant_fkey FOREIGN KEY (org_id, tenant_id)
        REFERENCES tenants (org_id, id),
    CONSTRAINT settings_documents_group_known
        CHECK (grp IN ('general', 'branding', 'security')),
    CONSTRAINT settings_documents_is_object CHECK (jsonb_typeof(document) = 'object'),
    CONSTRAINT settings_documents_owner_consistent CHECK (
        (namespace_id IS NULL OR tenant_id IS NOT NULL)
        AND owner_id = coalesce(namespace_id, tenant_id, org_id)
    ),
    CONSTRAINT settings_documents_version_positive CHECK (version > 0)
);

-- A deleted tenant's documents, its namespaces' included, go by tenant.
CREATE INDEX settings_documents_tenant_id ON settings_documents (tenant_id)
    WHERE tenant_id IS NOT NULL;

ALTER TABLE settings_documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE settings_documents FORCE ROW LEVEL SECURITY;

-- Platform: all. Org: the org's own and its tenants'. Tenant: its own, and
-- its org's defaults to read (the branding it falls back to).
CREATE POLICY settings_documents_read ON settings_documents FOR SELECT USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
        AND (
            (SELECT current_setting('app.scope', true)) = 'org'
            OR (SELECT current_setting('app.scope', true)) = 'tenant'
                AND (tenant_id IS NULL
                    OR tenant_id = (SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid))
        )
);

CREATE POLICY settings_documents_write ON settings_documents FOR ALL USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
        AND (
            (SELECT current_setting('app.scope', true)) = 'org'
            OR (SELECT current_setting('app.scope', true)) = 'tenant'
                AND tenant_id = (SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid)
        )
);

-- DELETE: purged with their tenant.
GRANT SELECT, INSERT, UPDATE, DELETE ON settings_documents TO tenancy_app;
