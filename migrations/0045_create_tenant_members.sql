-- A tenant's members (SPEC §5): references into the SaaS builder's identity
-- system with a role (`admin` or `member`); the owner is the tenant's own
-- `owner_user_id`, never a row here. Emails are personal data: the rows go
-- when the tenant is deleted.
CREATE TABLE tenant_members (
    tenant_id uuid NOT NULL,
    user_id text NOT NULL,
    id uuid NOT NULL,
    org_id uuid NOT NULL,
    email text NOT NULL,
    role text NOT NULL,
    invited_at timestamptz NOT NULL,
    joined_at timestamptz,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL,
    -- One row per user per tenant, and a tenant's rows in user id order.
    CONSTRAINT tenant_members_pkey PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT tenant_members_id_unique UNIQUE (id),
    CONSTRAINT tenant_members_tenant_fkey FOREIGN KEY (org_id, tenant_id)
        REFERENCES tenants (org_id, id),
    CONSTRAINT tenant_members_role_known CHECK (role IN ('admin', 'member')),
    CONSTRAINT tenant_members_version_positive CHECK (version > 0)
);

ALTER TABLE tenant_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_members FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_members_isolation ON tenant_members USING (
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

-- DELETE: a member is removed, promoted to owner, or purged with its tenant.
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_members TO tenancy_app;
