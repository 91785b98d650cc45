//! Prescriptions: the organization's medicine catalog (the starter list stored on first read)
//! and prescriptions. Writing one checks the patient's allergies and what they already take
//! ([`domain::clinical::rx::check`]); warnings need an override reason, kept with the
//! prescription. A prescription is never edited: it is cancelled with a reason. The clinical
//! content is encrypted; the audit trail records who wrote, read and cancelled what.

use domain::clinical::rx::{
    Medicine, Order, OtherPrescription, STARTER, Warning, check, check_override,
};
use domain::{DomainError, ErrorCode, PatientId, Scope, UserId};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Store;
use crate::db::{DbError, DbResult, Q, Row};
use crate::patients::{Actor, PatientSummary};
use crate::tenancy::WriteError;

/// The encrypted field holding a prescription's content.
pub const RECORD_FIELD: &str = "prescriptions.record";
/// The encrypted field holding why it was cancelled.
pub const CANCEL_FIELD: &str = "prescriptions.cancel_reason";

/// A medicine of the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogMedicine {
    pub id: uuid::Uuid,
    pub medicine: Medicine,
    pub active: bool,
}

/// The prescriber as printed.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Prescriber {
    pub name: String,
    pub licence_number: String,
    pub npi: String,
    pub specialty: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
