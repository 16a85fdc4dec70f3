-- Operators' bulk actions from the dashboard: retry (or cancel) every job of a tenant that
-- matches a filter. The API process that accepted the action runs it as a background task and
-- updates the counts after every batch of jobs (`updated_at` is its heartbeat); `operator` is
-- the operator key's label, `filter` the JSON of the jobs filter ({"state", "type"}).
--
-- `state` is `running`, `done`, `failed` (stopped by an error, in `error`) or `interrupted`
-- (its process went away: a `running` row not updated for 60 s is marked so when read).
CREATE TABLE bulk_operations (
    id           TEXT PRIMARY KEY,
    operator     TEXT NOT NULL,
    action       TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    filter       TEXT NOT NULL,
    state        TEXT NOT NULL,
    processed    BIGINT NOT NULL DEFAULT 0,
    succeeded    BIGINT NOT NULL DEFAULT 0,
    skipped      BIGINT NOT NULL DEFAULT 0,
    error        TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX bulk_operations_state ON bulk_operations (state, updated_at);
