-- Operators' dashboard sessions (/dashboard): a login with an operator key opens one, kept
-- server-side so that logout and expiry end it at once. Only a SHA-256 digest (hex) of the
-- session token is stored: the token itself lives in the operator's cookie, so a copy of this
-- table opens nothing. `operator` is the operator key's label (who the audit log names).
CREATE TABLE dashboard_sessions (
    token_sha256  TEXT PRIMARY KEY,
    operator      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
