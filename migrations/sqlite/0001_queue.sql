-- The embedded queue (SQLite dialect). Production keeps its queue in Redis, so Postgres has no
-- such table. Times are milliseconds since the Unix epoch, as in `JobRecord`.
CREATE TABLE IF NOT EXISTS queue_jobs (
    id           TEXT    NOT NULL PRIMARY KEY,
    tenant       TEXT    NOT NULL,
    job_type     TEXT    NOT NULL,
    queue        TEXT    NOT NULL,
    payload      TEXT    NOT NULL,   -- JSON text
    state        TEXT    NOT NULL CHECK (state IN
                     ('queued', 'scheduled', 'running', 'retrying', 'succeeded', 'dead', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    last_error   TEXT,
    request_id   TEXT,
    worker       TEXT,
    lease_token  TEXT,               -- fences acks: set while running, cleared when it ends
    lease_until  INTEGER,            -- a running job whose lease passed is reclaimed by fetch
    expire_at    INTEGER             -- retention deadline of a finished job; NULL while live
);

-- Fetch and wake-up polling: runnable jobs of a queue in run_at order. Partial, so it holds only
-- live work and the queries name the same three states literally to use it.
CREATE INDEX IF NOT EXISTS queue_jobs_fetch ON queue_jobs (queue, run_at, id)
    WHERE state IN ('queued', 'scheduled', 'retrying');

-- Lease expiry: running jobs of a queue by deadline.
CREATE INDEX IF NOT EXISTS queue_jobs_lease ON queue_jobs (queue, lease_until)
    WHERE state = 'running';

-- Tenant listing, newest first, keyset-paginated on (created_at, id).
CREATE INDEX IF NOT EXISTS queue_jobs_tenant ON queue_jobs (tenant, created_at DESC, id DESC);

-- Retention purge: finished jobs of a queue by deadline.
CREATE INDEX IF NOT EXISTS queue_jobs_expire ON queue_jobs (queue, expire_at)
    WHERE expire_at IS NOT NULL;
