//! Visits: kind, chief complaint, dentist, linked appointment, SOAP notes (encrypted), and
//! signing. A signed visit is read-only: its notes and the odontogram as it stood when it was
//! signed (a snapshot of the entries in force) stay as they were; later words are signed,
//! timestamped addenda. Signing publishes `exam.completed` with what routing needs.

use domain::clinical::chart::Site;
use domain::clinical::visit::{Soap, VisitKind, check_addendum, check_complaint};
use domain::{AppointmentId, DomainError, ErrorCode, PatientId, Scope, UserId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Store;
use crate::db::{DbError, Q, Row};
use crate::patients::Actor;
use crate::tenancy::WriteError;

/// The encrypted field holding a visit's complaint and notes.
pub const NOTES_FIELD: &str = "visits.record";
/// The encrypted field holding the odontogram snapshot taken at signing.
pub const SNAPSHOT_FIELD: &str = "visits.snapshot";
/// The encrypted field holding an addendum's text.
pub const ADDENDUM_FIELD: &str = "visit_addenda.text";

#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
struct Record {
    chief_complaint: String,
    soap: Soap,
}

/// One entry of the odontogram as it stood at signing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotEntry {
    pub code: String,
    pub name: String,
    pub tooth: Option<u8>,
    pub surfaces: u8,
    pub area: Option<String>,
    pub status: String,
    pub effect: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addendum {
    pub text: String,
    pub signed_by_name: String,
    pub signed_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    pub id: uuid::Uuid,
    pub patient_id: PatientId,
    pub kind: VisitKind,
    pub chief_complaint: String,
    pub dentist_id: Option<UserId>,
    pub appointment_id: Option<AppointmentId>,
    pub soap: Soap,
    pub created_by_name: String,
    pub created_at: Timestamp,
    pub version: i64,
    pub signed: Option<(String, Timestamp)>,
    pub snapshot: Option<Vec<SnapshotEntry>>,
    pub addenda: Vec<Addendum>,
}

/// A new visit.
#[derive(Clone, Debug, Default)]
pub struct NewVisit {
    pub kind: Option<VisitKind>,
    pub chief_complaint: String,
    pub dentist_id: Option<UserId>,
    pub appointment_id: Option<AppointmentId>,
    /// A note template's code (`domain::clinical::visit::TEMPLATES`), in the given language.
    pub template: Option<(String, String)>,
}

fn invalid(field: &str, m: impl Into<String>) -> WriteError {
    WriteError::Invalid(DomainError::field(field, m))
}

fn read_only() -> WriteError {
    WriteError::Invalid(DomainError::new(
        ErrorCode::Conflict,
        "this visit is signed: its record is read-only; add an addendum instead",
    ))
}

/// The visit's row, locked for the rest of the transaction on PostgreSQL (SQLite has one
/// writer at a time); not found, or a conflict when it is already signed.
async fn open_visit_row(
    tx: &mut crate::Txn,
    scope: &Scope,
    patient: PatientId,
    id: uuid::Uuid,
) -> Result<Row, WriteError> {
    let row = tx
        .fetch_optional(
            Q::fork(
                "SELECT version, signed_at, kind FROM visits WHERE id = $1 AND patient_id = $2 AND org_id = $3",
                "SELECT version, signed_at, kind FROM visits WHERE id = $1 AND patient_id = $2 AND org_id = $3 FOR UPDATE",
            )
            .bind(id)
            .bind(patient)
            .bind(scope.org()),
        )
        .await?
        .ok_or_else(|| WriteError::Invalid(DomainError::not_found("visit")))?;
    if row.opt_ts("signed_at")?.is_some() {
        return Err(read_only());
    }
    Ok(row)
}

impl Store {
    pub async fn create_visit(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        v: &NewVisit,
    ) -> Result<Visit, WriteError> {
        let kind = v
            .kind
            .ok_or_else(|| invalid("kind", "exam, treatment, emergency or follow-up"))?;
        let complaint = check_complaint(&v.chief_complaint)
            .map_err(|e| WriteError::Invalid(DomainError::validation(vec![e])))?;
        let soap = match &v.template {
            Some((code, locale)) => domain::clinical::visit::TEMPLATES
                .iter()
                .find(|t| t.code == code)
                .map(|t| t.soap(locale))
                .ok_or_else(|| invalid("template", "no such template"))?,
            None => Soap::default(),
        };
        if let Some(d) = v.dentist_id
            && self
                .db
                .fetch_optional(
                    Q::new("SELECT id FROM users WHERE id = $1 AND org_id = $2")
                        .bind(d)
                        .bind(scope.org()),
                )
                .await?
                .is_none()
        {
            return Err(invalid("dentist_id", "no such provider"));
        }
        if let Some(a) = v.appointment_id
            && self
                .db
                .fetch_optional(
                    Q::new("SELECT id FROM appointments WHERE id = $1 AND org_id = $2 AND patient_id = $3")
                        .bind(a)
                        .bind(scope.org())
                        .bind(patient),
                )
                .await?
                .is_none()
        {
            return Err(invalid("appointment_id", "no such appointment of this patient"));
        }
        let cipher = self.field_cipher(scope.org()).await?;
        let record = Record {
            chief_complaint: complaint,
            soap,
        };
        let plain = serde_json::to_string(&record).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let id = self.new_uuid();
        let now = self.now();
        let mut tx = self.begin().await?;
        tx.patient_row(scope, patient).await?;
        tx.execute(
            Q::new(
                "INSERT INTO visits (id, org_id, patient_id, appointment_id, kind, dentist_id, record_enc, \
                 created_by, created_by_name, created_at, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1)",
            )
            .bind(id)
            .bind(scope.org())
            .bind(patient)
            .bind(v.appointment_id)
            .bind(kind.code())
            .bind(v.dentist_id)
            .bind(cipher.encrypt(NOTES_FIELD, &plain))
            .bind(actor.id)
            .bind(actor.name.as_str())
            .bind(now),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "visit.created",
                Some(patient),
                &format!("visit:{id}"),
                json!({ "kind": kind.code() }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.visit_unaudited(scope, patient, id).await
    }

    /// The patient's visits, newest first (notes included); audited as a read.
    pub async fn visits(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
    ) -> Result<Vec<Visit>, WriteError> {
        self.patient_row(scope, patient).await?;
        let rows = self
            .db
            .fetch_all(
                Q::new("SELECT * FROM visits WHERE patient_id = $1 AND org_id = $2 ORDER BY created_at DESC, id DESC")
                    .bind(patient)
                    .bind(scope.org()),
            )
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            out.push(self.visit_from_row(scope, r).await?);
        }
        self.audit_read(
            scope,
            actor,
            patient,
            "visit.list_read",
            json!({ "visits": out.len() }),
        )
        .await?;
        Ok(out)
    }

    /// One visit with its addenda; audited as a read.
    pub async fn visit(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        id: uuid::Uuid,
    ) -> Result<Visit, WriteError> {
        self.patient_row(scope, patient).await?;
        let v = self.visit_unaudited(scope, patient, id).await?;
        self.audit_read(scope, actor, patient, "visit.read", json!({ "visit": id }))
            .await?;
        Ok(v)
    }

    async fn audit_read(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        action: &str,
        details: serde_json::Value,
    ) -> Result<(), WriteError> {
        let subject = format!("patient:{patient}");
        Ok(self
            .audit_once(scope, actor, action, Some(patient), &subject, details)
            .await?)
    }

    async fn visit_unaudited(
        &self,
        scope: &Scope,
        patient: PatientId,
        id: uuid::Uuid,
    ) -> Result<Visit, WriteError> {
        let r = self
            .db
            .fetch_optional(
                Q::new("SELECT * FROM visits WHERE id = $1 AND patient_id = $2 AND org_id = $3")
                    .bind(id)
                    .bind(patient)
                    .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| WriteError::Invalid(DomainError::not_found("visit")))?;
        self.visit_from_row(scope, &r).await
    }

    async fn visit_from_row(&self, scope: &Scope, r: &Row) -> Result<Visit, WriteError> {
        let id = r.uuid("id")?;
        let plain = self
            .decrypt_field(scope.org(), NOTES_FIELD, &r.string("record_enc")?)
            .await?;
        let record: Record =
            serde_json::from_str(&plain).map_err(|e| DbError::Corrupt(format!("visit: {e}")))?;
        let snapshot = match r.opt_string("snapshot_enc")? {
            Some(enc) => {
                let s = self
                    .decrypt_field(scope.org(), SNAPSHOT_FIELD, &enc)
                    .await?;
                Some(
                    serde_json::from_str(&s)
                        .map_err(|e| DbError::Corrupt(format!("snapshot: {e}")))?,
                )
            }
            None => None,
        };
        let kind = r.string("kind")?;
        let mut addenda = Vec::new();
        for a in self
            .db
            .fetch_all(
                Q::new("SELECT * FROM visit_addenda WHERE visit_id = $1 ORDER BY signed_at, id")
                    .bind(id),
            )
            .await?
        {
            addenda.push(Addendum {
                text: self
                    .decrypt_field(scope.org(), ADDENDUM_FIELD, &a.string("text_enc")?)
                    .await?,
                signed_by_name: a.string("signed_by_name")?,
                signed_at: a.ts("signed_at")?,
            });
        }
        Ok(Visit {
            id,
            patient_id: PatientId::from_uuid(r.uuid("patient_id")?),
            kind: VisitKind::from_code(&kind)
                .ok_or_else(|| DbError::Corrupt("visit kind".into()))?,
            chief_complaint: record.chief_complaint,
            dentist_id: r.opt_uuid("dentist_id")?.map(UserId::from_uuid),
            appointment_id: r.opt_uuid("appointment_id")?.map(AppointmentId::from_uuid),
            soap: record.soap,
            created_by_name: r.string("created_by_name")?,
            created_at: r.ts("created_at")?,
            version: r.i64("version")?,
            signed: match (r.opt_string("signed_by_name")?, r.opt_ts("signed_at")?) {
                (Some(by), Some(at)) => Some((by, at)),
                _ => None,
            },
            snapshot,
            addenda,
        })
    }

    /// Saves the notes of an open visit. A signed visit refuses (409: add an addendum); a
    /// stale `base_version` refuses too (someone saved in between), with nothing written.
    #[allow(clippy::too_many_arguments)]
    pub async fn save_visit_notes(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        id: uuid::Uuid,
        chief_complaint: &str,
        soap: &Soap,
        base_version: Option<i64>,
    ) -> Result<Visit, WriteError> {
        let complaint = check_complaint(chief_complaint)
            .map_err(|e| WriteError::Invalid(DomainError::validation(vec![e])))?;
        let soap = soap
            .normalized()
            .map_err(|e| WriteError::Invalid(DomainError::validation(e)))?;
        let cipher = self.field_cipher(scope.org()).await?;
        let plain = serde_json::to_string(&Record {
            chief_complaint: complaint,
            soap,
        })
        .map_err(|e| DbError::Corrupt(e.to_string()))?;
        let mut tx = self.begin().await?;
        tx.patient_row(scope, patient).await?;
        let row = open_visit_row(&mut tx, scope, patient, id).await?;
        let version = row.i64("version")?;
        if base_version.is_some_and(|b| b != version) {
            return Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Conflict,
                "someone saved these notes after you opened them; reload to see their changes (yours are kept in the form)",
            )));
        }
        tx.execute(
            Q::new("UPDATE visits SET record_enc = $1, version = version + 1, updated_at = $2 WHERE id = $3")
                .bind(cipher.encrypt(NOTES_FIELD, &plain))
                .bind(self.now())
                .bind(id),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "visit.notes_saved",
                Some(patient),
                &format!("visit:{id}"),
                json!({ "version": version + 1 }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.visit_unaudited(scope, patient, id).await
    }

    /// Signs a visit: the record locks, the odontogram as it stands is kept with it, and
    /// `exam.completed` carries what routing needs (planned work, its default fees, whether
    /// anything is urgent).
    pub async fn sign_visit(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        id: uuid::Uuid,
        base_version: Option<i64>,
    ) -> Result<Visit, WriteError> {
        let cipher = self.field_cipher(scope.org()).await?;
        let chart = self.chart_for_signing(scope, patient).await?;
        let codes = self.procedure_codes(scope).await?;
        let fee_of = |code: &str| {
            codes
                .iter()
                .find(|c| c.entry.code == code)
                .map(|c| c.entry.fee_minor)
                .unwrap_or(0)
        };
        let live: Vec<_> = chart.entries.iter().filter(|e| !e.is_void()).collect();
        let snapshot: Vec<SnapshotEntry> = live
            .iter()
            .map(|e| {
                let (tooth, surfaces, area) = match e.site {
                    Site::Mouth => (None, 0, None),
                    Site::Tooth(t, s) => (Some(t.fdi()), s.bits(), None),
                    Site::Area(a) => (None, 0, Some(a.code())),
                };
                SnapshotEntry {
                    code: e.code.clone(),
                    name: e.name.clone(),
                    tooth,
                    surfaces,
                    area,
                    status: e.status.code().into(),
                    effect: e.effect.code().into(),
                }
            })
            .collect();
        let planned: Vec<_> = live
            .iter()
            .filter(|e| e.status == domain::clinical::chart::ChartStatus::Planned)
            .collect();
        let planned_fee: i64 = planned.iter().map(|e| fee_of(&e.code)).sum();
        let urgent_findings = live
            .iter()
            .filter(|e| matches!(e.code.as_str(), "ABSC" | "PULP"))
            .count();
        let snap = serde_json::to_string(&snapshot).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let now = self.now();
        let mut tx = self.begin().await?;
        tx.patient_row(scope, patient).await?;
        let row = open_visit_row(&mut tx, scope, patient, id).await?;
        if base_version.is_some_and(|b| b != row.i64("version").unwrap_or(0)) {
            return Err(WriteError::Invalid(DomainError::new(
                ErrorCode::Conflict,
                "the notes changed after you opened them; reload and read them before signing",
            )));
        }
        let emergency = row.string("kind")? == VisitKind::Emergency.code();
        tx.execute(
            Q::new(
                "UPDATE visits SET signed_at = $1, signed_by = $2, signed_by_name = $3, snapshot_enc = $4, \
                 version = version + 1, updated_at = $1 WHERE id = $5",
            )
            .bind(now)
            .bind(actor.id)
            .bind(actor.name.as_str())
            .bind(cipher.encrypt(SNAPSHOT_FIELD, &snap))
            .bind(id),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "visit.signed",
                Some(patient),
                &format!("visit:{id}"),
                json!({ "entries": snapshot.len() }),
            ),
        )
        .await?;
        tx.publish(
            self,
            Some(scope.org()),
            "exam.completed",
            json!({
                "patient_id": patient,
                "visit_id": id,
                "planned_procedures": planned.len(),
                "planned_fee_minor": planned_fee,
                "urgent": urgent_findings > 0 || emergency,
            }),
        )
        .await?;
        // The downstream work (plan, routing, task) runs durably as a job.
        tx.enqueue(
            self,
            crate::jobs::NewJob::new(
                crate::plans::EXAM_ROUTE,
                json!({
                    "patient_id": patient,
                    "visit_id": id,
                    "urgent": urgent_findings > 0 || emergency,
                }),
            )
            .org(scope.org()),
        )
        .await?;
        tx.commit().await?;
        self.visit_unaudited(scope, patient, id).await
    }

    async fn chart_for_signing(
        &self,
        scope: &Scope,
        patient: PatientId,
    ) -> Result<crate::clinical::Chart, WriteError> {
        // The signing itself is audited; this read is part of it.
        self.chart(scope, &Actor::system("visit signing"), patient)
            .await
    }

    /// Adds a signed, timestamped addendum to a signed visit (an open visit's notes are
    /// simply edited).
    pub async fn add_addendum(
        &self,
        scope: &Scope,
        actor: &Actor,
        patient: PatientId,
        id: uuid::Uuid,
        text: &str,
    ) -> Result<Visit, WriteError> {
        let text = check_addendum(text)
            .map_err(|e| WriteError::Invalid(DomainError::validation(vec![e])))?;
        let cipher = self.field_cipher(scope.org()).await?;
        let mut tx = self.begin().await?;
        tx.patient_row(scope, patient).await?;
        let row = tx
            .fetch_optional(
                Q::new("SELECT signed_at FROM visits WHERE id = $1 AND patient_id = $2 AND org_id = $3")
                    .bind(id)
                    .bind(patient)
                    .bind(scope.org()),
            )
            .await?
            .ok_or_else(|| WriteError::Invalid(DomainError::not_found("visit")))?;
        if row.opt_ts("signed_at")?.is_none() {
            return Err(invalid(
                "addendum",
                "this visit is not signed yet: edit its notes",
            ));
        }
        tx.execute(
            Q::new(
                "INSERT INTO visit_addenda (id, org_id, visit_id, patient_id, text_enc, signed_by, signed_by_name, signed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(self.new_uuid())
            .bind(scope.org())
            .bind(id)
            .bind(patient)
            .bind(cipher.encrypt(ADDENDUM_FIELD, &text))
            .bind(actor.id)
            .bind(actor.name.as_str())
            .bind(self.now()),
        )
        .await?;
        tx.audit(
            self,
            scope.org(),
            actor.entry(
                "visit.addendum",
                Some(patient),
                &format!("visit:{id}"),
                json!({}),
            ),
        )
        .await?;
        tx.commit().await?;
        self.visit_unaudited(scope, patient, id).await
    }
}
