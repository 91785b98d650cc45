-- Sign-in by a one-time code sent by SMS (seed 004), and the log of every message sent.
--
-- A challenge is created for every request, for a known number or not, so the answer never
-- tells whether a number has an account. The code is stored hashed for checking and encrypted
-- for the one job that sends it; a challenge lives 5 minutes, allows 5 attempts and is used once.

CREATE TABLE phone_challenges (
    id TEXT NOT NULL PRIMARY KEY,
    org_id UUID REFERENCES organizations (id),
    user_id UUID REFERENCES users (id),
    phone_hash TEXT NOT NULL,
    ip TEXT,
    code_hash TEXT NOT NULL,
    code_enc TEXT,
    attempts BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX phone_challenges_phone ON phone_challenges (phone_hash, created_at);
CREATE INDEX phone_challenges_ip ON phone_challenges (ip, created_at);

-- What was sent to whom, through which channel and provider, and what became of it. The
-- recipient is masked and the body is never stored: a sign-in code is a secret.
CREATE TABLE communications (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    user_id UUID REFERENCES users (id),
    patient_id UUID,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_id TEXT,
    status TEXT NOT NULL,
    error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX communications_user ON communications (org_id, user_id, created_at);
CREATE INDEX communications_patient ON communications (org_id, patient_id, created_at);
