//! Patients: registration, the record, families and guarantors, status, and the audited read.
//!
//! How patients relate to locations: every patient has a home location (`location_id`, where
//! they were registered or mostly seen). A dental group shares its patients: any user of the
//! organization may find and open any patient, whatever the locations the user is limited to.
//! A patient marked `restricted` (a staff member, a VIP, a clinic that keeps separate books) is
//! visible only to users allowed at the patient's home location; to everyone else the record
//! does not exist (404, absent from search, family lists and duplicates).
//!
//! Every read of a record writes `patient.read` to the audit chain in the same transaction;
//! searches write `patient.search` with the records listed.

pub mod bulk;
pub mod documents;
pub mod history;
pub mod import;
pub mod merge;
pub mod search;

use std::collections::BTreeMap;

use domain::patients::search::{name_key, phone_key, phonetic_key};
use domain::patients::{
    EmergencyContact, PatientDetails, PatientInput, PatientStatus, Phone, calling_code_for,
    national_id_key,
};
use domain::{
    Address, DomainError, FamilyId, FieldError, LocationId, OrgId, PatientId, Scope, UserId,
};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::audit::AuditEntry;
use crate::crypto::FieldCipher;
use crate::db::{DbError, DbResult, Q, Row};
use crate::tenancy::WriteError;
use crate::{Store, Txn};

/// The encrypted national identifier's field name (associated data and rotation registry).
pub const NATIONAL_ID_FIELD: &str = "patients.national_id";

/// Who is acting, for the audit trail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actor {
    pub id: Option<UserId>,
    /// The user's email, "import", "demo", "system".
    pub name: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn system(name: &str) -> Actor {
        Actor {
            name: name.into(),
            ..Default::default()
        }
    }

    /// An audit entry by this actor.
    pub fn entry(
        &self,
        action: &str,
        patient: Option<PatientId>,
        subject: &str,
        details: serde_json::Value,
    ) -> AuditEntry {
        let mut e = AuditEntry::system(action, subject, details);
        e.actor_id = self.id;
        e.actor = self.name.clone();
        e.patient_id = patient;
        e.ip = self.ip.clone();
        e.request_id = self.request_id.clone();
        e
    }
}

/// A patient record.
#[derive(Clone, Debug, PartialEq)]
pub struct Patient {
    pub id: PatientId,
    pub org_id: OrgId,
    pub location_id: LocationId,
    pub restricted: bool,
    pub family_id: FamilyId,
    pub chart_number: i64,
    pub status: PatientStatus,
    pub merged_into: Option<PatientId>,
    pub details: PatientDetails,
    pub history_reviewed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A line of a list: search results, a family, duplicates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PatientSummary {
    pub id: PatientId,
    pub chart_number: i64,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: String,
    pub birth_date: Date,
    pub status: PatientStatus,
    pub location_id: LocationId,
    pub family_id: FamilyId,
    /// The first phone number, E.164.
    pub phone: Option<String>,
}

impl PatientSummary {
    pub fn display_name(&self) -> String {
        domain::patients::display_name(&self.given_name, &self.family_name, &self.preferred_name)
    }
}

/// Whom a new patient's bills go to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FamilyChoice {
    /// A new family with the patient as its guarantor.
    Own,
    /// The family of an existing patient (a parent, a spouse); its guarantor stays.
    JoinFamilyOf(PatientId),
    /// A new family whose guarantor is not a patient.
    Guarantor(NonPatientGuarantor),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NonPatientGuarantor {
    pub name: String,
    pub relationship: String,
    /// E.164 once validated.
    pub phone: String,
    pub email: String,
}

/// What registration takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPatient {
    pub location_id: LocationId,
    pub restricted: bool,
    pub input: PatientInput,
    pub family: FamilyChoice,
    /// An imported status (registration is `Active`).
    pub status: PatientStatus,
}

/// A family: its guarantor and members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Family {
    pub id: FamilyId,
    pub guarantor_patient: Option<PatientId>,
    pub guarantor: NonPatientGuarantor,
    pub members: Vec<PatientSummary>,
}

impl Family {
    /// The guarantor's name as shown: the member's, or the non-patient's.
    pub fn guarantor_name(&self) -> String {
        match self.guarantor_patient {
            Some(g) => self
                .members
                .iter()
                .find(|m| m.id == g)
                .map(PatientSummary::display_name)
                .unwrap_or_default(),
            None => self.guarantor.name.clone(),
        }
    }
}

/// The organization's patient settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientSettings {
    pub history_review_months: i64,
    pub merge_undo_days: i64,
}

impl Default for PatientSettings {
    fn default() -> Self {
        PatientSettings {
            history_review_months: 12,
            merge_undo_days: 30,
        }
    }
}

impl From<crate::crypto::CryptoError> for WriteError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        WriteError::Db(e.into())
    }
}

fn corrupt(what: &str) -> DbError {
    DbError::Corrupt(what.to_string())
}

pub(crate) fn status_of(r: &Row) -> DbResult<PatientStatus> {
    let s = r.string("status")?;
    PatientStatus::from_code(&s).ok_or_else(|| corrupt(&format!("patient status {s}")))
}

pub(crate) fn date_of(r: &Row, col: &str) -> DbResult<Date> {
    let s = r.string(col)?;
    domain::patients::parse_iso_date(&s).ok_or_else(|| corrupt(&format!("date {s}")))
}

/// A summary from a row of `patients` (plus an optional `phone` column).
pub(crate) fn summary_of(r: &Row) -> DbResult<PatientSummary> {
    Ok(PatientSummary {
        id: PatientId::from_uuid(r.uuid("id")?),
        chart_number: r.i64("chart_number")?,
        given_name: r.string("given_name")?,
        family_name: r.string("family_name")?,
        preferred_name: r.string("preferred_name")?,
        birth_date: date_of(r, "birth_date")?,
        status: status_of(r)?,
        location_id: LocationId::from_uuid(r.uuid("location_id")?),
        family_id: FamilyId::from_uuid(r.uuid("family_id")?),
        phone: r.opt_string("phone").ok().flatten(),
    })
}

