-- The books: immutable postings with their double entry, payment allocations, closed days,
-- and the idempotency keys of payment requests. Postings, lines, allocations and closed days
-- are never updated or deleted (a correction is a reversal), except when an organization is
-- retired (its row archived first).

CREATE TABLE ledger_counters (
    org_id UUID NOT NULL PRIMARY KEY REFERENCES organizations (id),
    next_number BIGINT NOT NULL
);

-- A posting: one event of the books, numbered per organization without gaps, on the day of
-- its location. `reverses`: the posting it undoes (at most one reversal each).
CREATE TABLE ledger_postings (
    id UUID NOT NULL PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    seq BIGINT NOT NULL,
    location_id UUID NOT NULL REFERENCES locations (id),
    patient_id UUID NOT NULL REFERENCES patients (id),
    kind TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    method TEXT,
    posted_on TEXT NOT NULL,
    posted_at BIGINT NOT NULL,
    actor_id UUID,
    actor_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    reverses UUID REFERENCES ledger_postings (id),
    procedure_id UUID,
    provider_id UUID,
    transfer_to UUID REFERENCES patients (id),
    reference TEXT NOT NULL
);
CREATE UNIQUE INDEX ledger_postings_seq ON ledger_postings (org_id, seq);
CREATE UNIQUE INDEX ledger_postings_reverses ON ledger_postings (reverses);
CREATE INDEX ledger_postings_patient ON ledger_postings (org_id, patient_id, posted_on);
CREATE INDEX ledger_postings_day ON ledger_postings (org_id, location_id, posted_on);

-- The double entry of each posting: debits positive, credits negative, summing to zero.
CREATE TABLE ledger_lines (
    posting_id UUID NOT NULL REFERENCES ledger_postings (id),
    n BIGINT NOT NULL,
    org_id UUID NOT NULL REFERENCES organizations (id),
    account TEXT NOT NULL,
    party_id UUID,
    amount_minor BIGINT NOT NULL,
    PRIMARY KEY (posting_id, n)
);
CREATE INDEX ledger_lines_party ON ledger_lines (org_id, party_id, account);

-- What a payment paid: charges (a procedure, its provider).
CREATE TABLE ledger_allocations (
    posting_id UUID NOT NULL REFERENCES ledger_postings (id),
    charge_id UUID NOT NULL REFERENCES ledger_postings (id),
    org_id UUID NOT NULL REFERENCES organizations (id),
    amount_minor BIGINT NOT NULL,
    PRIMARY KEY (posting_id, charge_id)
);
CREATE INDEX ledger_allocations_charge ON ledger_allocations (charge_id);

-- Days closed at a location: their postings are final; corrections post to today.
CREATE TABLE ledger_closed_days (
    org_id UUID NOT NULL REFERENCES organizations (id),
    location_id UUID NOT NULL REFERENCES locations (id),
    day TEXT NOT NULL,
    closed_at BIGINT NOT NULL,
    closed_by_name TEXT NOT NULL,
    PRIMARY KEY (org_id, location_id, day)
);

-- Requests made safe to retry (the Idempotency-Key header): the first one's answer is kept
-- and given again for the same key and body.
CREATE TABLE idempotency_keys (
    org_id UUID NOT NULL REFERENCES organizations (id),
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    response_status BIGINT,
    response_body TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, idem_key)
);

CREATE FUNCTION cuspid_ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM organizations WHERE id = OLD.org_id AND archived_at IS NOT NULL
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is immutable: post a reversal', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER ledger_postings_immutable BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION cuspid_ledger_immutable();
CREATE TRIGGER ledger_lines_immutable BEFORE UPDATE OR DELETE ON ledger_lines
    FOR EACH ROW EXECUTE FUNCTION cuspid_ledger_immutable();
CREATE TRIGGER ledger_allocations_immutable BEFORE UPDATE OR DELETE ON ledger_allocations
    FOR EACH ROW EXECUTE FUNCTION cuspid_ledger_immutable();
CREATE TRIGGER ledger_closed_days_immutable BEFORE UPDATE OR DELETE ON ledger_closed_days
    FOR EACH ROW EXECUTE FUNCTION cuspid_ledger_immutable();
