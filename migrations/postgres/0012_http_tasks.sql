-- HTTP tasks: the tenant's own work, delivered to its endpoint with Cloud Tasks' contract.
-- A task queue's settings (Cloud Tasks' names and meanings), the tasks (recorded before their
-- job is enqueued, found again by the recovery sweep while open), one row per attempt, and
-- each tenant's signing secret for the requests Longshore sends.
-- Times are milliseconds since the Unix epoch (BIGINT); durations are milliseconds.

CREATE TABLE task_queues (
    tenant_id                  TEXT NOT NULL,
    name                       TEXT NOT NULL,
    max_attempts               BIGINT NOT NULL,
    min_backoff_ms             BIGINT NOT NULL,
    max_backoff_ms             BIGINT NOT NULL,
    max_doublings              BIGINT NOT NULL,
    max_retry_duration_ms      BIGINT NOT NULL,
    max_dispatches_per_second  DOUBLE PRECISION NOT NULL,
    max_burst_size             BIGINT NOT NULL,
    max_concurrent_dispatches  BIGINT NOT NULL,
    state                      TEXT NOT NULL,
    purged_at                  BIGINT,
    -- Static headers added to every request of the queue (credentials for the app): sealed
    -- JSON, and their names in clear for the API to show.
    auth_headers               TEXT,
    auth_header_names          TEXT NOT NULL,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE http_tasks (
    id                    TEXT PRIMARY KEY,
    tenant_id             TEXT NOT NULL,
    queue                 TEXT NOT NULL,
    -- The client's name for the task, kept for display; name_key holds the reservation and is
    -- cleared once it has lapsed, so the name can be used again.
    name                  TEXT,
    name_key              TEXT,
    name_reserved_until   BIGINT,
    method                TEXT NOT NULL,
    url                   TEXT NOT NULL,
    headers               TEXT NOT NULL,
    body                  BYTEA NOT NULL,
    dispatch_deadline_ms  BIGINT NOT NULL,
    schedule_time         BIGINT NOT NULL,
    -- When the next attempt should start at the latest (its due time, or after its backoff):
    -- a task still open well past it has lost its job, and the recovery sweep hands it over.
    next_due_at           BIGINT NOT NULL,
    status                TEXT NOT NULL,
    attempts              BIGINT NOT NULL DEFAULT 0,
    first_attempt_at      BIGINT,
    last_attempt_at       BIGINT,
    last_status           BIGINT,
    last_error            TEXT,
    finished_at           BIGINT,
    request_id            TEXT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE UNIQUE INDEX http_tasks_name ON http_tasks (tenant_id, queue, name_key);
CREATE INDEX http_tasks_tenant_queue ON http_tasks (tenant_id, queue, created_at);
CREATE INDEX http_tasks_waiting ON http_tasks (next_due_at) WHERE status = 'open';
CREATE INDEX http_tasks_finished ON http_tasks (finished_at) WHERE status <> 'open';

CREATE TABLE http_task_attempts (
    task_id       TEXT NOT NULL,
    attempt       BIGINT NOT NULL,
    started_at    BIGINT NOT NULL,
    latency_ms    BIGINT NOT NULL,
    status        BIGINT,
    error         TEXT,
    excerpt       TEXT,
    PRIMARY KEY (task_id, attempt)
);

CREATE TABLE task_signing_secrets (
    tenant_id             TEXT PRIMARY KEY,
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_valid_until  BIGINT,
    created_at            BIGINT NOT NULL,
    rotated_at            BIGINT
);
