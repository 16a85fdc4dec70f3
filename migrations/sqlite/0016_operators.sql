-- Operators run the deployment through /v1/admin and the dashboard with an operator key
-- (LONGSHORE_ADMIN_KEY); a tenant key never reaches them.
--
-- A disabled tenant's keys are refused (401) until it is enabled again; its data and queued
-- work are kept. Its own request limits override the deployment's defaults
-- (LONGSHORE_RATE_LIMIT_PER_SECOND / _BURST) when set.
ALTER TABLE tenants ADD COLUMN disabled_at BIGINT;
ALTER TABLE tenants ADD COLUMN rate_limit_per_second BIGINT;
ALTER TABLE tenants ADD COLUMN rate_limit_burst BIGINT;

-- Every operator action: who (the operator key's label), what (action and target, with the
-- details that matter, never a secret), when (ms since the Unix epoch) and from where (the
-- client address and the request id of the logs). Kept, never rewritten.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT,
    detail      TEXT NOT NULL,
    client_ip   TEXT,
    request_id  TEXT
);
