-- Prescriptions: the organization's medicine catalog, and prescriptions. A prescription is
-- never edited once written: it is cancelled (with a reason) and written again. Its clinical
-- content (medicine, directions, the warnings shown and the override reason) is encrypted.

CREATE TABLE medicines (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    strength TEXT NOT NULL,
    form TEXT NOT NULL,
    route TEXT NOT NULL,
    dose TEXT NOT NULL,
    frequency TEXT NOT NULL,
    duration_days BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    directions TEXT NOT NULL,
    classes TEXT NOT NULL,
    controlled BOOLEAN NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX medicines_label ON medicines (org_id, name, strength, form);

CREATE TABLE prescription_counters (
    org_id UUID NOT NULL PRIMARY KEY REFERENCES organizations (id),
    next_number BIGINT NOT NULL
);

CREATE TABLE prescriptions (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    patient_id UUID NOT NULL REFERENCES patients (id),
    number BIGINT NOT NULL,
    visit_id UUID REFERENCES visits (id),
    medicine_id UUID REFERENCES medicines (id),
    prescriber_id UUID NOT NULL REFERENCES users (id),
    prescriber_name TEXT NOT NULL,
    record_enc TEXT NOT NULL,
    warnings BIGINT NOT NULL,
    prescribed_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    cancelled_at BIGINT,
    cancelled_by_name TEXT,
    cancel_reason_enc TEXT
);
CREATE UNIQUE INDEX prescriptions_number ON prescriptions (org_id, number);
CREATE INDEX prescriptions_patient ON prescriptions (patient_id, prescribed_at);
CREATE INDEX prescriptions_org ON prescriptions (org_id, prescribed_at);
CREATE INDEX prescriptions_visit ON prescriptions (visit_id);
