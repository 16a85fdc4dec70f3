-- Schedules that create HTTP tasks: a schedule targets either a report (kind, period,
-- recipients) or a task template (queue and request, as JSON), never both. SQLite cannot drop
-- a NOT NULL constraint, so the table is rebuilt with the same rows.
CREATE TABLE schedules_next (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    name            TEXT NOT NULL,
    cron            TEXT NOT NULL,
    timezone        TEXT NOT NULL,
    report_kind     TEXT,
    period          TEXT,
    recipients      TEXT,
    task_target     TEXT,
    missed_runs     TEXT NOT NULL,
    enabled         BIGINT NOT NULL,
    next_run_at     BIGINT,
    last_tick_at    BIGINT,
    last_report_id  TEXT,
    last_task_id    TEXT,
    fired_count     BIGINT NOT NULL DEFAULT 0,
    missed_count    BIGINT NOT NULL DEFAULT 0,
    skipped_count   BIGINT NOT NULL DEFAULT 0,
    version         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
INSERT INTO schedules_next (id, tenant_id, name, cron, timezone, report_kind, period, recipients,
    missed_runs, enabled, next_run_at, last_tick_at, last_report_id, fired_count, missed_count,
    skipped_count, version, created_at, updated_at)
SELECT id, tenant_id, name, cron, timezone, report_kind, period, recipients, missed_runs, enabled,
    next_run_at, last_tick_at, last_report_id, fired_count, missed_count, skipped_count, version,
    created_at, updated_at FROM schedules;
DROP TABLE schedules;
ALTER TABLE schedules_next RENAME TO schedules;
CREATE INDEX schedules_tenant ON schedules (tenant_id, id);
CREATE INDEX schedules_due ON schedules (enabled, next_run_at);
