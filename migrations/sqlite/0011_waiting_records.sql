-- Records that wait on a job, found again by the recovery sweep when a queue lost the job
-- (a Redis that restarted without its last writes, or flushed). Partial indexes: a record
-- leaves them once its job has finished with it, so they stay as small as the work in flight.
CREATE INDEX emails_waiting ON emails (updated_at) WHERE status IN ('queued', 'sending', 'deferred');
CREATE INDEX documents_waiting ON documents (updated_at) WHERE status IN ('queued', 'rendering');
CREATE INDEX certificate_batches_waiting ON certificate_batches (updated_at) WHERE status = 'queued';
CREATE INDEX reports_waiting ON reports (updated_at) WHERE status IN ('queued', 'running');
