-- The per-org hash chain over the audit trail (SPEC §7, `domain::audit::chain`):
-- each event gets `chain_seq`, its org's n-th event (1, 2, 3… with no gaps; the
-- global `seq` identity column stays the listing's order and cursor), and
-- `hash = sha256(prev_hash || canonical event)`, the first event's prev_hash
-- being 32 zero bytes. The canonical event is the RFC 8785 text that
-- `audit_event_canonical` below builds and that the Rust definition builds
-- too; the storage contract checks that the two agree on every store.

-- Each org's head: the last link, where the next event links to. Its row lock
-- serialises the org's writers, and under READ COMMITTED each writer's
-- UPDATE sees the head the previous one committed. Kept apart from the
-- events, so removing events behind the application's back leaves a gap the
-- next event makes visible.
CREATE TABLE audit_chain_heads (
    org_id uuid NOT NULL,
    chain_seq bigint NOT NULL,
    hash bytea NOT NULL,
    CONSTRAINT audit_chain_heads_pkey PRIMARY KEY (org_id),
    CONSTRAINT audit_chain_heads_org_fkey FOREIGN KEY (org_id) REFERENCES orgs (id),
    CONSTRAINT audit_chain_heads_hash_length CHECK (octet_length(hash) = 32)
);

ALTER TABLE audit_chain_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_chain_heads FORCE ROW LEVEL SECURITY;

-- Every scope that may append an org's events moves the org's head: the
-- platform, the org, and each of its tenants (a tenant's event is a link of
-- its org's chain). A tenant scope thus reads its org's head seq and hash,
-- which reveal no event.
CREATE POLICY audit_chain_heads_append ON audit_chain_heads FOR ALL USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR (
        (SELECT current_setting('app.scope', true)) IN ('org', 'tenant')
        AND org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
) WITH CHECK (
    (SELECT current_setting('app.scope', true)) = 'platform'
    OR (
        (SELECT current_setting('app.scope', true)) IN ('org', 'tenant')
        AND org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
    )
);

-- Heads move forward and are never deleted.
GRANT SELECT, INSERT, UPDATE ON audit_chain_heads TO tenancy_app;

ALTER TABLE audit_events
    ADD COLUMN chain_seq bigint,
    ADD COLUMN hash bytea;

-- The canonical text of event `e` as the `link_seq`-th of its org: keys in
-- RFC 8785 order, strings escaped by `to_json` (exactly RFC 8785's escapes:
-- `\"`, `\\`, `\b\f\n\r\t`, other controls as lowercase `\u00xx`, nothing
-- else), `at` in UTC with six fractional digits, sealed details as lowercase
-- hex, clear changes in their stored order.
CREATE FUNCTION audit_event_canonical(e audit_events, link_seq bigint) RETURNS text
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $$
SELECT '{"action":' || to_json(e.action)::text
    || ',"actor":{"id":' || to_json(e.actor_id)::text
    || ',"kind":' || to_json(e.actor_kind)::text || '}'
    || ',"at":"' || to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"'
    || ',"details":' || CASE
        WHEN e.sealed_details IS NOT NULL
            THEN '{"sealed":"' || encode(e.sealed_details, 'hex') || '"}'
        ELSE '{"changes":[' || coalesce((
                SELECT string_agg(
                    '{"field":' || to_json(c.value ->> 'field')::text
                    || ',"from":' || coalesce(to_json(c.value ->> 'from')::text, 'null')
                    || ',"to":' || coalesce(to_json(c.value ->> 'to')::text, 'null') || '}',
                    ',' ORDER BY c.n)
                FROM jsonb_array_elements(e.changes) WITH ORDINALITY AS c (value, n)
            ), '')
            || '],"reason":' || coalesce(to_json(e.reason)::text, 'null') || '}'
    END
    || ',"id":"' || e.id::text || '"'
    || ',"orgId":"' || e.org_id::text || '"'
    || ',"requestId":' || coalesce(to_json(e.request_id)::text, 'null')
    || ',"seq":' || link_seq::text
    || ',"target":{"id":"' || e.target_id::text || '","type":' || to_json(e.target_type)::text
    || '},"tenantId":' || coalesce('"' || e.tenant_id::text || '"', 'null')
    || '}'
$$;

-- Links every inserted event to its org's head, whatever the writer put in
-- `chain_seq` and `hash`: the UPDATE locks the head row until the writer's
-- transaction ends, so the org's writers link one after the other, and it
-- computes the new hash from the head it locked. An org's first event
-- inserts the head; a writer that loses that race updates the winner's.
CREATE FUNCTION audit_events_link() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    linked_seq bigint;
    linked_hash bytea;
BEGIN
    LOOP
        UPDATE audit_chain_heads h
           SET chain_seq = h.chain_seq + 1,
               hash = sha256(h.hash
                   || convert_to(audit_event_canonical(NEW, h.chain_seq + 1), 'UTF8'))
         WHERE h.org_id = NEW.org_id
        RETURNING h.chain_seq, h.hash INTO linked_seq, linked_hash;
        EXIT WHEN FOUND;
        INSERT INTO audit_chain_heads (org_id, chain_seq, hash)
        VALUES (NEW.org_id, 1, sha256(decode(repeat('00', 32), 'hex')
            || convert_to(audit_event_canonical(NEW, 1), 'UTF8')))
        ON CONFLICT (org_id) DO NOTHING
        RETURNING chain_seq, hash INTO linked_seq, linked_hash;
        EXIT WHEN FOUND;
    END LOOP;
    NEW.chain_seq := linked_seq;
    NEW.hash := linked_hash;
    RETURN NEW;
END
$$;

-- Chains the events written before this migration, each org's in the order
-- of `seq` (the order written). The owner rewrites them once, here: the
-- append-only trigger is disabled and row-level security not forced (no
-- policy allows UPDATE) for the length of this transaction, which holds the
-- table's exclusive lock throughout, so no one else writes or sees it.
SET LOCAL app.scope = 'platform';
ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY;

DO $$
DECLARE
    e audit_events;
    current_org uuid;
    n bigint;
    h bytea;
BEGIN
    FOR e IN SELECT * FROM audit_events ORDER BY org_id, seq LOOP
        IF current_org IS DISTINCT FROM e.org_id THEN
            IF current_org IS NOT NULL THEN
                INSERT INTO audit_chain_heads (org_id, chain_seq, hash) VALUES (current_org, n, h);
            END IF;
            current_org := e.org_id;
            n := 0;
            h := decode(repeat('00', 32), 'hex');
        END IF;
        n := n + 1;
        h := sha256(h || convert_to(audit_event_canonical(e, n), 'UTF8'));
        UPDATE audit_events SET chain_seq = n, hash = h WHERE id = e.id;
    END LOOP;
    IF current_org IS NOT NULL THEN
        INSERT INTO audit_chain_heads (org_id, chain_seq, hash) VALUES (current_org, n, h);
    END IF;
END
$$;

ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;

ALTER TABLE audit_events
    ALTER COLUMN chain_seq SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL,
    ADD CONSTRAINT audit_events_org_id_chain_seq_unique UNIQUE (org_id, chain_seq);

CREATE TRIGGER audit_events_link
    BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_link();
