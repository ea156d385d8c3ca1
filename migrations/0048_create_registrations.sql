-- Self-service registration (SPEC §5): an org's `registration` settings
-- group, and the registrations waiting for their emailed link to be
-- followed. A row holds the SHA-256 of the link's one-time token, never the
-- token; it is claimed once (`used_at`), and the retention job deletes it
-- once it has expired (24 hours after it was created), used or not. The
-- admin email is personal data: it lives here for a day at most, and in the
-- tenant it becomes the owner of.
ALTER TABLE settings_documents DROP CONSTRAINT settings_documents_group_known;
ALTER TABLE settings_documents ADD CONSTRAINT settings_documents_group_known
    CHECK (grp IN ('general', 'branding', 'security', 'registration'));

CREATE TABLE registrations (
    id uuid NOT NULL,
    org_id uuid NOT NULL,
    name text NOT NULL,
    tenant_key text NOT NULL,
    admin_email text NOT NULL,
    region text NOT NULL,
    plan text NOT NULL,
    token_hash bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    CONSTRAINT registrations_pkey PRIMARY KEY (id),
    CONSTRAINT registrations_org_fkey FOREIGN KEY (org_id) REFERENCES orgs (id),
    -- A confirmation finds its registration by the token's hash alone.
    CONSTRAINT registrations_token_hash_unique UNIQUE (token_hash),
    CONSTRAINT registrations_token_hash_sha256 CHECK (octet_length(token_hash) = 32),
    CONSTRAINT registrations_expires_after_creation CHECK (expires_at > created_at)
);

-- The retention job deletes by expiry, oldest first.
CREATE INDEX registrations_expires_at ON registrations (expires_at);

ALTER TABLE registrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE registrations FORCE ROW LEVEL SECURITY;

-- Org-level rows: the platform and the org; a tenant scope sees none.
CREATE POLICY registrations_isolation ON registrations USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR (
        (SELECT current_setting('app.scope', true)) = 'org'
        AND org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
);

-- UPDATE: a claim and its release; DELETE: the retention job.
GRANT SELECT, INSERT, UPDATE, DELETE ON registrations TO tenancy_app;
