-- Trigram indexes for the inventory's substring search on names (SPEC §8).
-- pg_trgm is a trusted extension (PostgreSQL 13 and later): the owner role needs
-- CREATE on the database, not superuser. It ships with the server (on Debian in
-- the `postgresql` package itself; elsewhere often in `postgresql-contrib`).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
