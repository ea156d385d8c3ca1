-- A stored idempotent response names the tenant it is about (the tenant a
-- provisioning created, with its name, owner and first key's secret in the
-- sealed body). The org's data key that seals it outlives every tenant, so
-- the tenant's tombstone deletes these rows in its own transaction instead:
-- after a deletion nothing replays the tenant. NULL: about no tenant, or still
-- pending. Expand only: a server built before this column writes NULL and
-- keeps working.
ALTER TABLE idempotency_records
    ADD COLUMN tenant_id uuid,
    ADD CONSTRAINT idempotency_records_tenant_fkey FOREIGN KEY (org_id, tenant_id)
        REFERENCES tenants (org_id, id);

-- The tombstone finds its tenant's rows by equality.
CREATE INDEX idempotency_records_tenant_id ON idempotency_records (tenant_id)
    WHERE tenant_id IS NOT NULL;
