-- Treatment cases: a patient's problem with its diagnoses, procedures, prescriptions and files
-- linked (never copied). The title and notes are encrypted.

CREATE TABLE treatment_case_counters (
    org_id BLOB NOT NULL PRIMARY KEY REFERENCES organizations (id),
    next_number BIGINT NOT NULL
);

CREATE TABLE treatment_cases (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    patient_id BLOB NOT NULL REFERENCES patients (id),
    number BIGINT NOT NULL,
    dentist_id BLOB REFERENCES users (id),
    record_enc TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_by_name TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    closed_at BIGINT,
    closed_by_name TEXT,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX treatment_cases_number ON treatment_cases (org_id, number);
CREATE INDEX treatment_cases_patient ON treatment_cases (patient_id, opened_at);
CREATE INDEX treatment_cases_org ON treatment_cases (org_id, status, opened_at);

CREATE TABLE treatment_case_items (
    case_id BLOB NOT NULL REFERENCES treatment_cases (id),
    org_id BLOB NOT NULL REFERENCES organizations (id),
    kind TEXT NOT NULL,
    item_id BLOB NOT NULL,
    added_by_name TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, kind, item_id)
);
CREATE INDEX treatment_case_items_item ON treatment_case_items (org_id, kind, item_id);
