-- Password reset by an emailed single-use link. The token is stored by its SHA-256 (to find and
-- check it) and encrypted (for the one job that emails it); it lives an hour and works once.

CREATE TABLE password_resets (
    id TEXT NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    user_id UUID NOT NULL REFERENCES users (id),
    token_enc TEXT NOT NULL,
    ip TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_user ON password_resets (user_id, created_at);
