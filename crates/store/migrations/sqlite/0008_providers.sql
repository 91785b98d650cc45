-- A provider's professional profile (the people with an agenda: dentists and hygienists).

CREATE TABLE provider_profiles (
    user_id BLOB NOT NULL PRIMARY KEY REFERENCES users (id),
    org_id BLOB NOT NULL REFERENCES organizations (id),
    licence_number TEXT NOT NULL,
    npi TEXT NOT NULL,
    specialty TEXT NOT NULL,
    color TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX provider_profiles_org ON provider_profiles (org_id);
