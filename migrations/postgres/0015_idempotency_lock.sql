-- When the current claim of an Idempotency-Key was taken, by the database's clock (ms since the
-- Unix epoch). A claim still in progress past the lock timeout belongs to a request that died
-- (an API process killed mid-request): a retry of the same request may take it over. NULL for
-- keys claimed before this column existed (their `created_at` stands in).
ALTER TABLE idempotency_keys ADD COLUMN locked_at BIGINT;
