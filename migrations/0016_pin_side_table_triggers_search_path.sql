-- The trigger functions of 0013 and 0014 run as the owner (SECURITY DEFINER)
-- with `search_path = pg_catalog, public`. Without `pg_temp` named in it, a
-- session's temporary schema is searched first for tables, and every role may
-- create temporary tables by default: a runtime-role session could create a
-- temporary `tenant_name_trigrams` and catch the rows the trigger writes for
-- its own changes, leaving the real table without them. Naming `pg_temp` last
-- keeps it out of the way.
ALTER FUNCTION tenancy_sync_tenant_name_trigrams() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION tenancy_sync_tenant_metadata() SET search_path = pg_catalog, public, pg_temp;