/// Whether the scope may see a record at `location` marked `restricted`.
pub fn visible(scope: &Scope, location: LocationId, restricted: bool) -> bool {
    !restricted || scope.allows_location(location)
}

pub(crate) fn visible_row(scope: &Scope, r: &Row) -> DbResult<bool> {
    Ok(visible(
        scope,
        LocationId::from_uuid(r.uuid("location_id")?),
        r.bool("restricted")?,
    ))
}

async fn phones_of(tx: &mut Txn, patient: PatientId) -> DbResult<Vec<Phone>> {
    tx.fetch_all(
        Q::new(
            "SELECT kind, number, sms_consent FROM patient_phones WHERE patient_id = $1 ORDER BY position",
        )
        .bind(patient),
    )
    .await?
    .iter()
    .map(|r| {
        Ok(Phone {
            kind: r.string("kind")?,
            number: r.string("number")?,
            sms_consent: r.bool("sms_consent")?,
        })
    })
    .collect()
}

fn patient_of(r: &Row, phones: Vec<Phone>, national_id: String) -> DbResult<Patient> {
    let custom: BTreeMap<String, String> = r.json("custom")?;
    Ok(Patient {
        id: PatientId::from_uuid(r.uuid("id")?),
        org_id: OrgId::from_uuid(r.uuid("org_id")?),
        location_id: LocationId::from_uuid(r.uuid("location_id")?),
        restricted: r.bool("restricted")?,
        family_id: FamilyId::from_uuid(r.uuid("family_id")?),
        chart_number: r.i64("chart_number")?,
        status: status_of(r)?,
        merged_into: r.opt_uuid("merged_into")?.map(PatientId::from_uuid),
        details: PatientDetails {
            given_name: r.string("given_name")?,
            family_name: r.string("family_name")?,
            middle_name: r.string("middle_name")?,
            preferred_name: r.string("preferred_name")?,
            birth_date: date_of(r, "birth_date")?,
            sex: r.string("sex")?,
            gender_identity: r.string("gender_identity")?,
            pronouns: r.string("pronouns")?,
            language: r.string("language")?,
            phones,
            email: r.string("email")?,
            email_consent: r.bool("email_consent")?,
            address: r.json::<Address>("address")?,
            emergency_contact: r.json::<EmergencyContact>("emergency_contact")?,
            referral_source: r.string("referral_source")?,
            referral_detail: r.string("referral_detail")?,
            national_id,
            external_id: r.opt_string("external_id")?.unwrap_or_default(),
            custom,
        },
        history_reviewed_at: r.opt_ts("history_reviewed_at")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

/// The validation error for a patient's fields.
fn invalid(errors: Vec<FieldError>) -> WriteError {
    WriteError::Invalid(DomainError::validation(errors))
}

impl Store {
    /// The organization's patient settings (defaults until changed).
    pub async fn patient_settings(&self, org: OrgId) -> DbResult<PatientSettings> {
        Ok(
            match self
                .db
                .fetch_optional(
                    Q::new(
                        "SELECT history_review_months, merge_undo_days FROM patient_settings WHERE org_id = $1",
                    )
                    .bind(org),
                )
                .await?
            {
                Some(r) => PatientSettings {
                    history_review_months: r.i64("history_review_months")?,
                    merge_undo_days: r.i64("merge_undo_days")?,
                },
                None => PatientSettings::default(),
            },
        )
    }

    /// The calling code used to read national phone numbers typed for `location`.
    /// Any location of the organization counts (a patient's home clinic may be one the user
    /// does not work at).
    pub async fn calling_code(
        &self,
        scope: &Scope,
        location: LocationId,
    ) -> DbResult<&'static str> {
        Ok(
            match self.location(&Scope::system(scope.org()), location).await? {
                Some(l) => calling_code_for(&l.address.country),
                None => "1",
            },
        )
    }

    /// Registers a patient: validation (every field at once), a chart number, a family, the
    /// encrypted identifier; audited as `patient.created`.
    pub async fn register_patient(
        &self,
        scope: &Scope,
        actor: &Actor,
        new: NewPatient,
    ) -> Result<Patient, WriteError> {
        let cipher = self.field_cipher(scope.org()).await?;
        let today = self.today(scope, new.location_id).await?;
        let code = self.calling_code(scope, new.location_id).await?;
        let details = new.input.validate(today, code).map_err(invalid)?;
        self.check_custom(scope, &details.custom).await?;
        let mut tx = self.begin().await?;
        let p = tx
            .insert_patient(self, scope, actor, &cipher, &new, details)
            .await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Today's date at a location (birth dates in the future are refused against it).
    pub async fn today(&self, scope: &Scope, location: LocationId) -> Result<Date, WriteError> {
        let loc = self
            .location(&Scope::system(scope.org()), location)
            .await?
            .ok_or_else(|| DomainError::field("location_id", "no such location"))?;
        let tz = loc.tz()?;
        Ok(self.now().to_zoned(tz).date())
    }

    /// A patient record, audited as `patient.read`. Another organization's patient, or a
    /// restricted one the scope may not see, is not found.
    pub async fn patient(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: PatientId,
    ) -> Result<Patient, WriteError> {
        let cipher = self.field_cipher(scope.org()).await?;
        let mut tx = self.begin().await?;
        let p = tx.load_patient(scope, &cipher, id).await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "patient.read",
                Some(id),
                &format!("patient:{id}"),
                serde_json::json!({}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Changes a patient's details (everything registration takes), audited with the names of
    /// the fields that changed, never their values.
    pub async fn update_patient(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: PatientId,
        location_id: LocationId,
        restricted: bool,
        input: PatientInput,
    ) -> Result<Patient, WriteError> {
        if !scope.allows_location(location_id) && restricted {
            return Err(DomainError::field(
                "restricted",
                "you may restrict a patient only to a location you work at",
            )
            .into());
        }
        let cipher = self.field_cipher(scope.org()).await?;
        let today = self.today(scope, location_id).await?;
        let code = self.calling_code(scope, location_id).await?;
        let details = input.validate(today, code).map_err(invalid)?;
        self.check_custom(scope, &details.custom).await?;
        let mut tx = self.begin().await?;
        let before = tx.load_patient(scope, &cipher, id).await?;
        if before.status == PatientStatus::Merged {
            return Err(DomainError::new(
                domain::ErrorCode::Conflict,
                "this record was merged into another; edit that one",
            )
            .into());
        }
        tx.check_external_id(scope, &details.external_id, Some(id))
            .await?;
        let mut changed: Vec<&str> = Vec::new();
        let b = &before.details;
        for (f, same) in [
            ("given_name", b.given_name == details.given_name),
            ("family_name", b.family_name == details.family_name),
            ("middle_name", b.middle_name == details.middle_name),
            ("preferred_name", b.preferred_name == details.preferred_name),
            ("birth_date", b.birth_date == details.birth_date),
            ("sex", b.sex == details.sex),
            (
                "gender_identity",
                b.gender_identity == details.gender_identity,
            ),
            ("pronouns", b.pronouns == details.pronouns),
            ("language", b.language == details.language),
            ("phones", b.phones == details.phones),
            ("email", b.email == details.email),
            ("email_consent", b.email_consent == details.email_consent),
            ("address", b.address == details.address),
            (
                "emergency_contact",
                b.emergency_contact == details.emergency_contact,
            ),
            (
                "referral",
                b.referral_source == details.referral_source
                    && b.referral_detail == details.referral_detail,
            ),
            ("national_id", b.national_id == details.national_id),
            ("external_id", b.external_id == details.external_id),
            ("custom", b.custom == details.custom),
            ("location_id", before.location_id == location_id),
            ("restricted", before.restricted == restricted),
        ] {
            if !same {
                changed.push(f);
            }
        }
        let now = self.now();
        tx.execute(
            bind_details(
                Q::new(
                "UPDATE patients SET location_id = $1, restricted = $2, given_name = $3, family_name = $4, \
                 middle_name = $5, preferred_name = $6, given_key = $7, family_key = $8, preferred_key = $9, \
                 given_ph = $10, family_ph = $11, birth_date = $12, sex = $13, gender_identity = $14, \
                 pronouns = $15, language = $16, email = $17, email_consent = $18, address = $19, \
                 emergency_contact = $20, referral_source = $21, referral_detail = $22, national_id_enc = $23, \
                 national_id_bidx = $24, external_id = $25, custom = $26, updated_at = $27 \
                 WHERE id = $28 AND org_id = $29",
            )
            .bind(location_id)
            .bind(restricted),
            &details,
            &cipher,
        )?
        .bind(now)
            .bind(id)
            .bind(scope.org()),
        )
        .await?;
        if b.phones != details.phones {
            tx.execute(Q::new("DELETE FROM patient_phones WHERE patient_id = $1").bind(id))
                .await?;
            tx.insert_phones(self, scope, id, &details.phones).await?;
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "patient.updated",
                Some(id),
                &format!("patient:{id}"),
                serde_json::json!({ "fields": changed }),
            ),
        )
        .await?;
        let after = tx.load_patient(scope, &cipher, id).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Sets a record's status (active, inactive, archived, deceased), audited with the reason.
    pub async fn set_patient_status(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: PatientId,
        status: PatientStatus,
        reason: &str,
    ) -> Result<(), WriteError> {
        if status == PatientStatus::Merged {
            return Err(
                DomainError::field("status", "records are merged from the merge page").into(),
            );
        }
        let mut tx = self.begin().await?;
        let before = tx.patient_row(scope, id).await?;
        let old = status_of(&before)?;
        if old == PatientStatus::Merged {
            return Err(DomainError::new(
                domain::ErrorCode::Conflict,
                "this record was merged into another; undo the merge first",
            )
            .into());
        }
        tx.execute(
            Q::new(
                "UPDATE patients SET status = $1, updated_at = $2 WHERE id = $3 AND org_id = $4",
            )
            .bind(status.code())
            .bind(self.now())
            .bind(id)
            .bind(scope.org()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "patient.status_changed",
                Some(id),
                &format!("patient:{id}"),
                serde_json::json!({ "from": old.code(), "to": status.code(), "reason": reason.trim() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A family with its visible members (the caller has opened one of them).
    pub async fn family(&self, scope: &Scope, id: FamilyId) -> Result<Family, WriteError> {
        let r = self
            .db
            .fetch_optional(
                Q::new("SELECT * FROM families WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| DomainError::not_found("family"))?;
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT p.*, (SELECT number FROM patient_phones ph WHERE ph.patient_id = p.id ORDER BY ph.position LIMIT 1) AS phone \
                     FROM patients p WHERE p.family_id = $1 AND p.org_id = $2 AND p.status <> 'merged' \
                     ORDER BY p.birth_date, p.given_key",
                )
                .bind(id)
                .bind(scope.org()),
            )
            .await?;
        let mut members = Vec::new();
        for r in &rows {
            if visible_row(scope, r)? {
                members.push(summary_of(r)?);
            }
        }
        Ok(Family {
            id,
            guarantor_patient: r
                .opt_uuid("guarantor_patient_id")?
                .map(PatientId::from_uuid),
            guarantor: NonPatientGuarantor {
                name: r.string("guarantor_name")?,
                relationship: r.string("guarantor_relationship")?,
                phone: r.string("guarantor_phone")?,
                email: r.string("guarantor_email")?,
            },
            members,
        })
    }

    /// Moves a patient into another family (or a new one of their own). A guarantor cannot
    /// leave a family that still has other members: name another guarantor first. An emptied
    /// family is removed.
    pub async fn move_to_family(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: PatientId,
        to: Option<FamilyId>,
    ) -> Result<FamilyId, WriteError> {
        let mut tx = self.begin().await?;
        let row = tx.patient_row(scope, id).await?;
        let from = FamilyId::from_uuid(row.uuid("family_id")?);
        if Some(from) == to {
            return Ok(from);
        }
        let fam = tx
            .fetch_one(Q::new("SELECT guarantor_patient_id FROM families WHERE id = $1").bind(from))
            .await?;
        let others = tx
            .fetch_one(
                Q::new("SELECT COUNT(*) AS n FROM patients WHERE family_id = $1 AND id <> $2 AND status <> 'merged'")
                    .bind(from)
                    .bind(id),
            )
            .await?
            .i64("n")?;
        let is_guarantor = fam.opt_uuid("guarantor_patient_id")? == Some(id.as_uuid());
        if is_guarantor && others > 0 {
            return Err(DomainError::field(
                "family",
                "this patient is the family's guarantor: make another member the guarantor first",
            )
            .into());
        }
        let target = match to {
            Some(f) => {
                tx.fetch_optional(
                    Q::new("SELECT id FROM families WHERE id = $1 AND org_id = $2")
                        .bind(f)
                        .bind(scope.org()),
                )
                .await?
                .ok_or_else(|| DomainError::field("family", "no such family"))?;
                f
            }
            None => {
                tx.insert_family(self, scope, Some(id), &NonPatientGuarantor::default())
                    .await?
            }
        };
        tx.execute(
            Q::new("UPDATE patients SET family_id = $1, updated_at = $2 WHERE id = $3")
                .bind(target)
                .bind(self.now())
                .bind(id),
        )
        .await?;
        if others == 0 {
            tx.execute(
                Q::new("DELETE FROM families WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM patients WHERE family_id = $1)")
                    .bind(from),
            )
            .await?;
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "patient.family_changed",
                Some(id),
                &format!("patient:{id}"),
                serde_json::json!({ "from": from, "to": target }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(target)
    }

    /// Makes a member the family's guarantor, or names a non-patient one.
    pub async fn set_guarantor(
        &self,
        scope: &Scope,
        actor: &Actor,
        family: FamilyId,
        guarantor: Result<PatientId, NonPatientGuarantor>,
    ) -> Result<(), WriteError> {
        let mut tx = self.begin().await?;
        tx.fetch_optional(
            Q::new("SELECT id FROM families WHERE id = $1 AND org_id = $2")
                .bind(family)
                .bind(scope.org()),
        )
        .await?
        .ok_or_else(|| DomainError::not_found("family"))?;
        let (pid, g) = match guarantor {
            Ok(p) => {
                let r = tx.patient_row(scope, p).await?;
                if FamilyId::from_uuid(r.uuid("family_id")?) != family {
                    return Err(DomainError::field(
                        "guarantor",
                        "the guarantor must be a member of the family (move them in first)",
                    )
                    .into());
                }
                (Some(p), NonPatientGuarantor::default())
            }
            Err(g) => {
                let g = check_guarantor(&g)?;
                (None, g)
            }
        };
        tx.execute(
            Q::new(
                "UPDATE families SET guarantor_patient_id = $1, guarantor_name = $2, guarantor_phone = $3, \
                 guarantor_email = $4, guarantor_relationship = $5, updated_at = $6 WHERE id = $7",
            )
            .bind(pid)
            .bind(g.name.as_str())
            .bind(g.phone.as_str())
            .bind(g.email.as_str())
            .bind(g.relationship.as_str())
            .bind(self.now())
            .bind(family),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "family.guarantor_changed",
                pid,
                &format!("family:{family}"),
                serde_json::json!({ "patient": pid, "non_patient": pid.is_none() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Patients who may be the same person as `details`: the same birth date and a similar
    /// name or a shared phone number, or the same national identifier. Restricted records the
    /// scope may not see are left out.
    pub async fn likely_duplicates(
        &self,
        scope: &Scope,
        details: &PatientDetails,
        except: Option<PatientId>,
    ) -> Result<Vec<PatientSummary>, WriteError> {
        let cipher = self.field_cipher(scope.org()).await?;
        let bidx = (!details.national_id.is_empty())
            .then(|| cipher.blind_index(NATIONAL_ID_FIELD, &national_id_key(&details.national_id)));
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT p.*, (SELECT number FROM patient_phones ph WHERE ph.patient_id = p.id ORDER BY ph.position LIMIT 1) AS phone \
                     FROM patients p WHERE p.org_id = $1 AND p.status <> 'merged' \
                     AND (p.birth_date = $2 OR (p.national_id_bidx = $3 AND $3 IS NOT NULL)) LIMIT 200",
                )
                .bind(scope.org())
                .bind(details.birth_date.to_string())
                .bind(bidx.clone()),
            )
            .await?;
        let given = name_key(&details.given_name);
        let family = name_key(&details.family_name);
        let phones: Vec<String> = details.phones.iter().map(|p| p.number.clone()).collect();
        let mut out = Vec::new();
        for r in &rows {
            let id = PatientId::from_uuid(r.uuid("id")?);
            if Some(id) == except || !visible_row(scope, r)? {
                continue;
            }
            let same_id = bidx.is_some() && r.opt_string("national_id_bidx")? == bidx;
            let similar_name = {
                let (g, f) = (r.string("given_key")?, r.string("family_key")?);
                let close = |a: &str, b: &str| {
                    a == b
                        || domain::patients::search::edit_distance(a, b) <= 2
                        || phonetic_key(a) == phonetic_key(b)
                };
                (close(&g, &given) && close(&f, &family))
                    || (close(&g, &family) && close(&f, &given))
            };
            let shared_phone = if phones.is_empty() {
                false
            } else {
                self.db
                    .fetch_all(
                        Q::new("SELECT number FROM patient_phones WHERE patient_id = $1").bind(id),
                    )
                    .await?
                    .iter()
                    .any(|p| p.string("number").is_ok_and(|n| phones.contains(&n)))
            };
            let same_birth = date_of(r, "birth_date")? == details.birth_date;
            if same_id || (same_birth && (similar_name || shared_phone)) {
                out.push(summary_of(r)?);
            }
        }
        Ok(out)
    }

    /// The organization's patients, newest first, a page at a time (the list without a query).
    pub async fn recent_patients(
        &self,
        scope: &Scope,
        actor: &Actor,
        limit: i64,
    ) -> Result<Vec<PatientSummary>, WriteError> {
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT p.*, (SELECT number FROM patient_phones ph WHERE ph.patient_id = p.id ORDER BY ph.position LIMIT 1) AS phone \
                     FROM patients p WHERE p.org_id = $1 AND p.status <> 'merged' ORDER BY p.updated_at DESC LIMIT $2",
                )
                .bind(scope.org())
                .bind(limit.clamp(1, 200) + 50),
            )
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            if visible_row(scope, r)? && out.len() < usize::try_from(limit).unwrap_or(0) {
                out.push(summary_of(r)?);
            }
        }
        self.audit_listing(scope, actor, "patient.listed", &out, serde_json::json!({}))
            .await?;
        Ok(out)
    }

    /// A patient's list line (names, chart, birth date; for labels next to a record already
    /// opened, so not audited by itself).
    pub async fn patient_summary(
        &self,
        scope: &Scope,
        id: PatientId,
    ) -> Result<PatientSummary, WriteError> {
        let r = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT p.*, (SELECT number FROM patient_phones ph WHERE ph.patient_id = p.id ORDER BY ph.position LIMIT 1) AS phone \
                     FROM patients p WHERE p.id = $1 AND p.org_id = $2",
                )
                .bind(id)
                .bind(scope.org()),
            )
            .await?;
        let r = self.visible_or_granted(scope, id, r).await?;
        Ok(summary_of(&r)?)
    }

    /// The patient with a chart number, if the scope may see them.
    pub async fn patient_by_chart(
        &self,
        scope: &Scope,
        chart: i64,
    ) -> Result<Option<PatientId>, WriteError> {
        let r = self
            .db
            .fetch_optional(
                Q::new("SELECT * FROM patients WHERE org_id = $1 AND chart_number = $2")
                    .bind(scope.org())
                    .bind(chart),
            )
            .await?;
        match r {
            Some(r) if visible_row(scope, &r)? => Ok(Some(PatientId::from_uuid(r.uuid("id")?))),
            _ => Ok(None),
        }
    }

    /// The patient's summary when the scope may see them (lists of the organization's
    /// records skip patients of clinics the user does not work at).
    pub(crate) async fn visible_patient(
        &self,
        scope: &Scope,
        id: PatientId,
    ) -> Result<Option<PatientSummary>, WriteError> {
        match self.patient_summary(scope, id).await {
            Ok(p) => Ok(Some(p)),
            Err(WriteError::Invalid(d)) if d.code == domain::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records one event in its own transaction (a read of a record).
    pub(crate) async fn audit_once(
        &self,
        scope: &Scope,
        actor: &Actor,
        action: &str,
        patient: Option<PatientId>,
        subject: &str,
        details: serde_json::Value,
    ) -> DbResult<()> {
        let mut tx = self.begin().await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(action, patient, subject, details),
        )
        .await?;
        tx.commit().await
    }

    /// Records that `listed` patients were shown (a search result, a list).
    pub async fn audit_listing(
        &self,
        scope: &Scope,
        actor: &Actor,
        action: &str,
        listed: &[PatientSummary],
        details: serde_json::Value,
    ) -> DbResult<()> {
        let ids: Vec<PatientId> = listed.iter().map(|p| p.id).collect();
        self.audit_listed_ids(scope, actor, action, &ids, details)
            .await
    }

    /// [`Store::audit_listing`] by ids: one event naming every patient a page or an answer
    /// listed (nothing when it listed none).
    pub(crate) async fn audit_listed_ids(
        &self,
        scope: &Scope,
        actor: &Actor,
        action: &str,
        listed: &[PatientId],
        mut details: serde_json::Value,
    ) -> DbResult<()> {
        if listed.is_empty() {
            return Ok(());
        }
        if let Some(m) = details.as_object_mut() {
            m.insert("patients".into(), serde_json::json!(listed));
        }
        let mut tx = self.begin().await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(action, None, "patients", details),
        )
        .await?;
        tx.commit().await
    }
}

fn json<T: Serialize>(v: &T) -> DbResult<String> {
    serde_json::to_string(v).map_err(|e| DbError::Corrupt(e.to_string()))
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Binds a patient's 24 detail columns, in the order both the INSERT and the UPDATE name them
/// (given_name … custom, with the search keys and the encrypted identifier).
fn bind_details(q: Q, details: &PatientDetails, cipher: &FieldCipher) -> DbResult<Q> {
    let (nid_enc, nid_bidx) = encrypt_national_id(cipher, &details.national_id);
    Ok(q.bind(details.given_name.as_str())
        .bind(details.family_name.as_str())
        .bind(details.middle_name.as_str())
        .bind(details.preferred_name.as_str())
        .bind(name_key(&details.given_name))
        .bind(name_key(&details.family_name))
        .bind(name_key(&details.preferred_name))
        .bind(phonetic_key(&details.given_name))
        .bind(phonetic_key(&details.family_name))
        .bind(details.birth_date.to_string())
        .bind(details.sex.as_str())
        .bind(details.gender_identity.as_str())
        .bind(details.pronouns.as_str())
        .bind(details.language.as_str())
        .bind(details.email.as_str())
        .bind(details.email_consent)
        .bind(json(&details.address)?)
        .bind(json(&details.emergency_contact)?)
        .bind(details.referral_source.as_str())
        .bind(details.referral_detail.as_str())
        .bind(nid_enc)
        .bind(nid_bidx)
        .bind(non_empty(&details.external_id))
        .bind(json(&details.custom)?))
}

fn encrypt_national_id(cipher: &FieldCipher, nid: &str) -> (Option<String>, Option<String>) {
    if nid.is_empty() {
        return (None, None);
    }
    (
        Some(cipher.encrypt(NATIONAL_ID_FIELD, nid)),
        Some(cipher.blind_index(NATIONAL_ID_FIELD, &national_id_key(nid))),
    )
}

fn check_guarantor(g: &NonPatientGuarantor) -> Result<NonPatientGuarantor, WriteError> {
    let out = NonPatientGuarantor {
        name: g.name.split_whitespace().collect::<Vec<_>>().join(" "),
        relationship: g.relationship.trim().to_string(),
        phone: g.phone.trim().to_string(),
        email: g.email.trim().to_lowercase(),
    };
    let mut errors = Vec::new();
    if out.name.is_empty() {
        errors.push(FieldError {
            field: "guarantor_name".into(),
            message: "is required for a guarantor who is not a patient".into(),
        });
    }
    if out.name.chars().count() > 120 || out.relationship.chars().count() > 40 {
        errors.push(FieldError {
            field: "guarantor_name".into(),
            message: "is too long".into(),
        });
    }
    if !out.email.is_empty()
        && let Err(m) = domain::patients::normalize_email(&out.email)
    {
        errors.push(FieldError {
            field: "guarantor_email".into(),
            message: m,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(invalid(errors))
    }
}

fn patient_q(scope: &Scope, id: PatientId) -> Q {
    Q::new("SELECT * FROM patients WHERE id = $1 AND org_id = $2")
        .bind(id)
        .bind(scope.org())
}

fn check_visible(scope: &Scope, r: Option<Row>) -> Result<Row, WriteError> {
    let r = r.ok_or_else(|| DomainError::not_found("patient"))?;
    if !visible_row(scope, &r)? {
        return Err(DomainError::not_found("patient").into());
    }
    Ok(r)
}

/// The live emergency-access grant of the scope's user to a patient, as a query.
fn grant_q(scope: &Scope, id: PatientId, now: Timestamp) -> Option<Q> {
    match scope.principal() {
        domain::Principal::User(u) => Some(
            Q::new(
                "SELECT id FROM break_glass WHERE user_id = $1 AND patient_id = $2 AND expires_at > $3 LIMIT 1",
            )
            .bind(u)
            .bind(id)
            .bind(now),
        ),
        domain::Principal::System => None,
    }
}

impl Store {
    /// The row of a patient the scope may see (or broke the glass for), or not found
    /// (outside a transaction).
    pub(crate) async fn patient_row(
        &self,
        scope: &Scope,
        id: PatientId,
    ) -> Result<Row, WriteError> {
        let r = self.db.fetch_optional(patient_q(scope, id)).await?;
        self.visible_or_granted(scope, id, r).await
    }

    async fn visible_or_granted(
        &self,
        scope: &Scope,
        id: PatientId,
        r: Option<Row>,
    ) -> Result<Row, WriteError> {
        if let Some(row) = r.as_ref()
            && !visible_row(scope, row)?
            && let Some(q) = grant_q(scope, id, self.now())
            && self.db.fetch_optional(q).await?.is_some()
        {
            return r.ok_or_else(|| DomainError::not_found("patient").into());
        }
        check_visible(scope, r)
    }
}

impl Txn {
    /// The row of a patient the scope may see (or broke the glass for), or not found.
    pub(crate) async fn patient_row(
        &mut self,
        scope: &Scope,
        id: PatientId,
    ) -> Result<Row, WriteError> {
        let r = self.fetch_optional(patient_q(scope, id)).await?;
        let now = self.started_at();
        if let Some(row) = r.as_ref()
            && !visible_row(scope, row)?
            && let Some(q) = grant_q(scope, id, now)
            && self.fetch_optional(q).await?.is_some()
        {
            return r.ok_or_else(|| DomainError::not_found("patient").into());
        }
        check_visible(scope, r)
    }

    /// A whole patient the scope may see, the identifier decrypted.
    pub(crate) async fn load_patient(
        &mut self,
        scope: &Scope,
        cipher: &FieldCipher,
        id: PatientId,
    ) -> Result<Patient, WriteError> {
        let r = self.patient_row(scope, id).await?;
        let phones = phones_of(self, id).await?;
        let nid = match r.opt_string("national_id_enc")? {
            Some(enc) => cipher.decrypt(NATIONAL_ID_FIELD, &enc)?,
            None => String::new(),
        };
        Ok(patient_of(&r, phones, nid)?)
    }

    async fn check_external_id(
        &mut self,
        scope: &Scope,
        external_id: &str,
        except: Option<PatientId>,
    ) -> Result<(), WriteError> {
        if external_id.is_empty() {
            return Ok(());
        }
        if let Some(r) = self
            .fetch_optional(
                Q::new(
                    "SELECT id, chart_number FROM patients WHERE org_id = $1 AND external_id = $2",
                )
                .bind(scope.org())
                .bind(external_id),
            )
            .await?
            && Some(PatientId::from_uuid(r.uuid("id")?)) != except
        {
            return Err(DomainError::field(
                "external_id",
                format!("is already used by chart #{}", r.i64("chart_number")?),
            )
            .into());
        }
        Ok(())
    }

    pub(crate) async fn insert_family(
        &mut self,
        store: &Store,
        scope: &Scope,
        guarantor: Option<PatientId>,
        g: &NonPatientGuarantor,
    ) -> DbResult<FamilyId> {
        let id = FamilyId::from_uuid(store.new_uuid());
        let now = store.now();
        self.execute(
            Q::new(
                "INSERT INTO families (id, org_id, guarantor_patient_id, guarantor_name, guarantor_phone, \
                 guarantor_email, guarantor_relationship, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(guarantor)
            .bind(g.name.as_str())
            .bind(g.phone.as_str())
            .bind(g.email.as_str())
            .bind(g.relationship.as_str())
            .bind(now),
        )
        .await?;
        Ok(id)
    }

    async fn insert_phones(
        &mut self,
        store: &Store,
        scope: &Scope,
        patient: PatientId,
        phones: &[Phone],
    ) -> DbResult<()> {
        for (i, p) in phones.iter().enumerate() {
            self.execute(
                Q::new(
                    "INSERT INTO patient_phones (id, org_id, patient_id, position, kind, number, digits_rev, sms_consent, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(store.new_uuid())
                .bind(scope.org())
                .bind(patient)
                .bind(i64::try_from(i).unwrap_or(0))
                .bind(p.kind.as_str())
                .bind(p.number.as_str())
                .bind(phone_key(&p.number))
                .bind(p.sms_consent)
                .bind(store.now()),
            )
            .await?;
        }
        Ok(())
    }

    /// The next chart number of the organization (the counter row serializes registrations).
    async fn next_chart_number(&mut self, store: &Store, org: OrgId) -> DbResult<i64> {
        let defaults = PatientSettings::default();
        self.execute(
            Q::new(
                "INSERT INTO patient_settings (org_id, next_chart_number, history_review_months, merge_undo_days, updated_at) \
                 VALUES ($1, 1, $2, $3, $4) ON CONFLICT (org_id) DO NOTHING",
            )
            .bind(org)
            .bind(defaults.history_review_months)
            .bind(defaults.merge_undo_days)
            .bind(store.now()),
        )
        .await?;
        let r = self
            .fetch_one(
                Q::new(
                    "UPDATE patient_settings SET next_chart_number = next_chart_number + 1 WHERE org_id = $1 \
                     RETURNING next_chart_number - 1 AS n",
                )
                .bind(org),
            )
            .await?;
        r.i64("n")
    }

    /// Inserts a validated patient (registration and import), audited as `patient.created`.
    pub async fn insert_patient(
        &mut self,
        store: &Store,
        scope: &Scope,
        actor: &Actor,
        cipher: &FieldCipher,
        new: &NewPatient,
        details: PatientDetails,
    ) -> Result<Patient, WriteError> {
        if !scope.allows_location(new.location_id) {
            return Err(
                DomainError::field("location_id", "you do not work at this location").into(),
            );
        }
        self.check_external_id(scope, &details.external_id, None)
            .await?;
        let family = match &new.family {
            FamilyChoice::Own => None,
            FamilyChoice::JoinFamilyOf(other) => {
                let r = self.patient_row(scope, *other).await.map_err(|_| {
                    WriteError::Invalid(DomainError::field(
                        "family",
                        "the family member was not found",
                    ))
                })?;
                Some(FamilyId::from_uuid(r.uuid("family_id")?))
            }
            FamilyChoice::Guarantor(g) => {
                let g = check_guarantor(g)?;
                Some(self.insert_family(store, scope, None, &g).await?)
            }
        };
        let id = PatientId::from_uuid(store.new_uuid());
        let family_id = match family {
            Some(f) => f,
            None => {
                self.insert_family(store, scope, Some(id), &NonPatientGuarantor::default())
                    .await?
            }
        };
        let chart_number = self.next_chart_number(store, scope.org()).await?;
        let now = store.now();
        let created_by = match scope.principal() {
            domain::Principal::User(u) => Some(u),
            domain::Principal::System => None,
        };
        self.execute(
            bind_details(
                Q::new(
                "INSERT INTO patients (id, org_id, location_id, restricted, family_id, chart_number, status, merged_into, \
                 given_name, family_name, middle_name, preferred_name, given_key, family_key, preferred_key, given_ph, family_ph, \
                 birth_date, sex, gender_identity, pronouns, language, email, email_consent, address, emergency_contact, \
                 referral_source, referral_detail, national_id_enc, national_id_bidx, external_id, custom, history_reviewed_at, \
                 created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
                 $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, NULL, $32, $33, $33)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(new.location_id)
            .bind(new.restricted)
            .bind(family_id)
            .bind(chart_number)
            .bind(new.status.code()),
            &details,
            cipher,
        )?
        .bind(created_by)
            .bind(now),
        )
        .await?;
        self.insert_phones(store, scope, id, &details.phones)
            .await?;
        self.audit(
            store,
            scope.org(),
            actor.entry(
                "patient.created",
                Some(id),
                &format!("patient:{id}"),
                serde_json::json!({ "chart_number": chart_number, "family": family_id }),
            ),
        )
        .await?;
        Ok(Patient {
            id,
            org_id: scope.org(),
            location_id: new.location_id,
            restricted: new.restricted,
            family_id,
            chart_number,
            status: new.status,
            merged_into: None,
            details,
            history_reviewed_at: None,
            created_at: now,
            updated_at: now,
        })
    }
}

/// A custom field definition as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDef {
    pub id: uuid::Uuid,
    pub field: domain::patients::CustomField,
    pub position: i64,
    pub active: bool,
}

impl Store {
    /// The organization's custom patient fields, in order (inactive ones only when asked).
    pub async fn patient_fields(
        &self,
        scope: &Scope,
        with_inactive: bool,
    ) -> DbResult<Vec<FieldDef>> {
        self.db
            .fetch_all(
                Q::new(
                    "SELECT * FROM patient_field_defs WHERE org_id = $1 AND (active OR $2) ORDER BY position, field_key",
                )
                .bind(scope.org())
                .bind(with_inactive),
            )
            .await?
            .iter()
            .map(|r| {
                Ok(FieldDef {
                    id: r.uuid("id")?,
                    field: domain::patients::CustomField {
                        key: r.string("field_key")?,
                        label: r.string("label")?,
                        kind: r.string("kind")?,
                        choices: r.json("choices")?,
                        required: r.bool("required")?,
                    },
                    position: r.i64("position")?,
                    active: r.bool("active")?,
                })
            })
            .collect()
    }

    /// Adds a custom field (audited). Keys are unique in the organization.
    pub async fn add_patient_field(
        &self,
        scope: &Scope,
        actor: &Actor,
        field: domain::patients::CustomField,
    ) -> Result<uuid::Uuid, WriteError> {
        let mut field = field;
        field.label = field.label.trim().to_string();
        field.choices = field
            .choices
            .iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        field.validate().map_err(invalid)?;
        let mut tx = self.begin().await?;
        if tx
            .fetch_optional(
                Q::new("SELECT id FROM patient_field_defs WHERE org_id = $1 AND field_key = $2")
                    .bind(scope.org())
                    .bind(field.key.as_str()),
            )
            .await?
            .is_some()
        {
            return Err(DomainError::field("key", "another field already has this key").into());
        }
        let position = tx
            .fetch_one(
                Q::new("SELECT COALESCE(MAX(position), 0) + 1 AS p FROM patient_field_defs WHERE org_id = $1")
                    .bind(scope.org()),
            )
            .await?
            .i64("p")?;
        let id = self.new_uuid();
        tx.execute(
            Q::new(
                "INSERT INTO patient_field_defs (id, org_id, field_key, label, kind, choices, required, position, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(field.key.as_str())
            .bind(field.label.as_str())
            .bind(field.kind.as_str())
            .bind(json(&field.choices)?)
            .bind(field.required)
            .bind(position)
            .bind(self.now()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "patient_field.added",
                None,
                &format!("patient_field:{}", field.key),
                serde_json::json!({ "kind": field.kind }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Turns a custom field off or on again (answers already given are kept).
    pub async fn set_patient_field_active(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: uuid::Uuid,
        active: bool,
    ) -> Result<(), WriteError> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                Q::new("UPDATE patient_field_defs SET active = $1 WHERE id = $2 AND org_id = $3")
                    .bind(active)
                    .bind(id)
                    .bind(scope.org()),
            )
            .await?;
        if n == 0 {
            return Err(DomainError::not_found("field").into());
        }
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "patient_field.changed",
                None,
                &format!("patient_field:{id}"),
                serde_json::json!({ "active": active }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks a patient's custom answers against the organization's active fields: unknown
    /// keys are refused, required ones must be answered, each answer must fit its kind.
    pub async fn check_custom(
        &self,
        scope: &Scope,
        custom: &BTreeMap<String, String>,
    ) -> Result<(), WriteError> {
        let defs = self.patient_fields(scope, true).await?;
        let mut errors = Vec::new();
        for (k, v) in custom {
            match defs.iter().find(|d| &d.field.key == k) {
                None => errors.push(FieldError {
                    field: format!("custom.{k}"),
                    message: "is not a field of this practice".into(),
                }),
                Some(d) => {
                    if let Err(m) = d.field.check(v) {
                        errors.push(FieldError {
                            field: format!("custom.{k}"),
                            message: m,
                        });
                    }
                }
            }
        }
        for d in defs.iter().filter(|d| d.active && d.field.required) {
            if !custom.contains_key(&d.field.key) {
                errors.push(FieldError {
                    field: format!("custom.{}", d.field.key),
                    message: "is required".into(),
                });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(invalid(errors))
        }
    }
}

/// How long an emergency access lasts.
pub const BREAK_GLASS_MINUTES: i64 = 60;

impl Store {
    /// Emergency access ("break the glass") to a patient restricted to a location the user does
    /// not work at. The user must know the chart number and the birth date (nothing is listed
    /// to them) and say why; the access lasts [`BREAK_GLASS_MINUTES`], is written to the audit
    /// chain with the reason, and raises a security alert for the administrators. A patient the
    /// user can already see needs no grant and gets none.
    pub async fn break_glass(
        &self,
        scope: &Scope,
        actor: &Actor,
        chart_number: i64,
        birth_date: Date,
        reason: &str,
    ) -> Result<PatientId, WriteError> {
        let domain::Principal::User(user) = scope.principal() else {
            return Err(DomainError::new(
                domain::ErrorCode::Forbidden,
                "only a person can break the glass",
            )
            .into());
        };
        let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
        if reason.chars().count() < 10 {
            return Err(DomainError::field(
                "reason",
                "say why you need this record (at least 10 characters)",
            )
            .into());
        }
        let not_found = || -> WriteError {
            DomainError::field(
                "chart_number",
                "no patient has this chart number and birth date",
            )
            .into()
        };
        let row = self
            .db
            .fetch_optional(
                Q::new("SELECT * FROM patients WHERE org_id = $1 AND chart_number = $2 AND status <> 'merged'")
                    .bind(scope.org())
                    .bind(chart_number),
            )
            .await?
            .ok_or_else(not_found)?;
        if date_of(&row, "birth_date")? != birth_date {
            return Err(not_found());
        }
        let id = PatientId::from_uuid(row.uuid("id")?);
        if visible_row(scope, &row)? {
            return Ok(id);
        }
        let now = self.now();
        let expires = now
            .checked_add(jiff::SignedDuration::from_mins(BREAK_GLASS_MINUTES))
            .unwrap_or(now);
        let mut tx = self.begin().await?;
        tx.execute(
            Q::new(
                "INSERT INTO break_glass (id, org_id, user_id, patient_id, reason, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(self.new_uuid())
            .bind(scope.org())
            .bind(user)
            .bind(id)
            .bind(reason.as_str())
            .bind(now)
            .bind(expires),
        )
        .await?;
        tx.execute(
            Q::new(
                "INSERT INTO security_alerts (id, org_id, kind, user_id, actor, window_start, detail, created_at, acknowledged_at) \
                 VALUES ($1, $2, 'break_glass', $3, $4, $5, $6, $5, NULL) ON CONFLICT DO NOTHING",
            )
            .bind(self.new_uuid())
            .bind(scope.org())
            .bind(user)
            .bind(actor.name.as_str())
            .bind(now)
            .bind(serde_json::json!({ "chart_number": chart_number, "reason": reason }).to_string()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "patient.break_glass",
                Some(id),
                &format!("patient:{id}"),
                serde_json::json!({ "reason": reason, "expires_at": expires.to_string() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }
}
