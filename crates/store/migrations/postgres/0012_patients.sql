-- Patients: families (a guarantor each), the patient record with its search keys, phones,
-- versioned medical histories, documents, merges (kept to be undone), custom field
-- definitions, imports, and the per-organization chart number counter and settings.
--
-- Search keys are plain columns on b-tree indexes (see domain::patients::search): the folded
-- name (searched by prefix, as a range) and a phonetic key (by equality); phone numbers by
-- their reversed digits (an "ends with" is a prefix).

CREATE TABLE patient_settings (
    org_id UUID NOT NULL PRIMARY KEY REFERENCES organizations (id),
    next_chart_number BIGINT NOT NULL,
    history_review_months BIGINT NOT NULL,
    merge_undo_days BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE families (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    -- The responsible party: one of the patients, or a person who is not a patient.
    guarantor_patient_id UUID,
    guarantor_name TEXT NOT NULL,
    guarantor_phone TEXT NOT NULL,
    guarantor_email TEXT NOT NULL,
    guarantor_relationship TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX families_org ON families (org_id);

CREATE TABLE patients (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    location_id UUID NOT NULL REFERENCES locations (id),
    restricted BOOLEAN NOT NULL,
    family_id UUID NOT NULL REFERENCES families (id),
    chart_number BIGINT NOT NULL,
    status TEXT NOT NULL,
    merged_into UUID,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    middle_name TEXT NOT NULL,
    preferred_name TEXT NOT NULL,
    given_key TEXT NOT NULL,
    family_key TEXT NOT NULL,
    preferred_key TEXT NOT NULL,
    given_ph TEXT NOT NULL,
    family_ph TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    sex TEXT NOT NULL,
    gender_identity TEXT NOT NULL,
    pronouns TEXT NOT NULL,
    language TEXT NOT NULL,
    email TEXT NOT NULL,
    email_consent BOOLEAN NOT NULL,
    address TEXT NOT NULL,
    emergency_contact TEXT NOT NULL,
    referral_source TEXT NOT NULL,
    referral_detail TEXT NOT NULL,
    national_id_enc TEXT,
    national_id_bidx TEXT,
    external_id TEXT,
    custom TEXT NOT NULL,
    history_reviewed_at BIGINT,
    created_by UUID,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX patients_chart_number ON patients (org_id, chart_number);
CREATE UNIQUE INDEX patients_external_id ON patients (org_id, external_id);
CREATE INDEX patients_family_key ON patients (org_id, family_key, given_key);
CREATE INDEX patients_given_key ON patients (org_id, given_key, family_key);
CREATE INDEX patients_preferred_key ON patients (org_id, preferred_key);
CREATE INDEX patients_family_ph ON patients (org_id, family_ph, given_ph);
CREATE INDEX patients_given_ph ON patients (org_id, given_ph);
CREATE INDEX patients_birth_date ON patients (org_id, birth_date);
CREATE INDEX patients_email ON patients (org_id, email);
CREATE INDEX patients_national_id ON patients (org_id, national_id_bidx);
CREATE INDEX patients_family ON patients (family_id);

CREATE TABLE patient_phones (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    patient_id UUID NOT NULL REFERENCES patients (id),
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    digits_rev TEXT NOT NULL,
    sms_consent BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX patient_phones_digits ON patient_phones (org_id, digits_rev);
CREATE INDEX patient_phones_patient ON patient_phones (patient_id);

-- One row per version; the newest is the current history. The history itself is encrypted.
CREATE TABLE medical_histories (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    patient_id UUID NOT NULL REFERENCES patients (id),
    version BIGINT NOT NULL,
    history_enc TEXT NOT NULL,
    changes_enc TEXT NOT NULL,
    reviewed BOOLEAN NOT NULL,
    recorded_by UUID,
    recorded_by_name TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX medical_histories_version ON medical_histories (patient_id, version);

-- A document's versions share a series; nothing is deleted but by retention (deleted_at).
CREATE TABLE patient_documents (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    patient_id UUID NOT NULL REFERENCES patients (id),
    series_id UUID NOT NULL,
    version BIGINT NOT NULL,
    object_id UUID NOT NULL REFERENCES objects (id),
    category TEXT NOT NULL,
    title TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    treatment_id UUID,
    uploaded_by UUID,
    uploaded_by_name TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    deleted_at BIGINT,
    deleted_by UUID,
    delete_reason TEXT
);
CREATE INDEX patient_documents_patient ON patient_documents (patient_id, uploaded_at);
CREATE UNIQUE INDEX patient_documents_series ON patient_documents (series_id, version);

CREATE TABLE patient_merges (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    survivor_id UUID NOT NULL REFERENCES patients (id),
    merged_id UUID NOT NULL REFERENCES patients (id),
    moved TEXT NOT NULL,
    merged_by UUID,
    merged_by_name TEXT NOT NULL,
    merged_at BIGINT NOT NULL,
    undone_at BIGINT,
    undone_by UUID
);
CREATE INDEX patient_merges_survivor ON patient_merges (survivor_id);
CREATE INDEX patient_merges_merged ON patient_merges (merged_id);

CREATE TABLE patient_field_defs (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    field_key TEXT NOT NULL,
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    choices TEXT NOT NULL,
    required BOOLEAN NOT NULL,
    position BIGINT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX patient_field_defs_key ON patient_field_defs (org_id, field_key);

CREATE TABLE patient_imports (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    location_id UUID NOT NULL REFERENCES locations (id),
    object_id UUID REFERENCES objects (id),
    file_name TEXT NOT NULL,
    mapping TEXT NOT NULL,
    dry_run BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    total_rows BIGINT NOT NULL,
    processed BIGINT NOT NULL,
    created BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    errors TEXT NOT NULL,
    started_by UUID,
    started_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX patient_imports_org ON patient_imports (org_id, started_at);
