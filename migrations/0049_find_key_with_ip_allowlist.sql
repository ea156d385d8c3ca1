-- A tenant's `ipAllowlist` (its `security` settings document, SPEC §5) refuses
-- its API keys from other client addresses, so the verification lookup must
-- carry it: `tenancy_find_key` gains a last column, `ip_allowlist`, the
-- document's `ipAllowlist` member (NULL when the tenant has no security
-- document or no list). One more probe of `settings_documents`' primary key,
-- on a cache miss only; the result stays one statement and one round trip.
--
-- Otherwise as 0030 left it (the scope guard, the cleared scope, the
-- schema-qualified names, execution by the runtime role only). A new column
-- changes the result type, which `CREATE OR REPLACE` cannot do: the function
-- is dropped and created again in this migration's transaction, so no caller
-- ever sees it missing. A server built before this migration reads its
-- columns by name and ignores the new one.
DROP FUNCTION tenancy_find_key(bytea);

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
    namespace_key text,
    ip_allowlist jsonb
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
           k.created_by_id, k.version, k.tenant_key, k.tenant_status, k.namespace_key,
           (SELECT s.document -> 'ipAllowlist'
            FROM public.settings_documents s
            WHERE s.owner_id = k.tenant_id AND s.grp = 'security')
    FROM public.api_keys k
    WHERE k.hash = key_hash;
    IF NOT FOUND THEN
        -- The owner columns, the tenant's and namespace's keys and the
        -- allowlist stay NULL.
        RETURN QUERY
        SELECT NULL::uuid, NULL::uuid, o.id, o.org_id, o.hash, o.display, o.name, o.mode,
               o.role, o.scopes, o.resources, o.expires_at, o.last_used_at, o.revoked_at,
               o.rotated_from, o.created_at, o.created_by_kind, o.created_by_id, o.version,
               NULL::text, NULL::text, NULL::text, NULL::jsonb
        FROM public.org_api_keys o
        WHERE o.hash = key_hash;
    END IF;
    PERFORM pg_catalog.set_config('app.scope', '', true);
END
$$;

REVOKE EXECUTE ON FUNCTION tenancy_find_key(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy_find_key(bytea) TO tenancy_app;
