-- Throughput and failures per queue and minute, for the dashboard's history (7 days and more):
-- compact aggregates written with the job history (`job_runs`) in the same transaction, so the
-- charts read at most a few thousand rows instead of scanning the jobs. `minute` is the finish
-- time in whole minutes since the Unix epoch.
CREATE TABLE job_minutes (
    minute     BIGINT NOT NULL,
    queue      TEXT   NOT NULL,
    succeeded  BIGINT NOT NULL DEFAULT 0,
    retried    BIGINT NOT NULL DEFAULT 0,
    dead       BIGINT NOT NULL DEFAULT 0,
    cancelled  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, queue)
);
