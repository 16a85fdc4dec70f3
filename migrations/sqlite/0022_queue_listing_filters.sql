-- Listing a tenant's jobs by type or by an uncommon state without scanning all its jobs: with
-- 1,000,000 stored jobs a filter that matches few of them would otherwise read every row of
-- the tenant (the dashboard's pages must stay under 100 ms). A job's type never changes, so the
-- first index costs one entry per job; the second holds only the states an operator looks for
-- (a job on the usual queued → running → succeeded path never enters it).
CREATE INDEX IF NOT EXISTS queue_jobs_tenant_type
    ON queue_jobs (tenant, job_type, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS queue_jobs_tenant_rare_state
    ON queue_jobs (tenant, state, created_at DESC, id DESC)
    WHERE state IN ('scheduled', 'retrying', 'dead', 'cancelled');
