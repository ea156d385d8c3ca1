-- The inventory's `metadata.K=V` filters through an index the policies let the
-- planner use: jsonb `@>` is not leakproof, so under row-level security the
-- runtime role never gets the GIN index on `tenants.metadata` (0004); text
-- and uuid equality are leakproof. One row per string-valued metadata entry of
-- every tenant but tombstones (their metadata is purged), walked by equality
-- on (key, value) in the page's order: name, or creation (the id). The
-- inventory still re-checks `metadata @>` on the tenant.
--
-- Values longer than 512 bytes get no row (a btree entry must fit in a third
-- of a page); a filter on such a value takes the old path, which the store
-- decides by the same bound.
--
-- Maintained like `tenant_name_trigrams` (0013) and for the same reasons: by
-- statement-level triggers on `tenants` in the writing transaction, through a
-- SECURITY DEFINER function of the owner (subject to the policies, FORCE), so
-- that the runtime role only reads it. No foreign key, as there.
CREATE TABLE tenant_metadata (
    key text COLLATE "C" NOT NULL,
    value text COLLATE "C" NOT NULL,
    tenant_id uuid NOT NULL,
    org_id uuid NOT NULL,
    -- For walking the matches in name order (byte order).
    name text COLLATE "C" NOT NULL,
    CONSTRAINT tenant_metadata_value_short CHECK (octet_length(value) <= 512)
);

ALTER TABLE tenant_metadata ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_metadata FORCE ROW LEVEL SECURITY;

-- The rule of `tenants_isolation` (0012), on the rows' tenant.
CREATE POLICY tenant_metadata_isolation ON tenant_metadata USING (
    CASE (SELECT current_setting('app.scope', true))
        WHEN 'platform' THEN true
        WHEN 'org' THEN
            org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
        WHEN 'tenant' THEN
            org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
            AND tenant_id = (SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid)
        ELSE false
    END
);

-- Read by the inventory; written only by the trigger below.
GRANT SELECT ON tenant_metadata TO tenancy_app;

-- The entries of a tenant's metadata that get a row.
CREATE FUNCTION tenancy_metadata_entries(metadata jsonb)
RETURNS TABLE (key text, value text)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    SELECT e.key COLLATE "C", (e.value #>> '{}') COLLATE "C"
    FROM jsonb_each(metadata) AS e
    WHERE jsonb_typeof(e.value) = 'string' AND octet_length(e.value #>> '{}') <= 512
$$;

CREATE FUNCTION tenancy_sync_tenant_metadata()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- Rows whose metadata, name, org or deletion changed lose their old
        -- entries (found by primary key) and get the new ones below.
        DELETE FROM tenant_metadata m
        USING old_rows o
        JOIN new_rows n ON n.id = o.id
        CROSS JOIN LATERAL tenancy_metadata_entries(o.metadata) AS e
        WHERE (o.metadata, o.name, o.org_id, o.status = 'deleted')
              IS DISTINCT FROM (n.metadata, n.name, n.org_id, n.status = 'deleted')
          AND o.status <> 'deleted'
          AND m.key = e.key AND m.value = e.value AND m.tenant_id = o.id;
        INSERT INTO tenant_metadata (key, value, tenant_id, org_id, name)
        SELECT e.key, e.value, n.id, n.org_id, n.name
        FROM new_rows n
        JOIN old_rows o ON o.id = n.id
        CROSS JOIN LATERAL tenancy_metadata_entries(n.metadata) AS e
        WHERE (o.metadata, o.name, o.org_id, o.status = 'deleted')
              IS DISTINCT FROM (n.metadata, n.name, n.org_id, n.status = 'deleted')
          AND n.status <> 'deleted';
    ELSE
        INSERT INTO tenant_metadata (key, value, tenant_id, org_id, name)
        SELECT e.key, e.value, n.id, n.org_id, n.name
        FROM new_rows n
        CROSS JOIN LATERAL tenancy_metadata_entries(n.metadata) AS e
        WHERE n.status <> 'deleted';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_metadata_insert
    AFTER INSERT ON tenants
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tenancy_sync_tenant_metadata();
CREATE TRIGGER tenants_metadata_update
    AFTER UPDATE ON tenants
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tenancy_sync_tenant_metadata();

-- The tenants that exist already. Creating the triggers locked `tenants`
-- against writes until this migration commits, so no tenant is written
-- between the backfill's snapshot and the triggers. The indexes come after
-- the rows: built in one sort, far faster than maintained row by row.
SET LOCAL app.scope = 'platform';
INSERT INTO tenant_metadata (key, value, tenant_id, org_id, name)
SELECT e.key, e.value, n.id, n.org_id, n.name
FROM tenants n
CROSS JOIN LATERAL tenancy_metadata_entries(n.metadata) AS e
WHERE n.status <> 'deleted';
-- The primary key is also the platform-wide walk in creation order and how
-- the trigger finds a tenant's old rows. The org id is included where it is
-- no key column, for index-only scans, as in 0013.
ALTER TABLE tenant_metadata
    ADD CONSTRAINT tenant_metadata_pkey PRIMARY KEY (key, value, tenant_id) INCLUDE (org_id);
CREATE INDEX tenant_metadata_name ON tenant_metadata (key, value, name, tenant_id) INCLUDE (org_id);
CREATE INDEX tenant_metadata_org_name ON tenant_metadata (org_id, key, value, name, tenant_id);
CREATE INDEX tenant_metadata_org_id ON tenant_metadata (org_id, key, value, tenant_id);
