-- Patient search at a million patients: a sound-alike family name with a given-name prefix
-- ("Tremblya, Mar") and a preferred name with a family name seek their index instead of reading
-- every row of a common family name.

CREATE INDEX patients_family_ph_given_key ON patients (org_id, family_ph, given_key);
DROP INDEX patients_preferred_key;
CREATE INDEX patients_preferred_key ON patients (org_id, preferred_key, family_key);
