-- An org's tombstones (`status=deleted` in its inventory), in either order,
-- from an index of that org's tombstones alone. Before it, such a listing
-- combined `tenants_status_id` (every org's tombstones) with
-- `tenants_org_id_id_unique` (every tenant of the org) in a bitmap and
-- sorted the matches: its cost grew with the org and with the platform's
-- tombstones, not with the page. Tombstones have no rows in the side
-- tables, so these are the only indexes that serve them.
--
-- Partial indexes: the inventory is always planned for the values at hand
-- (`plan_cache_mode = force_custom_plan`), so `status = 'deleted'` is known
-- when planning and matches their predicate. A search or another filter
-- among tombstones re-checks the rows of the walk, which reads only
-- tombstones.
--
-- A plain CREATE INDEX (a migration runs in a transaction): it holds writes
-- to `tenants` while it reads the table once per index.
CREATE INDEX tenants_deleted_org_id_id ON tenants (org_id, id)
    WHERE status = 'deleted';
CREATE INDEX tenants_deleted_org_id_name_id ON tenants (org_id, name COLLATE "C", id)
    WHERE status = 'deleted';
