-- PDF documents (certificates, receipts, investor updates), per-tenant receipt numbers, and
-- certificate batches. Times are milliseconds since the Unix epoch (BIGINT); ids are TEXT.

CREATE TABLE documents (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    kind               TEXT NOT NULL,
    status             TEXT NOT NULL,
    data               TEXT NOT NULL,
    metadata           TEXT,
    job_id             TEXT NOT NULL,
    batch_id           TEXT,
    issuer             TEXT NOT NULL,
    verification_code  TEXT UNIQUE,
    verification_url   TEXT,
    receipt_number     TEXT,
    pages              BIGINT,
    bytes              BIGINT,
    sha256             TEXT,
    storage_key        TEXT,
    failure_reason     TEXT,
    revoked_at         BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    rendered_at        BIGINT
);
CREATE INDEX documents_tenant ON documents (tenant_id, id);
CREATE INDEX documents_tenant_kind ON documents (tenant_id, kind, id);
CREATE INDEX documents_batch ON documents (batch_id, status);

CREATE TABLE receipt_sequences (
    tenant_id    TEXT PRIMARY KEY,
    last_number  BIGINT NOT NULL
);

CREATE TABLE certificate_batches (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    status      TEXT NOT NULL,
    spec        TEXT NOT NULL,
    total       BIGINT NOT NULL,
    job_id      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX certificate_batches_tenant ON certificate_batches (tenant_id, id);
