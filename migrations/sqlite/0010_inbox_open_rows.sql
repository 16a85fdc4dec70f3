-- The layout of PostgreSQL's migration 0010, where it makes the inbox's status change a HOT
-- update: the inbox rows still open (received, deferred, failed) are mirrored in this narrow
-- table, which carries the indexes that find them, so both dialects share one set of statements.
CREATE TABLE webhook_events_open (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    status      TEXT NOT NULL,
    payment_id  TEXT,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX webhook_events_open_tenant_status ON webhook_events_open (tenant_id, status, id);
CREATE INDEX webhook_events_open_received ON webhook_events_open (updated_at) WHERE status = 'received';
CREATE INDEX webhook_events_open_deferred ON webhook_events_open (payment_id) WHERE status = 'deferred';

INSERT INTO webhook_events_open (id, tenant_id, status, payment_id, updated_at)
SELECT id, tenant_id, status, payment_id, updated_at FROM webhook_events
WHERE status IN ('received', 'deferred', 'failed');

DROP INDEX webhook_events_tenant_status;
DROP INDEX webhook_events_received;
DROP INDEX webhook_events_deferred;
