-- Key verification on a cache miss (SPEC §8: at least half of `pgbench -S`).
-- As separate statements a lookup costs four round trips (BEGIN, set_config,
-- the query, COMMIT). Called as one statement this function is one: outside an
-- explicit transaction the call runs in its own implicit transaction, so the
-- platform scope it sets with set_config(..., true) covers the lookup and ends
-- with it, behind PgBouncer in transaction mode too. It runs as its caller
-- (SECURITY INVOKER, the default), so row-level security applies exactly as to
-- the statements it replaces; plpgsql keeps the query's plan between calls.
CREATE FUNCTION tenancy_find_key(key_hash bytea)
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
    PERFORM set_config('app.scope', 'platform', true),
            set_config('app.current_org_id', '', true),
            set_config('app.current_tenant_id', '', true);
    RETURN QUERY
        SELECT k.tenant_id, k.namespace_id, k.id, k.org_id, k.hash, k.display, k.name,
               k.mode, k.role, k.scopes, k.resources, k.expires_at, k.last_used_at,
               k.revoked_at, k.rotated_from, k.created_at, k.created_by_kind,
               k.created_by_id, k.version, t.key, t.status, n.key
        FROM api_keys k
        JOIN tenants t ON t.id = k.tenant_id AND t.org_id = k.org_id
        LEFT JOIN namespaces n ON n.tenant_id = k.tenant_id AND n.id = k.namespace_id
        WHERE k.hash = key_hash
        UNION ALL
        SELECT NULL::uuid, NULL::uuid, o.id, o.org_id, o.hash, o.display, o.name, o.mode,
               o.role, o.scopes, o.resources, o.expires_at, o.last_used_at, o.revoked_at,
               o.rotated_from, o.created_at, o.created_by_kind, o.created_by_id, o.version,
               NULL::text, NULL::text, NULL::text
        FROM org_api_keys o
        WHERE o.hash = key_hash
        LIMIT 1;
END
$$;
