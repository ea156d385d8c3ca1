-- The inventory's name search (SPEC §8: a page over 1,000,000 tenants in
-- ≤ 10 ms) through an index the policies let the planner use.
--
-- Under row-level security PostgreSQL only puts leakproof operators into an
-- index scan, and `LIKE`, `lower()` and jsonb `@>` are not leakproof: the
-- runtime role can never use the trigram index on `tenants` (0004). Equality
-- on text and uuid is leakproof. So every trigram (three consecutive
-- characters) of a tenant's lowercased name and of its key gets a row here,
-- and a search looks up one trigram of its term by equality, walks the rows
-- in the page's order (name, or creation: the id) and re-checks each tenant
-- with the full `LIKE`. Every substring of the term is a substring of the
-- name or the key, so the rows of any one of its trigrams are a superset of
-- the matches: the table narrows the search, the re-check decides it.
-- Trigrams here are plain substrings (spaces and punctuation included), not
-- pg_trgm's padded words, so any term of three characters or more can use it.
--
-- Tombstones (status 'deleted') have their name purged and never show in a
-- search unless asked for by status, which takes the old path: they have no
-- rows here.
--
-- Maintained by statement-level triggers on `tenants`, in the transaction of
-- the write, rather than by the store: every writer keeps it right (the
-- store, bulk loads, a backfill, an operator's SQL), a bulk insert costs one
-- set-based statement instead of a call per row, and the runtime role needs
-- only SELECT here, so it cannot add, remove or alter the rows that decide
-- which tenants a search finds. The trigger function is SECURITY DEFINER,
-- owned by the owner; the owner is subject to the policies too (FORCE), so
-- its writes here are checked against the scope of the transaction that
-- changed the tenant, like the tenant row itself. Its search_path is pinned.
--
-- No foreign key to `tenants`: tenants are never deleted, the rows are only
-- written by the trigger from the tenant row itself, and a key check per
-- trigram would double the cost of every insert.
CREATE TABLE tenant_name_trigrams (
    trigram text COLLATE "C" NOT NULL,
    tenant_id uuid NOT NULL,
    org_id uuid NOT NULL,
    -- The tenant's name, for walking a trigram's rows in name order (byte
    -- order, as `tenants_name_id` and the domain's `TenantSort`).
    name text COLLATE "C" NOT NULL
);

ALTER TABLE tenant_name_trigrams ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_name_trigrams FORCE ROW LEVEL SECURITY;

-- The rule of `tenants_isolation` (0012), on the rows' tenant.
CREATE POLICY tenant_name_trigrams_isolation ON tenant_name_trigrams USING (
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
GRANT SELECT ON tenant_name_trigrams TO tenancy_app;

-- The distinct trigrams of a name (lowercased) and a key (lowercase already).
-- The store takes the trigrams of a search term the same way: three
-- characters in a row of the lowercased term.
CREATE FUNCTION tenancy_name_trigrams(name text, key text)
RETURNS SETOF text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    SELECT DISTINCT substr(s, i, 3) COLLATE "C"
    FROM (VALUES (lower(name)), (key)) AS v(s), generate_series(1, char_length(s) - 2) AS i
$$;

CREATE FUNCTION tenancy_sync_tenant_name_trigrams()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- Rows whose name, key, org or deletion changed lose their old
        -- trigrams (found by primary key) and get the new ones below.
        DELETE FROM tenant_name_trigrams g
        USING old_rows o
        JOIN new_rows n ON n.id = o.id
        CROSS JOIN LATERAL tenancy_name_trigrams(o.name, o.key) AS t(trigram)
        WHERE (o.name, o.key, o.org_id, o.status = 'deleted')
              IS DISTINCT FROM (n.name, n.key, n.org_id, n.status = 'deleted')
          AND o.status <> 'deleted'
          AND g.trigram = t.trigram AND g.tenant_id = o.id;
        INSERT INTO tenant_name_trigrams (trigram, tenant_id, org_id, name)
        SELECT t.trigram, n.id, n.org_id, n.name
        FROM new_rows n
        JOIN old_rows o ON o.id = n.id
        CROSS JOIN LATERAL tenancy_name_trigrams(n.name, n.key) AS t(trigram)
        WHERE (o.name, o.key, o.org_id, o.status = 'deleted')
              IS DISTINCT FROM (n.name, n.key, n.org_id, n.status = 'deleted')
          AND n.status <> 'deleted';
    ELSE
        INSERT INTO tenant_name_trigrams (trigram, tenant_id, org_id, name)
        SELECT t.trigram, n.id, n.org_id, n.name
        FROM new_rows n
        CROSS JOIN LATERAL tenancy_name_trigrams(n.name, n.key) AS t(trigram)
        WHERE n.status <> 'deleted';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_name_trigrams_insert
    AFTER INSERT ON tenants
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tenancy_sync_tenant_name_trigrams();
CREATE TRIGGER tenants_name_trigrams_update
    AFTER UPDATE ON tenants
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tenancy_sync_tenant_name_trigrams();

-- The tenants that exist already. Creating the triggers locked `tenants`
-- against writes until this migration commits, so no tenant is written
-- between the backfill's snapshot and the triggers. The indexes come after
-- the rows: built in one sort, far faster than maintained row by row.
SET LOCAL app.scope = 'platform';
INSERT INTO tenant_name_trigrams (trigram, tenant_id, org_id, name)
SELECT t.trigram, n.id, n.org_id, n.name
FROM tenants n
CROSS JOIN LATERAL tenancy_name_trigrams(n.name, n.key) AS t(trigram)
WHERE n.status <> 'deleted';
-- The primary key is also the platform-wide walk in creation order (UUIDv7
-- ids) and how the trigger finds a tenant's old rows. The org id is included
-- where it is no key column, so that the policy can be checked in the index
-- (an index-only scan) without a visit to the table for every row walked.
ALTER TABLE tenant_name_trigrams
    ADD CONSTRAINT tenant_name_trigrams_pkey PRIMARY KEY (trigram, tenant_id) INCLUDE (org_id);
CREATE INDEX tenant_name_trigrams_name
    ON tenant_name_trigrams (trigram, name, tenant_id) INCLUDE (org_id);
CREATE INDEX tenant_name_trigrams_org_name
    ON tenant_name_trigrams (org_id, trigram, name, tenant_id);
CREATE INDEX tenant_name_trigrams_org_id ON tenant_name_trigrams (org_id, trigram, tenant_id);
