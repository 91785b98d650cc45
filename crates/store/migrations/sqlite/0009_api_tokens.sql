-- API tokens for External clients. Each token acts as its own user (role external, no password),
-- so its actions are audited under its name; the token itself is stored only as a SHA-256.

CREATE TABLE api_tokens (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_by BLOB REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_org ON api_tokens (org_id, created_at);
