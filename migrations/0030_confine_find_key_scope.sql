-- The verification lookup must never widen its caller's scope. Until now
-- `tenancy_find_key` set the platform scope transaction-locally and left it
-- set: harmless in the implicit transaction of a lone call (how the server
-- calls it), but inside an explicit transaction every later statement would
-- have seen every org's rows. And any role could execute it.
--
-- Same name, arguments and columns as 0009, 0017, 0024 and 0025 (a server
-- built before this migration keeps working against it), with three changes:
--
-- - it refuses to run (SQLSTATE 25000, invalid transaction state) when its
--   transaction already has a scope: a store call that reached for it inside a
--   scoped transaction is a bug to surface, not a widening to allow;
-- - it clears the scope again before it returns, so what follows in the same
--   transaction sees nothing, as before the call;
-- - only the runtime role may execute it (not PUBLIC).
--
-- It still runs as its caller (SECURITY INVOKER), so row-level security applies
-- to its probes as before. The tables and functions it uses are named with
-- their schema, so a caller's temporary table of the same name cannot stand in
-- for them; no `SET search_path` clause, which would cost a configuration
-- save and restore on every call of the hot path. It stays one statement and
-- one round trip.
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
    IF coalesce(pg_catalog.current_setting('app.scope', true), '') <> '' THEN
        RAISE EXCEPTION 'tenancy_find_key must not run inside a scoped transaction'
            USING ERRCODE = 'invalid_transaction_state';
    END IF;
    PERFORM pg_catalog.set_config('app.scope', 'platform', true);
    RETURN QUERY
    SELECT k.tenant_id, k.namespace_id, k.id, k.org_id, k.hash, k.display, k.name,
           k.mode, k.role, k.scopes, k.resources, k.expires_at, k.last_used_at,
           k.revoked_at, k.rotated_from, k.created_at, k.created_by_kind,
           k.created_by_id, k.version, k.tenant_key, k.tenant_status, k.namespace_key
    FROM public.api_keys k
    WHERE k.hash = key_hash;
    IF NOT FOUND THEN
        -- The owner columns and the tenant's and namespace's keys stay NULL.
        RETURN QUERY
        SELECT NULL::uuid, NULL::uuid, o.id, o.org_id, o.hash, o.display, o.name, o.mode,
               o.role, o.scopes, o.resources, o.expires_at, o.last_used_at, o.revoked_at,
               o.rotated_from, o.created_at, o.created_by_kind, o.created_by_id, o.version,
               NULL::text, NULL::text, NULL::text
        FROM public.org_api_keys o
        WHERE o.hash = key_hash;
    END IF;
    PERFORM pg_catalog.set_config('app.scope', '', true);
END
$$;

REVOKE EXECUTE ON FUNCTION tenancy_find_key(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy_find_key(bytea) TO tenancy_app;
