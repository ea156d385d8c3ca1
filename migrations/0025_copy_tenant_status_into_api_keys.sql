-- The verification lookup on a cache miss without any join: after 0024 it
-- still probed `tenants` for the one owner column that changes, the status.
-- Each key row now carries a copy of it too, kept by the same trigger as the
-- key copies on insert, and by a trigger on `tenants` when the status changes,
-- so `tenancy_find_key` reads `api_keys` alone (docs/benchmarks.md: about 20%
-- more calls per second than 0024's join, driven by `pgbench -M prepared`).
--
-- A status change now writes every key row of the tenant, in the transaction
-- of the change, so a verification never sees a key of a suspended tenant as
-- active. That takes the rows' locks, which other writers of several key rows
-- also take: the batched `last_used_at` update (`record_usage`) locks its rows
-- in (tenant_id, id) order, and this trigger locks the tenant's rows in the
-- same order before it writes them, so the two cannot deadlock. Every other
-- multi-row change of a tenant's keys (deactivation revokes them, deletion
-- purges them) runs after the status change in the same transaction, on rows
-- this trigger locked already.
--
-- Expand only, as 0024: an older server keeps working; the triggers fill the
-- column for it.

ALTER TABLE api_keys ADD COLUMN tenant_status text;

SET LOCAL app.scope = 'platform';
UPDATE api_keys k
SET tenant_status = t.status
FROM tenants t
WHERE t.id = k.tenant_id AND t.org_id = k.org_id;

-- 0024's copy on insert and on writes of the owner columns, now with the
-- status (the same probe of `tenants`), and also when `tenant_status` itself is
-- written: what a writer puts there does not stick either.
CREATE OR REPLACE FUNCTION tenancy_copy_owner_keys()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    SELECT t.key, t.status INTO NEW.tenant_key, NEW.tenant_status
    FROM tenants t WHERE t.id = NEW.tenant_id AND t.org_id = NEW.org_id;
    IF NOT FOUND THEN
        NEW.tenant_key := NULL;
        NEW.tenant_status := NULL;
    END IF;
    NEW.namespace_key := (
        SELECT n.key FROM namespaces n
        WHERE n.tenant_id = NEW.tenant_id AND n.id = NEW.namespace_id
    );
    RETURN NEW;
END
$$;

DROP TRIGGER api_keys_copy_owner_keys ON api_keys;
CREATE TRIGGER api_keys_copy_owner_keys
    BEFORE INSERT OR UPDATE OF tenant_id, org_id, namespace_id, tenant_key, namespace_key,
        tenant_status
    ON api_keys
    FOR EACH ROW EXECUTE FUNCTION tenancy_copy_owner_keys();

CREATE FUNCTION tenancy_copy_tenant_status()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    -- Locked in (tenant_id, id) order first, the order `record_usage` locks in.
    PERFORM 1 FROM api_keys
    WHERE org_id = NEW.org_id AND tenant_id = NEW.id
    ORDER BY tenant_id, id
    FOR NO KEY UPDATE;
    UPDATE api_keys SET tenant_status = NEW.status
    WHERE org_id = NEW.org_id AND tenant_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_copy_status_to_api_keys
    AFTER UPDATE OF status ON tenants
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION tenancy_copy_tenant_status();

-- Same name, arguments and columns as 0009, 0017 and 0024.
CREATE OR REPLACE FUNCTION tenancy_find_key(key_hash bytea)
RETURNS TABLE (
    tenant_id uuid,
    namespace_id uuid,
    id uuid,
    org_id uuid,
    hash bytea,
    display text,
    name text,
    mode text,
    role text,
    scopes integer,
    resources text[],
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz,
    rotated_from uuid,
    created_at timestamptz,
    created_by_kind text,
    created_by_id text,
    version bigint,
    tenant_key text,
    tenant_status text,
    namespace_key text
)
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM set_config('app.scope', 'platform', true);
    RETURN QUERY
    SELECT k.tenant_id, k.namespace_id, k.id, k.org_id, k.hash, k.display, k.name,
           k.mode, k.role, k.scopes, k.resources, k.expires_at, k.last_used_at,
           k.revoked_at, k.rotated_from, k.created_at, k.created_by_kind,
           k.created_by_id, k.version, k.tenant_key, k.tenant_status, k.namespace_key
    FROM api_keys k
    WHERE k.hash = key_hash;
    IF FOUND THEN
        RETURN;
    END IF;
    -- The owner columns and the tenant's and namespace's keys stay NULL.
    RETURN QUERY
    SELECT NULL::uuid, NULL::uuid, o.id, o.org_id, o.hash, o.display, o.name, o.mode,
           o.role, o.scopes, o.resources, o.expires_at, o.last_used_at, o.revoked_at,
           o.rotated_from, o.created_at, o.created_by_kind, o.created_by_id, o.version,
           NULL::text, NULL::text, NULL::text
    FROM org_api_keys o
    WHERE o.hash = key_hash;
END
$$;
