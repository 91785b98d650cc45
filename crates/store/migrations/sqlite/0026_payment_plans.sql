-- Payment plans: a patient's balance paid in weekly or monthly installments, with optional
-- interest, scheduled exactly to the cent (domain::billing::amortize). The interest is posted
-- as a charge when the plan is made; payments name the plan they pay.

CREATE TABLE payment_plan_counters (
    org_id BLOB NOT NULL PRIMARY KEY REFERENCES organizations (id),
    next_number BIGINT NOT NULL
);

CREATE TABLE payment_plans (
    id BLOB NOT NULL PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations (id),
    number BIGINT NOT NULL,
    patient_id BLOB NOT NULL REFERENCES patients (id),
    location_id BLOB NOT NULL REFERENCES locations (id),
    currency TEXT NOT NULL,
    principal_minor BIGINT NOT NULL,
    down_minor BIGINT NOT NULL,
    rate_bp BIGINT NOT NULL,
    installments BIGINT NOT NULL,
    frequency TEXT NOT NULL,
    first_due TEXT NOT NULL,
    interest_minor BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX payment_plans_number ON payment_plans (org_id, number);
CREATE INDEX payment_plans_patient ON payment_plans (org_id, patient_id);

CREATE TABLE payment_plan_installments (
    plan_id BLOB NOT NULL REFERENCES payment_plans (id),
    org_id BLOB NOT NULL REFERENCES organizations (id),
    n BIGINT NOT NULL,
    due TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    principal_minor BIGINT NOT NULL,
    interest_minor BIGINT NOT NULL,
    PRIMARY KEY (plan_id, n)
);

ALTER TABLE ledger_postings ADD COLUMN payment_plan_id BLOB REFERENCES payment_plans (id);
