-- Cancelling running work: when a cancel was asked for while the job ran. Its worker sees it at
-- the next lease renewal, tells the handler, and ends the job `cancelled`; a lapsed lease with
-- it set ends `cancelled` too, never runs again.
ALTER TABLE queue_jobs ADD COLUMN cancel_requested_at INTEGER;
