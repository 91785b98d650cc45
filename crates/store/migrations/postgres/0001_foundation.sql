-- Foundation: tenancy, jobs/outbox, events, objects.
-- Conventions (both trees): ids are UUIDs (UUID here, BLOB on SQLite); timestamps are
-- BIGINT microseconds since the Unix epoch (UTC); JSON documents are TEXT; indexes are
-- created by name, never by an inline UNIQUE, so both trees can be compared.

CREATE TABLE organizations (
    id UUID NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    storage TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX organizations_slug ON organizations (slug);

CREATE TABLE locations (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    currency TEXT NOT NULL,
    locale TEXT NOT NULL,
    address TEXT NOT NULL,
    opening_hours TEXT NOT NULL,
    storage TEXT,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX locations_org ON locations (org_id, name);

CREATE TABLE jobs (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID REFERENCES organizations (id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    run_at BIGINT NOT NULL,
    locked_by TEXT,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_claim ON jobs (status, run_at);
CREATE INDEX jobs_org_status ON jobs (org_id, status);
CREATE INDEX jobs_kind_status ON jobs (kind, status);

CREATE TABLE events (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID REFERENCES organizations (id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    origin TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_created ON events (created_at);

CREATE TABLE objects (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    location_id UUID REFERENCES locations (id),
    profile TEXT NOT NULL,
    object_key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX objects_org_key ON objects (org_id, object_key);
