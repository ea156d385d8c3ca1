-- Org API keys: the same shape as `api_keys`, owned by an org instead of a
-- namespace. Revoked, never deleted.
CREATE TABLE org_api_keys (
    org_id uuid NOT NULL REFERENCES orgs (id),
    id uuid NOT NULL,
    hash bytea NOT NULL,
    display text NOT NULL,
    name text NOT NULL,
    mode text NOT NULL,
    role text,
    -- `Scopes::bits()`.
    scopes integer NOT NULL,
    resources text[],
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz,
    rotated_from uuid,
    created_at timestamptz NOT NULL,
    created_by_kind text NOT NULL,
    created_by_id text NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT org_api_keys_pkey PRIMARY KEY (org_id, id),
    CONSTRAINT org_api_keys_hash_unique UNIQUE (hash),
    CONSTRAINT org_api_keys_hash_is_sha256 CHECK (octet_length(hash) = 32),
    CONSTRAINT org_api_keys_mode_known CHECK (mode = 'org'),
    CONSTRAINT org_api_keys_role_known CHECK (role IN ('admin', 'member')),
    CONSTRAINT org_api_keys_scopes_are_bits CHECK (scopes BETWEEN 0 AND 65535),
    CONSTRAINT org_api_keys_version_positive CHECK (version > 0)
);

-- Reads by key id alone (`get_key`, `record_usage`).
CREATE INDEX org_api_keys_id ON org_api_keys (id);

ALTER TABLE org_api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_api_keys FORCE ROW LEVEL SECURITY;

-- All in platform scope; the org's in org scope; none in tenant scope (a
-- namespace key has no business with its org's keys).
CREATE POLICY org_api_keys_isolation ON org_api_keys USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR (
        (SELECT current_setting('app.scope', true)) = 'org'
        AND org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
);

GRANT SELECT, INSERT, UPDATE ON org_api_keys TO tenancy_app;
