-- A tenant's audit events hold personal data in their details (old and new
-- names, owners, free-text reasons). The application now seals them with the
-- tenant's data key (0020) before appending, the event id, org and tenant as
-- associated data: `sealed_details` holds the sealed reason and changes, and
-- `reason` and `changes` stay empty for such rows. When the tenant's tombstone
-- destroys its data key they can never be opened again, while the event
-- itself (ids, action, actor, time) stays. NULL: the details are in clear, as
-- for org-level events and for rows written before this migration, which
-- read as they always did. Expand only: adding a nullable column rewrites no
-- row, so the append-only trigger is not involved.
ALTER TABLE audit_events
    ADD COLUMN sealed_details bytea,
    ADD CONSTRAINT audit_events_sealed_details_alone CHECK (
        sealed_details IS NULL
        OR (tenant_id IS NOT NULL AND reason IS NULL AND changes = '[]'::jsonb)
    );
