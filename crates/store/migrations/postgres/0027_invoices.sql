-- Invoices: several lines (procedures already charged, medicines, products, services), with
-- discounts per line or on the total (a reason and a permission), taxes, and a number per
-- location given when the invoice is issued, without gaps (a voided invoice keeps its
-- number). Issuing posts what the invoice adds to the books (its items, its tax, its
-- discounts); voiding reverses those postings. Drafts post nothing.

CREATE TABLE invoice_settings (
    org_id UUID NOT NULL REFERENCES organizations (id),
    location_id UUID NOT NULL REFERENCES locations (id),
    prefix TEXT NOT NULL,
    tax_label TEXT NOT NULL,
    tax_rate_bp BIGINT NOT NULL,
    PRIMARY KEY (org_id, location_id)
);

CREATE TABLE invoice_counters (
    org_id UUID NOT NULL REFERENCES organizations (id),
    location_id UUID NOT NULL REFERENCES locations (id),
    next_number BIGINT NOT NULL,
    PRIMARY KEY (org_id, location_id)
);

CREATE TABLE invoices (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    location_id UUID NOT NULL REFERENCES locations (id),
    patient_id UUID NOT NULL REFERENCES patients (id),
    number BIGINT,
    label TEXT,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    discount_kind TEXT,
    discount_value BIGINT,
    discount_reason TEXT NOT NULL,
    notes TEXT NOT NULL,
    subtotal_minor BIGINT NOT NULL,
    discount_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    issued_on TEXT,
    due_on TEXT,
    tax_posting_id UUID REFERENCES ledger_postings (id),
    discount_posting_id UUID REFERENCES ledger_postings (id),
    created_at BIGINT NOT NULL,
    created_by_name TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    issued_at BIGINT,
    issued_by_name TEXT,
    voided_at BIGINT,
    voided_by_name TEXT,
    void_reason TEXT
);
CREATE UNIQUE INDEX invoices_number ON invoices (org_id, location_id, number);
CREATE INDEX invoices_patient ON invoices (org_id, patient_id, created_at);
CREATE INDEX invoices_status ON invoices (org_id, status, created_at);

CREATE TABLE invoice_lines (
    invoice_id UUID NOT NULL REFERENCES invoices (id),
    n BIGINT NOT NULL,
    org_id UUID NOT NULL REFERENCES organizations (id),
    kind TEXT NOT NULL,
    charge_id UUID REFERENCES ledger_postings (id),
    code TEXT NOT NULL,
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_minor BIGINT NOT NULL,
    discount_kind TEXT,
    discount_value BIGINT,
    discount_reason TEXT NOT NULL,
    tax_bp BIGINT NOT NULL,
    gross_minor BIGINT NOT NULL,
    discount_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    PRIMARY KEY (invoice_id, n)
);
CREATE INDEX invoice_lines_charge ON invoice_lines (charge_id);
