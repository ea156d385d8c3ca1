-- Per-org data keys (SPEC §2, §9): each org's data key, wrapped by the KMS's
-- key-encryption key (the `WrappedKey::to_bytes` envelope), bound to the org by
-- its encryption context. It seals what belongs to the org rather than to one
-- tenant: the responses stored for idempotent replays (0023). Minted on first
-- use; updated only by the rewrap after a KEK rotation. Orgs are never
-- deleted, so neither is this row.
CREATE TABLE org_data_keys (
    org_id uuid NOT NULL,
    wrapped bytea NOT NULL,
    kek_id text NOT NULL,
    kek_version integer NOT NULL,
    CONSTRAINT org_data_keys_pkey PRIMARY KEY (org_id),
    CONSTRAINT org_data_keys_org_fkey FOREIGN KEY (org_id) REFERENCES orgs (id),
    CONSTRAINT org_data_keys_version_positive CHECK (kek_version > 0)
);

ALTER TABLE org_data_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_data_keys FORCE ROW LEVEL SECURITY;

-- All in platform scope; the org's own in org scope; none in tenant scope.
CREATE POLICY org_data_keys_isolation ON org_data_keys USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR (
        (SELECT current_setting('app.scope', true)) = 'org'
        AND org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
);

GRANT SELECT, INSERT, UPDATE ON org_data_keys TO tenancy_app;
