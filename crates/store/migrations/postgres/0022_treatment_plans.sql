-- Treatment plans: planned procedures with their phase, priority, diagnosis (encrypted), fee and
-- status; the analysis and routing of the plan; staff tasks (the inboxes); each clinic's
-- planning rules and routing thresholds. A plan made from an exam is unique per visit, and a
-- task made by a workflow is unique per source key: replaying the exam's job creates nothing twice.

CREATE TABLE treatment_plan_counters (
    org_id UUID NOT NULL PRIMARY KEY REFERENCES organizations (id),
    next_number BIGINT NOT NULL
);

CREATE TABLE treatment_plans (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    patient_id UUID NOT NULL REFERENCES patients (id),
    number BIGINT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    alternative_of UUID REFERENCES treatment_plans (id),
    visit_id UUID REFERENCES visits (id),
    route TEXT,
    total_minor BIGINT NOT NULL,
    complexity BIGINT NOT NULL,
    urgency TEXT NOT NULL,
    decision_enc TEXT,
    presented_at BIGINT,
    decided_at BIGINT,
    created_by_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX treatment_plans_number ON treatment_plans (org_id, number);
CREATE UNIQUE INDEX treatment_plans_visit ON treatment_plans (visit_id);
CREATE INDEX treatment_plans_patient ON treatment_plans (patient_id, created_at);
CREATE INDEX treatment_plans_org ON treatment_plans (org_id, status, created_at);

CREATE TABLE treatment_plan_items (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    plan_id UUID NOT NULL REFERENCES treatment_plans (id),
    seq BIGINT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    tooth BIGINT,
    area TEXT,
    surfaces TEXT NOT NULL,
    phase BIGINT NOT NULL,
    priority TEXT NOT NULL,
    diagnosis_enc TEXT,
    fee_minor BIGINT NOT NULL,
    minutes BIGINT NOT NULL,
    dentist_only BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    chart_entry_id UUID,
    appointment_id UUID REFERENCES appointments (id),
    seat_appointment_id UUID REFERENCES appointments (id)
);
CREATE INDEX treatment_plan_items_plan ON treatment_plan_items (plan_id, seq);

CREATE TABLE staff_tasks (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    patient_id UUID REFERENCES patients (id),
    plan_id UUID REFERENCES treatment_plans (id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    assignee_role TEXT,
    assignee_id UUID REFERENCES users (id),
    urgency TEXT NOT NULL,
    due_at BIGINT,
    status TEXT NOT NULL,
    source_key TEXT,
    created_by_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    done_at BIGINT,
    done_by_name TEXT
);
CREATE UNIQUE INDEX staff_tasks_source ON staff_tasks (org_id, source_key);
CREATE INDEX staff_tasks_open ON staff_tasks (org_id, status, due_at);

CREATE TABLE plan_settings (
    org_id UUID NOT NULL PRIMARY KEY REFERENCES organizations (id),
    rules TEXT NOT NULL,
    routing TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
