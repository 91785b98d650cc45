-- Clinical charting: the organization's procedure and condition catalog, its charting
-- settings, and chart entries (a catalog code on a tooth and its surfaces, an area or the
-- mouth, with a status). Teeth are ISO 3950 (FDI) numbers; surfaces a bit set (M 1, O 2, I 4,
-- D 8, B/F 16, L/P 32); areas their codes (UR, U, S1, mouth). The odontogram is computed from
-- the entries, never stored as a drawing. Entries are not deleted: a mistake is voided, with
-- who, when and why.
--
-- charts holds one version per patient, raised by every change: a writer locks it first (an
-- upsert), so concurrent writers to one chart go one at a time and a stale base version is
-- caught (changed_version on each entry says which change touched it last).

CREATE TABLE clinical_settings (
    org_id BLOB NOT NULL PRIMARY KEY REFERENCES organizations (id),
    numbering TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE procedure_codes (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    minutes BIGINT NOT NULL,
    site TEXT NOT NULL,
    dentist_only BOOLEAN NOT NULL,
    fee_minor BIGINT NOT NULL,
    icd10 TEXT,
    effect TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX procedure_codes_code ON procedure_codes (org_id, code);

CREATE TABLE charts (
    patient_id BLOB NOT NULL PRIMARY KEY REFERENCES patients (id),
    org_id BLOB NOT NULL REFERENCES organizations (id),
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE chart_entries (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    patient_id BLOB NOT NULL REFERENCES patients (id),
    code_id BLOB NOT NULL REFERENCES procedure_codes (id),
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    effect TEXT NOT NULL,
    tooth BIGINT,
    surfaces BIGINT NOT NULL,
    area TEXT,
    status TEXT NOT NULL,
    note_enc TEXT,
    override_reason TEXT,
    provider_id BLOB REFERENCES users (id),
    recorded_by BLOB REFERENCES users (id),
    recorded_by_name TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    completed_at BIGINT,
    completed_by_name TEXT,
    voided_at BIGINT,
    voided_by_name TEXT,
    void_reason TEXT,
    changed_version BIGINT NOT NULL
);
CREATE INDEX chart_entries_patient ON chart_entries (patient_id, recorded_at);
CREATE INDEX chart_entries_tooth ON chart_entries (patient_id, tooth, changed_version);
CREATE INDEX chart_entries_org ON chart_entries (org_id, recorded_at);

-- Periodontal exams: one row per exam, its readings (domain::clinical::perio::PerioExam as
-- JSON, encrypted like the medical history), and the stage the clinician confirmed, if any.
-- exam_no counts a patient's exams (1, 2, ...); a merge moves exams with their numbers, so the
-- survivor may then have two of one number (they are told apart by date).
CREATE TABLE perio_exams (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    patient_id BLOB NOT NULL REFERENCES patients (id),
    exam_no BIGINT NOT NULL,
    data_enc TEXT NOT NULL,
    recorded_by BLOB REFERENCES users (id),
    recorded_by_name TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    confirmed_case TEXT,
    confirmed_by_name TEXT,
    confirmed_at BIGINT
);
CREATE INDEX perio_exams_patient ON perio_exams (patient_id, exam_no);

-- Visits: kind, dentist, linked appointment; the chief complaint and SOAP notes (encrypted
-- JSON). Signing locks the record (signed_at) and keeps the odontogram as it stood then
-- (snapshot_enc); later words are addenda, each signed and timestamped.
CREATE TABLE visits (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    patient_id BLOB NOT NULL REFERENCES patients (id),
    appointment_id BLOB REFERENCES appointments (id),
    kind TEXT NOT NULL,
    dentist_id BLOB REFERENCES users (id),
    record_enc TEXT NOT NULL,
    created_by BLOB REFERENCES users (id),
    created_by_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    signed_at BIGINT,
    signed_by BLOB REFERENCES users (id),
    signed_by_name TEXT,
    snapshot_enc TEXT
);
CREATE INDEX visits_patient ON visits (patient_id, created_at);

CREATE TABLE visit_addenda (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    visit_id BLOB NOT NULL REFERENCES visits (id),
    patient_id BLOB NOT NULL REFERENCES patients (id),
    text_enc TEXT NOT NULL,
    signed_by BLOB REFERENCES users (id),
    signed_by_name TEXT NOT NULL,
    signed_at BIGINT NOT NULL
);
CREATE INDEX visit_addenda_visit ON visit_addenda (visit_id, signed_at);
