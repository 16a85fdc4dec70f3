-- Email delivery: emails and their events (status changes, opens, clicks, unsubscribes), tags,
-- per-tenant templates, suppression list and sender settings, and generated tracking keys.
-- Times are milliseconds since the Unix epoch (BIGINT); ids are TEXT; lists are JSON text.

CREATE TABLE emails (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    status             TEXT NOT NULL,
    job_id             TEXT NOT NULL,
    from_addr          TEXT NOT NULL,
    reply_to           TEXT,
    to_addrs           TEXT NOT NULL,
    cc_addrs           TEXT NOT NULL,
    bcc_addrs          TEXT NOT NULL,
    -- Normalised addresses of every recipient (JSON), matched against the suppression list.
    recipient_keys     TEXT NOT NULL,
    subject            TEXT NOT NULL,
    html               TEXT,
    text_body          TEXT NOT NULL,
    template           TEXT,
    attachments        TEXT NOT NULL,
    track_opens        BIGINT NOT NULL,
    track_clicks       BIGINT NOT NULL,
    tags               TEXT NOT NULL,
    metadata           TEXT,
    message_id         TEXT NOT NULL,
    send_at            BIGINT,
    attempts           BIGINT NOT NULL DEFAULT 0,
    last_reply         TEXT,
    suppressed         TEXT,
    -- The send claim (the idempotency record): who may talk to the mail server, until when.
    claim_token        TEXT,
    claim_until        BIGINT,
    -- 1 when the latest claim took over one whose attempt ended without recording its outcome.
    interrupted        BIGINT NOT NULL DEFAULT 0,
    first_deferred_at  BIGINT,
    request_id         TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    sent_at            BIGINT
);
CREATE INDEX emails_tenant ON emails (tenant_id, id);
CREATE INDEX emails_tenant_status ON emails (tenant_id, status, id);

CREATE TABLE email_tags (
    tenant_id  TEXT NOT NULL,
    tag        TEXT NOT NULL,
    email_id   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, tag, email_id)
);

CREATE TABLE email_events (
    id           BIGSERIAL PRIMARY KEY,
    email_id     TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    at           BIGINT NOT NULL,
    machine      TEXT,
    user_agent   TEXT,
    ip           TEXT,
    fingerprint  TEXT,
    link         TEXT,
    data         TEXT
);
CREATE INDEX email_events_email ON email_events (email_id, at);

CREATE TABLE email_templates (
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    html        TEXT,
    text        TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE email_suppressions (
    tenant_id   TEXT NOT NULL,
    address     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    email_id    TEXT,
    detail      TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, address)
);

CREATE TABLE email_settings (
    tenant_id      TEXT PRIMARY KEY,
    from_addr      TEXT,
    reply_to       TEXT,
    retry_base_ms  BIGINT,
    retry_max_ms   BIGINT,
    give_up_secs   BIGINT,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE email_tracking_keys (
    kid         TEXT PRIMARY KEY,
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
