-- Report schedules, their missed-run decisions, reports, and the job history `jobs_health`
-- reads (fed in batches by the workers). Indexes let the report queries aggregate a period of
-- payments and email events without scanning other tenants or other periods.
-- Times are milliseconds since the Unix epoch (BIGINT); ids are TEXT; lists are JSON text.

CREATE TABLE schedules (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    name            TEXT NOT NULL,
    cron            TEXT NOT NULL,
    timezone        TEXT NOT NULL,
    report_kind     TEXT NOT NULL,
    period          TEXT NOT NULL,
    recipients      TEXT NOT NULL,
    missed_runs     TEXT NOT NULL,
    enabled         BIGINT NOT NULL,
    next_run_at     BIGINT,
    last_tick_at    BIGINT,
    last_report_id  TEXT,
    fired_count     BIGINT NOT NULL DEFAULT 0,
    missed_count    BIGINT NOT NULL DEFAULT 0,
    skipped_count   BIGINT NOT NULL DEFAULT 0,
    version         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX schedules_tenant ON schedules (tenant_id, id);
CREATE INDEX schedules_due ON schedules (enabled, next_run_at);

CREATE TABLE schedule_decisions (
    schedule_id  TEXT NOT NULL,
    first_tick   BIGINT NOT NULL,
    last_tick    BIGINT NOT NULL,
    ticks        BIGINT NOT NULL,
    action       TEXT NOT NULL,
    report_id    TEXT,
    decided_at   BIGINT NOT NULL,
    PRIMARY KEY (schedule_id, first_tick)
);

CREATE TABLE reports (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    schedule_id      TEXT,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    period_from      BIGINT NOT NULL,
    period_to        BIGINT NOT NULL,
    timezone         TEXT NOT NULL,
    first_tick       BIGINT,
    last_tick        BIGINT,
    ticks            BIGINT,
    catch_up         BIGINT NOT NULL,
    recipients       TEXT NOT NULL,
    job_id           TEXT NOT NULL,
    summary          TEXT,
    csv_key          TEXT,
    csv_bytes        BIGINT,
    pdf_document_id  TEXT,
    pdf_key          TEXT,
    pdf_bytes        BIGINT,
    pdf_sha256       TEXT,
    failure_reason   TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    finished_at      BIGINT
);
CREATE INDEX reports_tenant ON reports (tenant_id, id);
CREATE INDEX reports_schedule ON reports (tenant_id, schedule_id, id);

CREATE TABLE job_runs (
    job_id       TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    job_type     TEXT NOT NULL,
    queue        TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,
    finished_at  BIGINT NOT NULL
);
CREATE INDEX job_runs_tenant_finished ON job_runs (tenant_id, finished_at);
CREATE INDEX job_runs_finished ON job_runs (finished_at);

CREATE INDEX payments_tenant_created ON payments (tenant_id, created_at);
CREATE INDEX email_events_tenant_at ON email_events (tenant_id, at);
