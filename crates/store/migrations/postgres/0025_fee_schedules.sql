-- Fee schedules: the clinic's standard fees, a location's own, an insurance plan's. A fee
-- takes effect on a day; a later fee for the same code replaces it from its own day, and the
-- earlier one stays for the work done before.

CREATE TABLE fee_schedules (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    location_id UUID REFERENCES locations (id),
    payer TEXT,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX fee_schedules_org ON fee_schedules (org_id, kind);

CREATE TABLE fee_schedule_fees (
    schedule_id UUID NOT NULL REFERENCES fee_schedules (id),
    org_id UUID NOT NULL REFERENCES organizations (id),
    code TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    fee_minor BIGINT NOT NULL,
    set_by_name TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    PRIMARY KEY (schedule_id, code, effective_from)
);
