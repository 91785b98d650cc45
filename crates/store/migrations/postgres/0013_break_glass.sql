-- Emergency access ("break the glass") to a patient restricted to another location: who, whom,
-- why, and until when. Each grant is also in the audit chain and raises a security alert.

CREATE TABLE break_glass (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    user_id UUID NOT NULL REFERENCES users (id),
    patient_id UUID NOT NULL REFERENCES patients (id),
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX break_glass_user ON break_glass (user_id, patient_id, expires_at);
