-- Fair dequeue between tenants: runnable jobs of a queue by tenant, so a fetch can step from
-- one tenant to the next (one index seek each) and take each one's oldest due jobs, rather than
-- the queue's oldest jobs whoever they belong to (one tenant's burst would starve the others).
CREATE INDEX IF NOT EXISTS queue_jobs_fair ON queue_jobs (queue, tenant, run_at, id)
    WHERE state IN ('queued', 'scheduled', 'retrying');

-- The per-tenant concurrency cap (`LONGSHORE_TENANT_CONCURRENCY`): a tenant's running jobs of
-- a queue, counted at each fetch that would serve it.
CREATE INDEX IF NOT EXISTS queue_jobs_running_tenant ON queue_jobs (queue, tenant)
    WHERE state = 'running';
