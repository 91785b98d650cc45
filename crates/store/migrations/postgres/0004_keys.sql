-- Per-organization data keys for field encryption, each wrapped (AES-256-GCM) by the master key
-- from configuration. The master key itself is never stored here.

CREATE TABLE org_keys (
    org_id UUID NOT NULL REFERENCES organizations (id),
    key_id TEXT NOT NULL,
    master_key_id TEXT NOT NULL,
    wrapped TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT,
    PRIMARY KEY (org_id, key_id)
);
-- One active data key per organization: a second server racing to create the first key loses
-- here and uses the winner's.
CREATE UNIQUE INDEX org_keys_active ON org_keys (org_id) WHERE retired_at IS NULL;
