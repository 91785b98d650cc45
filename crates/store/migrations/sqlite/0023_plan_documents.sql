-- The treatment-plan document an exam's routing files in the patient's documents: one per
-- plan, so a replayed routing job files nothing twice.

ALTER TABLE treatment_plans ADD COLUMN document_id BLOB REFERENCES patient_documents (id);
