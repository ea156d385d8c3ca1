-- Custom domains (SPEC §5): at most one per tenant (the primary key), each
-- name held by one tenant at most (a unique index, whatever its status),
-- verified by a TXT record holding `token` (`domain::custom_domain`). The
-- domain validates every value before a row is written. The rows go when
-- the tenant is deleted.
CREATE TABLE custom_domains (
    tenant_id uuid NOT NULL,
    org_id uuid NOT NULL,
    domain text NOT NULL,
    token text NOT NULL,
    status text NOT NULL,
    started_at timestamptz NOT NULL,
    last_checked_at timestamptz,
    last_reason text,
    next_check_at timestamptz,
    verified_at timestamptz,
    checks integer NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT custom_domains_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT custom_domains_tenant_fkey FOREIGN KEY (org_id, tenant_id)
        REFERENCES tenants (org_id, id),
    CONSTRAINT custom_domains_status_known
        CHECK (status IN ('pending', 'verified', 'failed')),
    CONSTRAINT custom_domains_reason_known CHECK (last_reason IS NULL OR last_reason IN
        ('no_record', 'wrong_value', 'nxdomain', 'servfail', 'timeout')),
    -- Only a pending domain is checked again; a verified one has its time.
    CONSTRAINT custom_domains_next_check_pending
        CHECK ((next_check_at IS NOT NULL) = (status = 'pending')),
    CONSTRAINT custom_domains_verified_at
        CHECK (status <> 'verified' OR verified_at IS NOT NULL),
    CONSTRAINT custom_domains_name_lowercase CHECK (domain = lower(domain)),
    CONSTRAINT custom_domains_checks_non_negative CHECK (checks >= 0),
    CONSTRAINT custom_domains_version_positive CHECK (version > 0)
);

-- A name is one tenant's: adding it for another is `domain_taken`. The public
-- lookup by `Host` probes this index (and reads the status from the row).
CREATE UNIQUE INDEX custom_domains_domain_unique ON custom_domains (domain);

-- The background check's batch: pending domains by when they are due, an
-- index range scan over the due ones only.
CREATE INDEX custom_domains_due ON custom_domains (next_check_at, tenant_id)
    WHERE status = 'pending';

ALTER TABLE custom_domains ENABLE ROW LEVEL SECURITY;
ALTER TABLE custom_domains FORCE ROW LEVEL SECURITY;

CREATE POLICY custom_domains_isolation ON custom_domains USING (
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

-- DELETE: a domain is removed, or purged with its tenant.
GRANT SELECT, INSERT, UPDATE, DELETE ON custom_domains TO tenancy_app;