struct Record {
    medicine: Medicine,
    order: Order,
    warnings: Vec<Warning>,
    override_reason: String,
    prescriber: Prescriber,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cancellation {
    pub by_name: String,
    pub at: Timestamp,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prescription {
    pub id: uuid::Uuid,
    pub number: i64,
    pub patient_id: PatientId,
    pub visit_id: Option<uuid::Uuid>,
    pub medicine_id: Option<uuid::Uuid>,
    pub prescriber_id: UserId,
    /// The medicine as it was when prescribed (the catalog may change later).
    pub medicine: Medicine,
    pub order: Order,
    /// The warnings shown, and the reason given to go ahead.
    pub warnings: Vec<Warning>,
    pub override_reason: String,
    pub prescriber: Prescriber,
    pub prescribed_at: Timestamp,
    pub ends_at: Timestamp,
    pub cancelled: Option<Cancellation>,
}

impl Prescription {
    /// "RX-000042".
    pub fn reference(&self) -> String {
        format!("RX-{:06}", self.number)
    }

    /// Not cancelled and still within its duration.
    pub fn active_at(&self, now: Timestamp) -> bool {
        self.cancelled.is_none() && self.ends_at > now
    }
}

/// What a prescriber sends.
#[derive(Clone, Debug, Default)]
pub struct NewPrescription {
    pub medicine_id: Option<uuid::Uuid>,
    pub order: Order,
    pub visit_id: Option<uuid::Uuid>,
    pub override_reason: String,
}

/// A line of the organization's list: the prescription and whose it is.
#[derive(Clone, Debug)]
pub struct Listed {
    pub prescription: Prescription,
    pub patient: PatientSummary,
}

fn invalid(field: &str, m: impl Into<String>) -> WriteError {
    WriteError::Invalid(DomainError::field(field, m))
}

fn corrupt(m: impl Into<String>) -> DbError {
    DbError::Corrupt(m.into())
}

fn medicine_from_row(r: &Row) -> DbResult<CatalogMedicine> {
    let classes = r.string("classes")?;
    Ok(CatalogMedicine {
        id: r.uuid("id")?,
        medicine: Medicine {
            name: r.string("name")?,
            strength: r.string("strength")?,
            form: r.string("form")?,
            route: r.string("route")?,
            dose: r.string("dose")?,
            frequency: r.string("frequency")?,
            duration_days: u32::try_from(r.i64("duration_days")?).unwrap_or(0),
            quantity: u32::try_from(r.i64("quantity")?).unwrap_or(0),
            directions: r.string("directions")?,
            classes: classes
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            controlled: r.bool("controlled")?,
        },
        active: r.bool("active")?,
    })
}

impl Store {
    /// The catalog, active medicines first, by name. An organization's first read stores the
    /// starter list in the language of its first location.
    pub async fn medicines(&self, scope: &Scope) -> DbResult<Vec<CatalogMedicine>> {
        let q = || {
            Q::new(
                "SELECT * FROM medicines WHERE org_id = $1 ORDER BY active DESC, name, strength, form",
            )
            .bind(scope.org())
        };
        let rows = self.db.fetch_all(q()).await?;
        if !rows.is_empty() {
            return rows.iter().map(medicine_from_row).collect();
        }
        let locale = self
            .locations(scope)
            .await?
            .first()
            .map(|l| l.locale.clone())
            .unwrap_or_else(|| "en".into());
        let now = self.now();
        let mut tx = self.begin().await?;
        for s in STARTER {
            let m = s
                .medicine(&locale)
                .normalized()
                .map_err(|_| corrupt("starter medicine"))?;
            tx.execute(insert_medicine(self.new_uuid(), scope, &m, true, now, true))
                .await?;
        }
        tx.commit().await?;
        self.db
            .fetch_all(q())
            .await?
            .iter()
            .map(medicine_from_row)
            .collect()
    }

    pub async fn medicine(
        &self,
        scope: &Scope,
        id: uuid::Uuid,
    ) -> DbResult<Option<CatalogMedicine>> {
        // Ids come from the catalog: a lookup by id needs no seeding.
        self.db
            .fetch_optional(
                Q::new("SELECT * FROM medicines WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(scope.org()),
            )
            .await?
            .as_ref()
            .map(medicine_from_row)
            .transpose()
    }

    /// Adds a medicine (`id` none) or changes one; the same name, strength and form twice is
    /// refused. Audited.
    pub async fn save_medicine(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: Option<uuid::Uuid>,
        medicine: &Medicine,
        active: bool,
    ) -> Result<CatalogMedicine, WriteError> {
        let m = medicine
            .normalized()
            .map_err(|e| WriteError::Invalid(DomainError::validation(e)))?;
        self.medicines(scope).await?;
        let now = self.now();
        let clash = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT id FROM medicines WHERE org_id = $1 AND name = $2 AND strength = $3 AND form = $4",
                )
                .bind(scope.org())
                .bind(m.name.as_str())
                .bind(m.strength.as_str())
                .bind(m.form.as_str()),
            )
            .await?
            .map(|r| r.uuid("id"))
            .transpose()?;
        if clash.is_some() && clash != id {
            return Err(invalid(
                "name",
                "this medicine, strength and form is already in the catalog",
            ));
        }
        let mut tx = self.begin().await?;
        let id = match id {
            None => {
                let id = self.new_uuid();
                tx.execute(insert_medicine(id, scope, &m, active, now, false))
                    .await?;
                id
            }
            Some(id) => {
                let n = tx
                    .execute(
                        Q::new(
                            "UPDATE medicines SET name = $1, strength = $2, form = $3, route = $4, dose = $5, \
                             frequency = $6, duration_days = $7, quantity = $8, directions = $9, classes = $10, \
                             controlled = $11, active = $12, updated_at = $13 WHERE id = $14 AND org_id = $15",
                        )
                        .bind(m.name.as_str())
                        .bind(m.strength.as_str())
                        .bind(m.form.as_str())
                        .bind(m.route.as_str())
                        .bind(m.dose.as_str())
                        .bind(m.frequency.as_str())
                        .bind(i64::from(m.duration_days))
                        .bind(i64::from(m.quantity))
                        .bind(m.directions.as_str())
                        .bind(m.classes.join(","))
                        .bind(m.controlled)
                        .bind(active)
                        .bind(now)
                        .bind(id)
                        .bind(scope.org()),
                    )
                    .await?;
                if n == 0 {
                    return Err(WriteError::Invalid(DomainError::not_found("medicine")));
                }
                id
            }
        };
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "medicine.saved",
                None,
                &format!("medicine:{id}"),
                json!({ "active": active }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.medicine(scope, id)
            .await?
            .ok_or_else(|| WriteError::Db(corrupt("saved medicine not found")))
    }

    /// The prescriber as printed: a provider of the organization with a licence number.
    async fn prescriber(&self, scope: &Scope, actor: &Actor) -> Result<Prescriber, WriteError> {
        let Some(user) = actor.id else {
            return Err(invalid(
                "prescriber",
                "a prescription is written by a signed-in provider",
            ));
        };
        let p = self.provider(scope, user).await?.ok_or_else(|| {
            invalid(
                "prescriber",
                "only a provider can prescribe: add your provider profile in Doctors",
            )
        })?;
        if p.profile.licence_number.is_empty() {
            return Err(invalid(
                "prescriber",
                "a prescription carries the prescriber's licence number: add yours in Doctors",
            ));
        }
        Ok(Prescriber {
            name: p.user.name,
            licence_number: p.profile.licence_number,
            npi: p.profile.npi,
            specialty: p.profile.specialty,
        })
    }

    /// What writing this medicine for this patient would warn about: their allergies, their
    /// medications and flags, and their other active prescriptions. Not audited by itself
    /// (the prescription page's reads are).
    pub async fn prescription_warnings(
        &self,
        scope: &Scope,
        patient: PatientId,
        medicine: &Medicine,
    ) -> Result<Vec<Warning>, WriteError> {
        let history = self
            .medical_history(scope, patient)
            .await?
            .map(|v| v.history)
            .unwrap_or_default();
        let now = self.now();
        let others: Vec<OtherPrescription> = self
            .prescriptions_unaudited(scope, patient)
            .await?
            .into_iter()
            .filter(|p| p.active_at(now))
            .map(|p| OtherPrescription {
                medicine: p.medicine.label(),
            })
            .collect();
        Ok(check(
            &medicine.label(),
            &medicine.classes,
            &history,
            &others,
        ))
    }

    /// Writes a prescription. Refused with nothing written: an unknown or inactive medicine,
    /// an invalid order (each field named), a signed or foreign visit, a prescriber without a
    /// licence number, and warnings without an override reason (`override_reason`).
    pub async fn prescribe(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        new: &NewPrescription,
    ) -> Result<Prescription, WriteError> {
        // Another organization's patient is not found, whatever was sent.
        self.patient_row(scope, patient).await?;
        let order = new
            .order
            .normalized()
            .map_err(|e| WriteError::Invalid(DomainError::validation(e)))?;
        let medicine_id = new
            .medicine_id
            .ok_or_else(|| invalid("medicine_id", "choose a medicine of the catalog"))?;
        let catalog = self
            .medicine(scope, medicine_id)
            .await?
            .filter(|m| m.active)
            .ok_or_else(|| invalid("medicine_id", "no such medicine in the catalog"))?;
        if let Some(v) = new.visit_id {
            let r = self
                .db
                .fetch_optional(
                    Q::new(
                        "SELECT signed_at FROM visits WHERE id = $1 AND patient_id = $2 AND org_id = $3",
                    )
                    .bind(v)
                    .bind(patient)
                    .bind(scope.org()),
                )
                .await?
                .ok_or_else(|| invalid("visit_id", "no such visit of this patient"))?;
            if r.opt_ts("signed_at")?.is_some() {
                return Err(invalid(
                    "visit_id",
                    "this visit is signed: prescribe without linking it, or add an addendum",
                ));
            }
        }
        let prescriber = self.prescriber(scope, actor).await?;
        let warnings = self
            .prescription_warnings(scope, patient, &catalog.medicine)
            .await?;
        let override_reason = check_override(&warnings, &new.override_reason)
            .map_err(|e| WriteError::Invalid(DomainError::validation(vec![e])))?;
        let record = Record {
            medicine: catalog.medicine.clone(),
            order: order.clone(),
            warnings: warnings.clone(),
            override_reason,
            prescriber,
        };
        let plain = serde_json::to_string(&record).map_err(|e| corrupt(e.to_string()))?;
        let cipher = self.field_cipher(scope.org()).await?;
        let id = self.new_uuid();
        let now = self.now();
        let ends_at = now
            .checked_add(SignedDuration::from_hours(
                24 * i64::from(order.duration_days),
            ))
            .map_err(|e| corrupt(e.to_string()))?;
        let prescriber_id = actor.id.ok_or_else(|| invalid("prescriber", "signed-in"))?;
        let mut tx = self.begin().await?;
        tx.patient_row(scope, patient).await?;
        let number = tx.next_number("prescription_counters", scope.org()).await?;
        tx.execute(
            Q::new(
                "INSERT INTO prescriptions (id, org_id, patient_id, number, visit_id, medicine_id, prescriber_id, \
                 prescriber_name, record_enc, warnings, prescribed_at, ends_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(patient)
            .bind(number)
            .bind(new.visit_id)
            .bind(medicine_id)
            .bind(prescriber_id)
            .bind(record.prescriber.name.as_str())
            .bind(cipher.encrypt(RECORD_FIELD, &plain))
            .bind(i64::try_from(warnings.len()).unwrap_or(i64::MAX))
            .bind(now)
            .bind(ends_at),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "prescription.written",
                Some(patient),
                &format!("prescription:{id}"),
                json!({
                    "number": number,
                    "warnings": warnings.iter().map(|w| w.code.as_str()).collect::<Vec<_>>(),
                    "overridden": !warnings.is_empty(),
                }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.prescription_unaudited(scope, patient, id).await
    }

    /// Cancels a prescription, with a reason; a cancelled one stays cancelled.
    pub async fn cancel_prescription(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        id: uuid::Uuid,
        reason: &str,
    ) -> Result<Prescription, WriteError> {
        self.patient_row(scope, patient).await?;
        let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
        if reason.chars().count() < 3 || reason.chars().count() > 500 {
            return Err(invalid("reason", "say why, in 3 to 500 characters"));
        }
        let cipher = self.field_cipher(scope.org()).await?;
        let now = self.now();
        let mut tx = self.begin().await?;
        tx.patient_row(scope, patient).await?;
        let r = tx
            .fetch_optional(
                Q::fork(
                    "SELECT cancelled_at, number FROM prescriptions WHERE id = $1 AND patient_id = $2 AND org_id = $3",
                    "SELECT cancelled_at, number FROM prescriptions WHERE id = $1 AND patient_id = $2 AND org_id = $3 FOR UPDATE",
                )
                .bind(id)
                .bind(patient)
                .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| WriteError::Invalid(DomainError::not_found("prescription")))?;
        if r.opt_i64("cancelled_at")?.is_some() {
            return Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Conflict,
                "this prescription is already cancelled",
            )));
        }
        tx.execute(
            Q::new(
                "UPDATE prescriptions SET cancelled_at = $1, cancelled_by_name = $2, cancel_reason_enc = $3 WHERE id = $4",
            )
            .bind(now)
            .bind(actor.name.as_str())
            .bind(cipher.encrypt(CANCEL_FIELD, &reason))
            .bind(id),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "prescription.cancelled",
                Some(patient),
                &format!("prescription:{id}"),
                json!({ "number": r.i64("number")? }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.prescription_unaudited(scope, patient, id).await
    }

    /// The patient's prescriptions, newest first; audited as a read.
    pub async fn prescriptions(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<Vec<Prescription>, WriteError> {
        let out = self.prescriptions_unaudited(scope, patient).await?;
        self.audit_rx_read(
            scope,
            actor,
            Some(patient),
            "prescription.list_read",
            json!({ "prescriptions": out.len() }),
        )
        .await?;
        Ok(out)
    }

    /// One prescription; audited as a read (`printed` says it was for the PDF).
    pub async fn prescription(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        id: uuid::Uuid,
        printed: bool,
    ) -> Result<Prescription, WriteError> {
        let p = self.prescription_unaudited(scope, patient, id).await?;
        self.audit_rx_read(
            scope,
            actor,
            Some(patient),
            if printed {
                "prescription.printed"
            } else {
                "prescription.read"
            },
            json!({ "prescription": id, "number": p.number }),
        )
        .await?;
        Ok(p)
    }

    /// The organization's latest prescriptions with their patients (the ones the user may
    /// see), newest first; audited as a listing.
    pub async fn recent_prescriptions(
        &self,
        scope: &Scope,
        actor: &Actor,
        limit: i64,
    ) -> Result<Vec<Listed>, WriteError> {
        let rows = self
            .db
            .fetch_all(
                Q::new(
                    "SELECT * FROM prescriptions WHERE org_id = $1 ORDER BY prescribed_at DESC, number DESC LIMIT $2",
                )
                .bind(scope.org())
                .bind(limit.clamp(1, 500)),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let pid = PatientId::from_uuid(r.uuid("patient_id")?);
            let Some(patient) = self.visible_patient(scope, pid).await? else {
                continue;
            };
            out.push(Listed {
                prescription: self.prescription_from_row(scope, r).await?,
                patient,
            });
        }
        let listed: Vec<PatientSummary> = out.iter().map(|l| l.patient.clone()).collect();
        self.audit_listing(
            scope,
            actor,
            "prescription.list_read",
            &listed,
            json!({ "prescriptions": out.len() }),
        )
        .await?;
        Ok(out)
    }

    async fn audit_rx_read(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: Option<PatientId>,
        action: &str,
        details: serde_json::Value,
    ) -> Result<(), WriteError> {
        let subject = patient
            .map(|p| format!("patient:{p}"))
            .unwrap_or_else(|| "prescriptions".into());
        Ok(self
            .audit_once(scope, actor, action, patient, &subject, details)
            .await?)
    }

    pub(crate) async fn prescriptions_unaudited(
        &self,
        scope: &Scope,
        patient: PatientId,
    ) -> Result<Vec<Prescription>, WriteError> {
        self.patient_row(scope, patient).await?;
        let rows = self
            .db
            .fetch_all(
                // `+org_id` on SQLite: the patient's index, not the organization's.
                Q::fork(
                    "SELECT * FROM prescriptions WHERE patient_id = $1 AND +org_id = $2 ORDER BY prescribed_at DESC, number DESC",
                    "SELECT * FROM prescriptions WHERE patient_id = $1 AND org_id = $2 ORDER BY prescribed_at DESC, number DESC",
                )
                .bind(patient)
                .bind(scope.org()),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.prescription_from_row(scope, r).await?);
        }
        Ok(out)
    }

    async fn prescription_unaudited(
        &self,
        scope: &Scope,
        patient: PatientId,
        id: uuid::Uuid,
    ) -> Result<Prescription, WriteError> {
        self.patient_row(scope, patient).await?;
        let r = self
            .db
            .fetch_optional(
                Q::new(
                    "SELECT * FROM prescriptions WHERE id = $1 AND patient_id = $2 AND org_id = $3",
                )
                .bind(id)
                .bind(patient)
                .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| WriteError::Invalid(DomainError::not_found("prescription")))?;
        self.prescription_from_row(scope, &r).await
    }

    async fn prescription_from_row(
        &self,
        scope: &Scope,
        r: &Row,
    ) -> Result<Prescription, WriteError> {
        let plain = self
            .decrypt_field(scope.org(), RECORD_FIELD, &r.string("record_enc")?)
            .await?;
        let record: Record =
            serde_json::from_str(&plain).map_err(|e| corrupt(format!("prescription: {e}")))?;
        let cancelled = match (
            r.opt_ts("cancelled_at")?,
            r.opt_string("cancelled_by_name")?,
            r.opt_string("cancel_reason_enc")?,
        ) {
            (Some(at), Some(by_name), Some(enc)) => Some(Cancellation {
                by_name,
                at,
                reason: self.decrypt_field(scope.org(), CANCEL_FIELD, &enc).await?,
            }),
            _ => None,
        };
        Ok(Prescription {
            id: r.uuid("id")?,
            number: r.i64("number")?,
            patient_id: PatientId::from_uuid(r.uuid("patient_id")?),
            visit_id: r.opt_uuid("visit_id")?,
            medicine_id: r.opt_uuid("medicine_id")?,
            prescriber_id: UserId::from_uuid(r.uuid("prescriber_id")?),
            medicine: record.medicine,
            order: record.order,
            warnings: record.warnings,
            override_reason: record.override_reason,
            prescriber: record.prescriber,
            prescribed_at: r.ts("prescribed_at")?,
            ends_at: r.ts("ends_at")?,
            cancelled,
        })
    }
}

fn insert_medicine(
    id: uuid::Uuid,
    scope: &Scope,
    m: &Medicine,
    active: bool,
    now: Timestamp,
    seeding: bool,
) -> Q {
    // Seeding keeps what another server stored first.
    if seeding {
        Q::new(
            "INSERT INTO medicines (id, org_id, name, strength, form, route, dose, frequency, duration_days, \
             quantity, directions, classes, controlled, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) \
             ON CONFLICT (org_id, name, strength, form) DO NOTHING",
        )
    } else {
        Q::new(
            "INSERT INTO medicines (id, org_id, name, strength, form, route, dose, frequency, duration_days, \
             quantity, directions, classes, controlled, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
        )
    }
    .bind(id)
    .bind(scope.org())
    .bind(m.name.as_str())
    .bind(m.strength.as_str())
    .bind(m.form.as_str())
    .bind(m.route.as_str())
    .bind(m.dose.as_str())
    .bind(m.frequency.as_str())
    .bind(i64::from(m.duration_days))
    .bind(i64::from(m.quantity))
    .bind(m.directions.as_str())
    .bind(m.classes.join(","))
    .bind(m.controlled)
    .bind(active)
    .bind(now)
}
