-- Events back to the tenant's app: signed webhooks when an email is opened, a document is
-- ready, a payment changes. An event is written in the transaction of the change that causes
-- it, together with one delivery row per endpoint subscribed to its type at that moment (the
-- fan-out); workers claim due deliveries, send them and log every attempt.
-- Times are milliseconds since the Unix epoch (BIGINT); flags are 0/1 BIGINTs.

CREATE TABLE event_endpoints (
    id                    TEXT PRIMARY KEY,
    tenant_id             TEXT NOT NULL,
    url                   TEXT NOT NULL,
    description           TEXT NOT NULL,
    -- The types asked for, as a JSON array; empty means every type.
    event_types           TEXT NOT NULL,
    enabled               BIGINT NOT NULL,
    disabled_reason       TEXT,
    disabled_at           BIGINT,
    -- When the current run of failed attempts began (NULL after a success).
    failing_since         BIGINT,
    max_concurrent        BIGINT NOT NULL,
    rate_per_second       DOUBLE PRECISION,
    -- The signing secret, sealed; during a rotation's overlap the previous one signs too.
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_valid_until  BIGINT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX event_endpoints_tenant ON event_endpoints (tenant_id, id);

-- Which enabled endpoints receive which type ('*': all): what the fan-out reads. Rows exist
-- only while their endpoint is enabled.
CREATE TABLE event_subscriptions (
    tenant_id    TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    endpoint_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, event_type, endpoint_id)
);
CREATE INDEX event_subscriptions_endpoint ON event_subscriptions (endpoint_id);

CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    type         TEXT NOT NULL,
    resource_id  TEXT,
    -- The whole JSON body every endpoint receives (it never changes after the change).
    body         TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, id);
CREATE INDEX events_created ON events (created_at);

CREATE TABLE event_deliveries (
    event_id         TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL,
    tenant_id        TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    -- Attempts made before the last replay: the retry schedule starts again after one.
    attempt_base     BIGINT NOT NULL DEFAULT 0,
    -- Due time while pending; while an attempt is out, when its lease ends.
    next_attempt_at  BIGINT NOT NULL,
    -- The attempt out now (NULL when none): its outcome is recorded only under this token.
    lease_token      TEXT,
    last_attempt_at  BIGINT,
    last_status      BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (event_id, endpoint_id)
);
CREATE INDEX event_deliveries_due ON event_deliveries (endpoint_id, next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX event_deliveries_out ON event_deliveries (endpoint_id)
    WHERE lease_token IS NOT NULL;
CREATE INDEX event_deliveries_failed ON event_deliveries (endpoint_id, updated_at)
    WHERE status = 'failed';
CREATE INDEX event_deliveries_created ON event_deliveries (created_at);

CREATE TABLE event_attempts (
    -- Ordered by time (a ULID at started_at), for paging.
    id           TEXT PRIMARY KEY,
    endpoint_id  TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    attempt      BIGINT NOT NULL,
    tenant_id    TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    latency_ms   BIGINT NOT NULL,
    succeeded    BIGINT NOT NULL,
    status       BIGINT,
    error        TEXT,
    excerpt      TEXT,
    UNIQUE (endpoint_id, event_id, attempt)
);
CREATE INDEX event_attempts_endpoint ON event_attempts (endpoint_id, id);
CREATE INDEX event_attempts_started ON event_attempts (started_at);
