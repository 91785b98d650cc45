-- Audit: an append-only, hash-chained log per organization. Each event's hash covers the
-- previous event's hash and the event's canonical form (crates/store/src/audit.rs), so an
-- edited, deleted, inserted or reordered event breaks the chain; signed checkpoints catch a
-- wholesale rewrite. The database itself refuses UPDATE and DELETE on the log.
-- Organizations are archived, never deleted, once they have an audit trail.

ALTER TABLE organizations ADD COLUMN archived_at BIGINT;

CREATE TABLE audit_events (
    org_id BLOB NOT NULL REFERENCES organizations (id),
    seq BIGINT NOT NULL,
    id BLOB NOT NULL,
    at BIGINT NOT NULL,
    actor_id BLOB,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    patient_id BLOB,
    subject TEXT NOT NULL,
    details TEXT NOT NULL,
    ip TEXT,
    request_id TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE UNIQUE INDEX audit_events_id ON audit_events (id);
CREATE INDEX audit_events_patient ON audit_events (org_id, patient_id, at);
CREATE INDEX audit_events_at ON audit_events (org_id, at);

CREATE TABLE audit_heads (
    org_id BLOB NOT NULL PRIMARY KEY REFERENCES organizations (id),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE audit_checkpoints (
    org_id BLOB NOT NULL REFERENCES organizations (id),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, seq)
);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;
