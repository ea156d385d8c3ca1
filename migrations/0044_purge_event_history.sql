-- The retention job deletes outbox events older than the feed's window that
-- are fanned out and have no pending message, with their messages
-- (`DeliveryStore::purge_events`), so the event history does not grow
-- forever. It runs in platform scope only.

CREATE POLICY event_outbox_purge ON event_outbox FOR DELETE USING (
    (SELECT current_setting('app.scope', true)) = 'platform'
);

-- webhook_deliveries_isolation applies to every command: in platform scope
-- it lets the purge delete.
GRANT DELETE ON event_outbox TO tenancy_app;
GRANT DELETE ON webhook_deliveries TO tenancy_app;
