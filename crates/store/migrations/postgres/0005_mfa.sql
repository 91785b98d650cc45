-- Second factor: a TOTP secret per user (encrypted with the organization's data key, like every
-- sensitive field), the last accepted time step (a code is never accepted twice), single-use
-- recovery codes stored by hash, the roles an organization requires MFA of, and sessions that
-- have passed the password but not yet the second factor.

ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE users ADD COLUMN mfa_enabled_at BIGINT;

ALTER TABLE sessions ADD COLUMN mfa_pending BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE recovery_codes (
    user_id UUID NOT NULL REFERENCES users (id),
    org_id UUID NOT NULL REFERENCES organizations (id),
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE mfa_required_roles (
    org_id UUID NOT NULL REFERENCES organizations (id),
    role TEXT NOT NULL,
    PRIMARY KEY (org_id, role)
);
