-- The role the server runs as (SPEC §9): it logs in, owns no table, is no
-- superuser and does not bypass row-level security, so every policy of the
-- following migrations applies to it. Each table grants it what it needs.
--
-- Roles belong to the whole cluster, not to one database: a DBA may have created
-- this one already (with a password), and every database of a test server shares
-- it. Creating it takes CREATEROLE; when it exists, nothing is needed.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tenancy_app') THEN
        BEGIN
            CREATE ROLE tenancy_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            -- Another database's migration created it meanwhile.
            NULL;
        END;
    END IF;
    IF EXISTS (
        SELECT FROM pg_roles
        WHERE rolname = 'tenancy_app' AND (rolsuper OR rolbypassrls)
    ) THEN
        RAISE EXCEPTION 'role tenancy_app is a superuser or has BYPASSRLS: row-level security would not apply to it';
    END IF;
END
$$;
