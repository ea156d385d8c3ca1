-- Idempotent responses (SPEC §2): one row per org and `Idempotency-Key`. A
-- request claims its key (a pending row: no response yet, a lease), runs, then
-- completes the row with its response, sealed with the org's data key (0022)
-- and the org id and key as associated data, or deletes the row if it failed
-- and changed nothing. Replays within the window get the sealed response
-- back; `fingerprint` (SHA-256 of method, path and canonical body) tells a
-- retry from a reused key. Rows past `expires_at` are deleted by the
-- background job and may be claimed again before that.
CREATE TABLE idempotency_records (
    org_id uuid NOT NULL,
    key text NOT NULL,
    fingerprint bytea NOT NULL,
    token uuid NOT NULL,
    sealed_response bytea,
    claimed_at timestamptz NOT NULL,
    lease_until timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT idempotency_records_pkey PRIMARY KEY (org_id, key),
    CONSTRAINT idempotency_records_org_fkey FOREIGN KEY (org_id) REFERENCES orgs (id),
    CONSTRAINT idempotency_records_key_length CHECK (octet_length(key) BETWEEN 1 AND 255),
    CONSTRAINT idempotency_records_fingerprint_is_sha256 CHECK (octet_length(fingerprint) = 32)
);

-- The purge walks expired rows oldest first.
CREATE INDEX idempotency_records_expires_at ON idempotency_records (expires_at);

ALTER TABLE idempotency_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_records FORCE ROW LEVEL SECURITY;

-- All in platform scope; the org's own in org scope; none in tenant scope.
CREATE POLICY idempotency_records_isolation ON idempotency_records USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR (
        (SELECT current_setting('app.scope', true)) = 'org'
        AND org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
);

GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_records TO tenancy_app;
