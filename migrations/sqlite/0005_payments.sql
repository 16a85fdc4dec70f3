-- Payments driven by gateway webhooks: payments and their event history, the receipt outbox,
-- payouts, expenses, gateway endpoints and the webhook inbox (the deduplication record).
-- Times are milliseconds since the Unix epoch (BIGINT); money is BIGINT minor units.

CREATE TABLE payments (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    amount           BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    reference        TEXT NOT NULL,
    customer_email   TEXT,
    customer_name    TEXT,
    description      TEXT,
    metadata         TEXT,
    status           TEXT NOT NULL,
    captured_amount  BIGINT NOT NULL,
    refunded_amount  BIGINT NOT NULL,
    status_at        BIGINT,
    history_len      BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX payments_tenant ON payments (tenant_id, id);
CREATE INDEX payments_reference ON payments (tenant_id, reference);

CREATE TABLE payment_history (
    payment_id    TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    event_id      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    amount        BIGINT,
    occurred_at   BIGINT NOT NULL,
    outcome       TEXT NOT NULL,
    reason        TEXT,
    status_after  TEXT NOT NULL,
    recorded_at   BIGINT NOT NULL,
    PRIMARY KEY (payment_id, seq)
);

CREATE TABLE payment_effects (
    payment_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    status      TEXT NOT NULL,
    detail      TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (payment_id, kind)
);
CREATE INDEX payment_effects_pending ON payment_effects (updated_at) WHERE status = 'pending';

CREATE TABLE payouts (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL,
    failure_reason  TEXT,
    status_at       BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (tenant_id, external_id)
);
CREATE INDEX payouts_tenant ON payouts (tenant_id, id);

CREATE TABLE expenses (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    description  TEXT,
    category     TEXT,
    occurred_at  BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, external_id)
);
CREATE INDEX expenses_tenant ON expenses (tenant_id, id);

CREATE TABLE webhook_endpoints (
    id                    TEXT PRIMARY KEY,
    tenant_id             TEXT NOT NULL,
    provider              TEXT NOT NULL,
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_valid_until  BIGINT,
    created_at            BIGINT NOT NULL,
    rotated_at            BIGINT
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);

CREATE TABLE webhook_events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    endpoint_id  TEXT NOT NULL,
    provider     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    occurred_at  BIGINT,
    body         TEXT NOT NULL,
    status       TEXT NOT NULL,
    reason       TEXT,
    payment_id   TEXT,
    replays      BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_events_tenant ON webhook_events (tenant_id, id);
CREATE INDEX webhook_events_tenant_status ON webhook_events (tenant_id, status, id);
-- Partial indexes stay small: rows leave them once handled (the sweeper's and the parked refunds').
CREATE INDEX webhook_events_received ON webhook_events (updated_at) WHERE status = 'received';
CREATE INDEX webhook_events_deferred ON webhook_events (payment_id) WHERE status = 'deferred';
